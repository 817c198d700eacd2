"""Administration reads: what tools (pymilvus's utility, Attu) ask about a collection's
segments and replicas, answered from the coordinator's own state.

A part of :class:`coordinator.core.Coordinator`, read-only. Elanus keeps one replica
per loaded collection, and a shard's sealed segments live in its delegator, so the
node serving a segment is the leader of its shard.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Sequence
from pathlib import Path

from coordinator.catalog import Catalog
from coordinator.indexes import IndexCatalog
from coordinator.loads import LoadRegistry
from coordinator.nodes import NodeRegistry
from coordinator.segments import SegmentManager
from elanus.hardware import read_hardware
from elanus.meta import SegmentInfo, SegmentState
from elanus.services import LoadedSegment, NodeDescription, Replica, ShardReplica

# What Milvus's GetPersistentSegmentInfo lists when no state is asked for (Sealed,
# Flushing and Flushed there; Elanus's SEALED covers the first two).
PERSISTENT_STATES = (SegmentState.SEALED, SegmentState.FLUSHED)


class AdminReads:
    def __init__(
        self,
        catalog: Catalog,
        segments: SegmentManager,
        indexes: IndexCatalog,
        loads: LoadRegistry,
        nodes: NodeRegistry,
    ) -> None:
        self.catalog = catalog
        self.segments = segments
        self.indexes = indexes
        self.loads = loads
        self.nodes = nodes
        # Whose file system GetMetrics reports as the disk of in-process roles; the
        # composition root points it at the data directory.
        self.data_dir: Path | str = "."
        self._lock = threading.Lock()
        self._described: dict[tuple[str, int], NodeDescription] = {}

    # --- the roles that run (GetMetrics)

    def node_joined(self, description: NodeDescription) -> None:
        """A role announced itself (its session), or was started in this process."""
        with self._lock:
            self._described[(description.role, description.node_id)] = description

    def node_left(self, role: str, node_id: int) -> None:
        with self._lock:
            self._described.pop((role, node_id), None)

    def cluster_nodes(self) -> list[NodeDescription]:
        with self._lock:
            described = sorted(self._described.values(), key=lambda d: (d.role, d.node_id))
        here = None
        result = []
        for description in described:
            if description.hardware is None:
                here = here or read_hardware(self.data_dir)
                description = dataclasses.replace(description, hardware=here)
            result.append(description)
        return result

    def list_segments(
        self, collection_id: int, states: Sequence[SegmentState] = ()
    ) -> list[SegmentInfo]:
        self.catalog.get(collection_id)
        found = self.segments.of_collection(collection_id, states or PERSISTENT_STATES)
        return [self._with_assigned_rows(s) for s in found]

    def replicas(self, collection_id: int) -> list[Replica]:
        info = self.catalog.get(collection_id)
        state = self.loads.get(collection_id)
        if state is None:
            return []
        leaders = dict(state.leaders)
        # As Milvus: the shards are listed only once every one of them has a leader.
        shards: tuple[ShardReplica, ...] = ()
        if all(v in leaders for v in info.vchannels):
            shards = tuple(
                ShardReplica(v, leaders[v], self.nodes.querynode_address(leaders[v]), (leaders[v],))
                for v in info.vchannels
            )
        # With one replica every querynode belongs to it (Milvus's default resource group).
        node_ids = tuple(sorted(set(self.nodes.querynode_ids()) | set(leaders.values())))
        partition_ids = tuple(sorted(state.partition_ids))
        return [Replica(state.replica_id, collection_id, partition_ids, shards, node_ids)]

    def loaded_segments(self, collection_id: int) -> list[LoadedSegment]:
        info = self.catalog.get(collection_id)
        state = self.loads.get(collection_id)
        if state is None:
            return []
        partitions = state.partition_ids or {p.partition_id for p in info.partitions}
        names = {i.index_id: i.index_name for i in self.indexes.of_collection(collection_id)}
        loaded: list[LoadedSegment] = []
        for segment in self.segments.of_collection(collection_id, [SegmentState.FLUSHED]):
            leader = state.leaders.get(segment.vchannel)
            if leader is None or segment.partition_id not in partitions:
                continue
            built = sorted(i for i in segment.index_files if i in names)
            index_id = built[0] if built else 0
            loaded.append(
                LoadedSegment(
                    segment_id=segment.segment_id,
                    collection_id=collection_id,
                    partition_id=segment.partition_id,
                    vchannel=segment.vchannel,
                    num_rows=segment.num_rows,
                    size_bytes=segment.size_bytes,
                    index_id=index_id,
                    index_name=names.get(index_id, ""),
                    node_ids=(leader,),
                )
            )
        return loaded

    def _with_assigned_rows(self, segment: SegmentInfo) -> SegmentInfo:
        if segment.state is not SegmentState.GROWING:
            return segment
        rows = self.segments.growing_rows(segment.segment_id)
        return dataclasses.replace(segment, num_rows=rows)
