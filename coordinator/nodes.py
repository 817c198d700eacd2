"""Which node does what: the registry of nodes and the placement of work on them.

Placement is a pure function of stable names (CRC32 of the channel name, the
build id), so every coordinator process, and every restart, places the same
work on the same node while the set of nodes is unchanged.
"""

from __future__ import annotations

import threading
import zlib

from elanus import errors
from elanus.services import DataNodeClient, IndexNodeClient, QueryNodeClient


class NodeRegistry:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._datanodes: dict[int, DataNodeClient] = {}
        self._querynodes: dict[int, QueryNodeClient] = {}
        self._indexnodes: dict[int, IndexNodeClient] = {}

    def register_datanode(self, node_id: int, client: DataNodeClient) -> None:
        with self._lock:
            self._datanodes[node_id] = client

    def register_querynode(self, node_id: int, client: QueryNodeClient) -> None:
        with self._lock:
            self._querynodes[node_id] = client

    def register_indexnode(self, node_id: int, client: IndexNodeClient) -> None:
        with self._lock:
            self._indexnodes[node_id] = client

    def datanode_for(self, vchannel: str) -> DataNodeClient:
        with self._lock:
            if not self._datanodes:
                raise errors.ServiceNotReady("no datanode is registered")
            return self._datanodes[_pick(sorted(self._datanodes), _stable_hash(vchannel))]

    def querynode_for(self, vchannel: str) -> tuple[int, QueryNodeClient]:
        with self._lock:
            if not self._querynodes:
                raise errors.ServiceNotReady("no querynode is registered")
            node_id = _pick(sorted(self._querynodes), _stable_hash(vchannel))
            return node_id, self._querynodes[node_id]

    def indexnode_for(self, build_id: int) -> IndexNodeClient | None:
        with self._lock:
            if not self._indexnodes:
                return None
            return self._indexnodes[_pick(sorted(self._indexnodes), build_id)]

    def querynodes(self) -> list[QueryNodeClient]:
        with self._lock:
            return list(self._querynodes.values())


def _stable_hash(name: str) -> int:
    return zlib.crc32(name.encode())


def _pick(node_ids: list[int], key: int) -> int:
    return node_ids[key % len(node_ids)]
