"""The coordinator's index role: index definitions, build tasks and their progress.

A mixin of :class:`coordinator.core.Coordinator`, which owns the state these
methods use (catalog, segments, index catalog, nodes, dispatcher, allocators).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from coordinator.catalog import Catalog
from coordinator.dispatch import Dispatcher
from coordinator.indexes import IndexCatalog
from coordinator.loads import LoadRegistry
from coordinator.nodes import NodeRegistry
from coordinator.segments import SegmentManager
from elanus import errors
from elanus.meta import IndexBuildTask, IndexInfo, SegmentInfo, SegmentState
from elanus.services import IndexProgress
from elanus.storage import ObjectStore

log = logging.getLogger(__name__)


class IndexCoordination:
    catalog: Catalog
    segments: SegmentManager
    indexes: IndexCatalog
    loads: LoadRegistry
    nodes: NodeRegistry
    _dispatch: Dispatcher
    _ddl_lock: threading.RLock
    _storage: ObjectStore

    def create_index(
        self,
        collection_id: int,
        field_name: str,
        index_name: str,
        index_type: str,
        metric_type: str,
        params: dict[str, Any],
        user_params: dict[str, str],
    ) -> IndexInfo:
        with self._ddl_lock:
            self.catalog.get(collection_id)
            info, created = self.indexes.add(
                IndexInfo(
                    index_id=self.ids.allocate(),
                    collection_id=collection_id,
                    field_name=field_name,
                    index_name=index_name or field_name,
                    index_type=index_type,
                    metric_type=metric_type,
                    params=params,
                    created_ts=self.tso.allocate(),
                    user_params=user_params,
                )
            )
        if created:
            for segment in self.segments.of_collection(collection_id, [SegmentState.FLUSHED]):
                self._schedule_builds(segment)
        return info

    def describe_indexes(
        self, collection_id: int, field_name: str = "", index_name: str = ""
    ) -> list[IndexProgress]:
        self.catalog.get(collection_id)
        flushed = self.segments.of_collection(collection_id, [SegmentState.FLUSHED])
        total = sum(s.num_rows for s in flushed)
        progress = []
        for index in self.indexes.find(collection_id, field_name, index_name):
            indexed = sum(s.num_rows for s in flushed if index.index_id in s.index_files)
            failure = self.indexes.failure(index.index_id)
            state = "Failed" if failure else ("Finished" if indexed == total else "InProgress")
            progress.append(IndexProgress(index, total, indexed, total - indexed, state, failure))
        return progress

    def drop_index(self, collection_id: int, field_name: str, index_name: str) -> None:
        with self._ddl_lock:
            found = self.indexes.find(collection_id, field_name, index_name)
            if not found:
                return
            if self.loads.get(collection_id) is not None:
                raise errors.ParameterInvalid(
                    "index cannot be dropped, collection is loaded, please release it first"
                )
            for index in found:
                self.indexes.remove(index)
                keys = self.segments.drop_index_files(collection_id, index.index_id)
                self._dispatch.submit("gc", lambda k=keys: [self._storage.delete(x) for x in k])

    def index_built(self, task: IndexBuildTask, key: str) -> None:
        self.indexes.finished(task.index.index_id, task.segment.segment_id)
        updated = self.segments.add_index_file(task.segment.segment_id, task.index.index_id, key)
        if updated is None or not self.indexes.find(
            task.index.collection_id, index_name=task.index.index_name
        ):
            self._storage.delete(key)  # the segment or the index went away meanwhile
            return
        self._notify_querynodes(
            updated.collection_id, lambda n: n.segment_indexed(updated, task.index)
        )

    def index_failed(self, task: IndexBuildTask, reason: str) -> None:
        log.error(
            "index build failed",
            extra={
                "segment": task.segment.segment_id,
                "index": task.index.index_name,
                "reason": reason,
            },
        )
        self.indexes.finished(task.index.index_id, task.segment.segment_id, failure=reason)

    def schedule_missing_builds(self) -> None:
        """Index builds no node has taken (none was registered, or its node left)."""
        for info in self.catalog.all():
            for segment in self.segments.of_collection(info.collection_id, [SegmentState.FLUSHED]):
                self._schedule_builds(segment)

    def _schedule_builds(self, segment: SegmentInfo) -> None:
        info = self.catalog.get(segment.collection_id)
        for index in self.indexes.missing_builds(segment):
            field = info.schema.field(index.field_name)
            if field is None:
                continue
            task = IndexBuildTask(self.ids.allocate(), index, segment, field.dim)
            node = self.nodes.indexnode_for(task.build_id)
            if node is None:
                return
            self.indexes.started(index.index_id, segment.segment_id)
            self._dispatch.submit("build", lambda n=node, t=task: n.submit(t))
