"""Which node does what: the registry of nodes and the placement of work on them.

Placement is a pure function of stable names (CRC32 of the channel name, the
build id), so every coordinator process, and every restart, places the same
work on the same node while the set of nodes is unchanged.

A channel's datanode is sticky: once assigned it stays with that node until the
node leaves (one consumer per channel, whatever joins later); then
:meth:`NodeRegistry.unregister_datanode` hands back the channels to re-assign.
"""

from __future__ import annotations

import threading
import zlib
from collections import Counter
from collections.abc import Mapping

from elanus import errors
from elanus.services import DataNodeClient, IndexNodeClient, QueryNodeClient


class NodeRegistry:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._datanodes: dict[int, DataNodeClient] = {}
        self._querynodes: dict[int, QueryNodeClient] = {}
        self._indexnodes: dict[int, IndexNodeClient] = {}
        self._channel_owners: dict[str, int] = {}  # vchannel -> datanode id

    def register_datanode(self, node_id: int, client: DataNodeClient) -> None:
        with self._lock:
            self._datanodes[node_id] = client

    def register_querynode(self, node_id: int, client: QueryNodeClient) -> None:
        with self._lock:
            self._querynodes[node_id] = client

    def register_indexnode(self, node_id: int, client: IndexNodeClient) -> None:
        with self._lock:
            self._indexnodes[node_id] = client

    def unregister_datanode(self, node_id: int) -> tuple[DataNodeClient | None, list[str]]:
        """Forget a node; returns its client and the channels it owned, now unowned."""
        with self._lock:
            client = self._datanodes.pop(node_id, None)
            orphans = [v for v, owner in self._channel_owners.items() if owner == node_id]
            for vchannel in orphans:
                del self._channel_owners[vchannel]
            return client, orphans

    def unregister_querynode(self, node_id: int) -> QueryNodeClient | None:
        with self._lock:
            return self._querynodes.pop(node_id, None)

    def unregister_indexnode(self, node_id: int) -> IndexNodeClient | None:
        with self._lock:
            return self._indexnodes.pop(node_id, None)

    def datanode_for(self, vchannel: str) -> DataNodeClient:
        """The channel's owner; a channel without one gets one (and keeps it)."""
        with self._lock:
            if not self._datanodes:
                raise errors.ServiceNotReady("no datanode is registered")
            owner = self._channel_owners.get(vchannel)
            if owner not in self._datanodes:
                counts = Counter(self._channel_owners.values())
                owner = _least_loaded(sorted(self._datanodes), _stable_hash(vchannel), counts)
                self._channel_owners[vchannel] = owner
            return self._datanodes[owner]

    def channel_owners(self) -> dict[str, int]:
        with self._lock:
            return dict(self._channel_owners)

    def restore_channel_owners(self, owners: dict[str, int]) -> None:
        """Owners remembered from before a coordinator restart, so channels stay put."""
        with self._lock:
            for vchannel, node_id in owners.items():
                self._channel_owners.setdefault(vchannel, node_id)

    def datanode_ids(self) -> list[int]:
        with self._lock:
            return sorted(self._datanodes)

    def has_querynode(self, node_id: int) -> bool:
        with self._lock:
            return node_id in self._querynodes

    def querynode(self, node_id: int) -> QueryNodeClient | None:
        with self._lock:
            return self._querynodes.get(node_id)

    def querynode_for(
        self, vchannel: str, shards_per_node: Mapping[int, int] | None = None
    ) -> tuple[int, QueryNodeClient]:
        """A querynode for a new shard: the least loaded by ``shards_per_node``, ties by hash."""
        with self._lock:
            if not self._querynodes:
                raise errors.ServiceNotReady("no querynode is registered")
            node_id = _least_loaded(
                sorted(self._querynodes), _stable_hash(vchannel), shards_per_node or {}
            )
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


def _least_loaded(node_ids: list[int], key: int, load: Mapping[int, int]) -> int:
    """The node with the least ``load``; among equals, the first from the hashed start."""
    start = key % len(node_ids)
    rotated = node_ids[start:] + node_ids[:start]
    return min(rotated, key=lambda n: load.get(n, 0))
