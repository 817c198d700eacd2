"""The coordinator's index role: index definitions, build tasks and their progress.

A part of :class:`coordinator.core.Coordinator`, which makes the state it is given
(catalog, segments, index catalog, nodes, dispatcher, allocators).

Builds are retried: a build whose indexnode leaves (its session ends) or that
fails goes back to the queue and to an indexnode (another one, or the same when
it comes back), at most ``MAX_BUILD_ATTEMPTS`` times per (index, segment); then
the index reports Failed with the last reason. Each attempt has its own build id
(and index file key), and results are judged against the attempt in flight, so a
late result of an attempt given up meanwhile is harmless: the first result that
arrives is recorded, every later one of the same (index, segment) is dropped
with its file.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Sequence
from typing import Any

from coordinator.allocators import IdAllocator, TimestampOracle
from coordinator.builds import BuildKey, BuildTracker
from coordinator.catalog import Catalog
from coordinator.dispatch import Dispatcher
from coordinator.indexes import IndexCatalog
from coordinator.loads import LoadRegistry
from coordinator.node_calls import NodeCalls
from coordinator.nodes import NodeRegistry
from coordinator.segments import SegmentManager
from elanus import errors
from elanus import properties as properties_rules
from elanus.meta import IndexBuildTask, IndexInfo, SegmentInfo, SegmentState
from elanus.services import IndexNodeClient, IndexProgress
from elanus.storage import ObjectStore

log = logging.getLogger(__name__)


class IndexCoordinator:
    def __init__(
        self,
        ddl_lock: threading.RLock,
        tso: TimestampOracle,
        ids: IdAllocator,
        catalog: Catalog,
        segments: SegmentManager,
        indexes: IndexCatalog,
        loads: LoadRegistry,
        nodes: NodeRegistry,
        builds: BuildTracker,
        storage: ObjectStore,
        dispatch: Dispatcher,
        node_calls: NodeCalls,
    ) -> None:
        self._ddl_lock = ddl_lock
        self.tso = tso
        self.ids = ids
        self.catalog = catalog
        self.segments = segments
        self.indexes = indexes
        self.loads = loads
        self.nodes = nodes
        self.builds = builds
        self._storage = storage
        self._dispatch = dispatch
        self._node_calls = node_calls

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
                self.schedule_builds(segment)
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
                self._dispatch.submit("gc", functools.partial(self._delete_files, keys))

    def alter_index(
        self,
        collection_id: int,
        index_name: str,
        properties: dict[str, str],
        delete_keys: tuple[str, ...],
    ) -> IndexInfo:
        """Set or remove an index's ``mmap.enabled``; shown by DescribeIndex with its params."""
        properties_rules.check_index_alter(properties, delete_keys)
        with self._ddl_lock:
            info = self.catalog.get(collection_id)
            if self.loads.get(collection_id) is not None:
                raise errors.CollectionLoaded(
                    f"collection={info.name}",
                    cause="can't alter index on loaded collection, "
                    "please release the collection first",
                )
            found = self.indexes.find(collection_id, index_name=index_name)
            if not found:
                raise errors.IndexNotFound(f"index={index_name}")
            return self.indexes.alter(found[0], properties, delete_keys)

    def index_built(self, task: IndexBuildTask, key: str) -> None:
        build = (task.index.index_id, task.segment.segment_id)
        with self.builds.lock:
            segment = self.segments.get(task.segment.segment_id)
            already = segment.index_files.get(task.index.index_id) if segment else None
            if already is not None and not self.builds.is_current(build, task.build_id):
                # A repeated report, or an attempt given up while it ran: one file is kept.
                if already != key:
                    self._storage.delete(key)
                log.info(
                    "dropping the result of a build already done",
                    extra={"build": task.build_id, "segment": task.segment.segment_id},
                )
                return
            self.builds.succeeded(build)
            self.indexes.finished(*build)
            updated = self.segments.add_index_file(
                task.segment.segment_id, task.index.index_id, key
            )
        if updated is None or not self.indexes.find(
            task.index.collection_id, index_name=task.index.index_name
        ):
            self._storage.delete(key)  # the segment or the index went away meanwhile
            return
        self._node_calls.notify_querynodes(
            updated.collection_id, lambda n: n.segment_indexed(updated, task.index)
        )

    def index_failed(self, task: IndexBuildTask, reason: str) -> None:
        build = (task.index.index_id, task.segment.segment_id)
        with self.builds.lock:
            if not self.builds.is_current(build, task.build_id):
                log.info(
                    "ignoring the failure of a build no longer in flight",
                    extra={"build": task.build_id, "reason": reason},
                )
                return
            log.error(
                "index build failed",
                extra={
                    "segment": task.segment.segment_id,
                    "index": task.index.index_name,
                    "attempt": self.builds.attempts(build),
                    "reason": reason,
                },
            )
            self.builds.failed(build, reason)
            self.indexes.finished(*build)
        self._retry_build(build)

    def indexnode_left(self, node_id: int) -> None:
        """The builds the node was running go to another indexnode (or wait for one)."""
        for attempt in self.builds.take_node(node_id):
            log.warning(
                "index build lost with its indexnode, retrying",
                extra={"build": attempt.build_id, "node": node_id, "segment": attempt.key[1]},
            )
            with self.builds.lock:
                self.builds.failed(attempt.key, f"indexnode {node_id} left during the build")
                self.indexes.finished(*attempt.key)
            self._retry_build(attempt.key)

    def schedule_missing_builds(self) -> None:
        """Index builds no node has taken (none was registered, or its node left)."""
        for info in self.catalog.all():
            for segment in self.segments.of_collection(info.collection_id, [SegmentState.FLUSHED]):
                self.schedule_builds(segment)

    def _retry_build(self, build: BuildKey) -> None:
        segment = self.segments.get(build[1])
        if segment is not None and segment.state is SegmentState.FLUSHED:
            self.schedule_builds(segment)

    def schedule_builds(self, segment: SegmentInfo) -> None:
        try:
            info = self.catalog.get(segment.collection_id)
        except errors.CollectionNotFound:
            return  # dropped meanwhile
        for index in self.indexes.missing_builds(segment):
            field = info.schema.field(index.field_name)
            if field is None:
                continue
            build = (index.index_id, segment.segment_id)
            with self.builds.lock:
                if self.builds.in_flight(build):
                    continue
                if self.builds.exhausted(build):
                    reason = (
                        f"index build of segment {segment.segment_id} failed "
                        f"{self.builds.attempts(build)} times, the last: "
                        f"{self.builds.last_failure(build)}"
                    )
                    self.indexes.finished(*build, failure=reason)
                    continue
                task = IndexBuildTask(self.ids.allocate(), index, segment, field.dim)
                chosen = self.nodes.indexnode_choice(task.build_id)
                if chosen is None:
                    return
                node_id, node = chosen
                self.indexes.started(*build)
                self.builds.start(build, task.build_id, node_id)
            self._dispatch.submit("build", functools.partial(self._submit_build, node, task), node)

    def _submit_build(self, node: IndexNodeClient, task: IndexBuildTask) -> None:
        try:
            node.submit(task)
        except Exception as exc:  # unreachable or refused: counts as a failed attempt
            self.index_failed(task, f"submitting the build failed: {type(exc).__name__}: {exc}")

    def _delete_files(self, keys: Sequence[str]) -> None:
        for key in keys:
            self._storage.delete(key)
