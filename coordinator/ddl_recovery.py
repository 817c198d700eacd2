"""Finishing drops: the steps after the catalog change, shared by the dropping call and start-up.

The catalog change is a drop's commit point: it removes the collection or
partition and records the drop as pending in one transaction (see
:mod:`coordinator.catalog`), so readers never see a half-dropped one. Every
later step only removes records that name what was dropped, each idempotent,
and the pending record goes last; a coordinator that died halfway runs the same
steps again at its next start. Files are not removed here: once no metadata
names them they are orphans, and the garbage collector removes them after its
grace period, so a querynode or a search still reading one is not cut off.

An index drop needs no record: its commit point is the index definition's
removal, and what may remain after a crash (segments still naming the index's
files) is recognisable on its own.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from coordinator.catalog import Catalog, PartitionDrop
from coordinator.indexes import IndexCatalog
from coordinator.loads import LoadRegistry
from coordinator.segments import SegmentManager
from elanus.meta import CollectionInfo, SegmentState

log = logging.getLogger(__name__)


@dataclass
class ResumedDdl:
    """What a resume finished: the caller tells the nodes about the collections."""

    collections: list[CollectionInfo] = field(default_factory=list)
    partitions: list[PartitionDrop] = field(default_factory=list)
    index_files: list[str] = field(default_factory=list)  # forgotten: their index is gone


class DropCompletion:
    def __init__(
        self,
        catalog: Catalog,
        segments: SegmentManager,
        indexes: IndexCatalog,
        loads: LoadRegistry,
    ) -> None:
        self._catalog = catalog
        self._segments = segments
        self._indexes = indexes
        self._loads = loads

    def finish_collection_drop(self, info: CollectionInfo) -> None:
        """Remove the dropped collection's load, indexes, segments, deltas and channels."""
        self._loads.release(info.collection_id)
        self._indexes.drop_collection(info.collection_id)
        self._segments.drop_collection(info.collection_id, info.vchannels)
        self._catalog.collection_drop_done(info.collection_id)

    def finish_partition_drop(self, drop: PartitionDrop) -> None:
        """Remove the dropped partition's segments (any state) from the metadata."""
        gone = [
            s
            for s in self._segments.of_collection(drop.collection_id, list(SegmentState))
            if s.partition_id == drop.partition_id
        ]
        self._segments.drop_segments(gone)
        self._catalog.partition_drop_done(drop)

    def forget_undeclared_index_files(self) -> list[str]:
        """Segments' index files whose index was dropped: the segments stop naming them."""
        forgotten: list[str] = []
        for info in self._catalog.all():
            declared = {i.index_id for i in self._indexes.of_collection(info.collection_id)}
            stale = {
                index_id
                for segment in self._segments.of_collection(info.collection_id)
                for index_id in segment.index_files
                if index_id not in declared
            }
            for index_id in sorted(stale):
                forgotten += self._segments.drop_index_files(info.collection_id, index_id)
        return forgotten

    def resume(self) -> ResumedDdl:
        """Finish every drop a previous run (or a failed call) left pending."""
        resumed = ResumedDdl()
        for drop in self._catalog.pending_partition_drops():
            self.finish_partition_drop(drop)
            resumed.partitions.append(drop)
        for info in self._catalog.pending_collection_drops():
            self.finish_collection_drop(info)
            resumed.collections.append(info)
        resumed.index_files = self.forget_undeclared_index_files()
        if resumed.collections or resumed.partitions or resumed.index_files:
            log.info(
                "finished interrupted drops",
                extra={
                    "collections": [c.collection_id for c in resumed.collections],
                    "partitions": [p.partition_id for p in resumed.partitions],
                    "index_files": len(resumed.index_files),
                },
            )
        return resumed
