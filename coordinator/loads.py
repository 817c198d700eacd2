"""Which collections are loaded, their progress, and which querynode leads each shard."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from elanus.kv import MetaKV


def load_key(collection_id: int) -> str:
    return f"loads/{collection_id}"


@dataclass
class LoadState:
    partition_ids: set[int]  # empty: the whole collection
    # The id of the collection's one replica, drawn when it was loaded and kept
    # across restarts (GetReplicas reports it), as Milvus's replica ids are.
    replica_id: int = 0
    loaded_channels: set[str] = field(default_factory=set)
    leaders: dict[str, int] = field(default_factory=dict)  # vchannel -> querynode id
    # vchannel -> the querynode asked to serve it (a leader once its load finished)
    assigned: dict[str, int] = field(default_factory=dict)


class LoadRegistry:
    def __init__(self, kv: MetaKV, alloc_id: Callable[[], int]) -> None:
        self._kv = kv
        self._alloc_id = alloc_id
        self._lock = threading.RLock()
        self._loads: dict[int, LoadState] = {}
        for item in kv.get_prefix("loads/"):
            collection_id = int(item.key.rsplit("/", 1)[1])
            saved = json.loads(item.value)
            state = LoadState(set(saved["partition_ids"]), int(saved.get("replica_id", 0)))
            self._loads[collection_id] = state
            if not state.replica_id:  # saved before replicas had ids
                state.replica_id = alloc_id()
                self._save(collection_id, state)

    def persisted(self) -> dict[int, set[int]]:
        with self._lock:
            return {cid: set(state.partition_ids) for cid, state in self._loads.items()}

    def get(self, collection_id: int) -> LoadState | None:
        with self._lock:
            return self._loads.get(collection_id)

    def start(self, collection_id: int, partition_ids: Sequence[int]) -> LoadState:
        """Record a load; partitions add to what is loaded, an empty list means all."""
        with self._lock:
            state = self._loads.get(collection_id)
            wanted = set(partition_ids)
            if state is None:
                state = self._loads[collection_id] = LoadState(wanted, self._alloc_id())
            elif not wanted or not state.partition_ids:
                state.partition_ids = set() if not wanted else state.partition_ids
            else:
                state.partition_ids |= wanted
            self._save(collection_id, state)
            return state

    def channel_loaded(self, collection_id: int, vchannel: str, node_id: int) -> None:
        with self._lock:
            state = self._loads.get(collection_id)
            # A load that finishes after its shard moved elsewhere does not lead it.
            if state is not None and state.assigned.get(vchannel, node_id) == node_id:
                state.loaded_channels.add(vchannel)
                state.leaders[vchannel] = node_id

    def channel_assigned(self, collection_id: int, vchannel: str, node_id: int) -> None:
        with self._lock:
            state = self._loads.get(collection_id)
            if state is not None:
                state.assigned[vchannel] = node_id

    def channel_unassigned(self, collection_id: int, vchannel: str, node_id: int) -> None:
        """The shard is no longer served by ``node_id`` (its load failed, or it left)."""
        with self._lock:
            state = self._loads.get(collection_id)
            if state is None:
                return
            if state.assigned.get(vchannel) == node_id:
                del state.assigned[vchannel]
            if state.leaders.get(vchannel) == node_id:
                del state.leaders[vchannel]
                state.loaded_channels.discard(vchannel)

    def assignments(self) -> dict[int, dict[str, int]]:
        """Per loaded collection, vchannel -> assigned querynode."""
        with self._lock:
            return {cid: dict(state.assigned) for cid, state in self._loads.items()}

    def release(self, collection_id: int) -> LoadState | None:
        with self._lock:
            self._kv.delete(load_key(collection_id))
            return self._loads.pop(collection_id, None)

    def release_partitions(
        self, collection_id: int, partition_ids: Sequence[int], all_partitions: Sequence[int]
    ) -> LoadState | None:
        with self._lock:
            state = self._loads.get(collection_id)
            if state is None:
                return None
            loaded = state.partition_ids or set(all_partitions)
            remaining = loaded - set(partition_ids)
            if not remaining:
                return self.release(collection_id)
            state.partition_ids = remaining
            self._save(collection_id, state)
            return state

    def _save(self, collection_id: int, state: LoadState) -> None:
        payload = {"partition_ids": sorted(state.partition_ids), "replica_id": state.replica_id}
        self._kv.put(load_key(collection_id), json.dumps(payload).encode())
