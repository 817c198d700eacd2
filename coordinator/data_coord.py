"""The coordinator's data role: segments, flush, compaction, checkpoints and datanode reports.

A part of :class:`coordinator.core.Coordinator`, which makes the state it is given.
A flushed segment is announced to querynodes and handed to the index role for its
builds; a flush call that fails on its datanode is reported to flush_state's waiter.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future

from coordinator.allocators import IdAllocator, TimestampOracle
from coordinator.catalog import Catalog
from coordinator.compaction import CompactionHooks, CompactionManager
from coordinator.dispatch import Dispatcher
from coordinator.index_coord import IndexCoordinator
from coordinator.indexes import IndexCatalog
from coordinator.node_calls import NodeCalls
from coordinator.nodes import NodeRegistry
from coordinator.segments import SegmentManager
from elanus import errors
from elanus.config import CoordinatorConfig
from elanus.meta import (
    ChannelCheckpoint,
    ChannelSnapshot,
    CollectionInfo,
    DeltaLog,
    SegmentInfo,
    SegmentState,
)
from elanus.services import ChannelLease, CollectionStats, CompactionProgress, FlushResult
from elanus.storage import ObjectStore
from elanus.stream import MessageStream

log = logging.getLogger(__name__)


class DataCoordinator:
    def __init__(
        self,
        config: CoordinatorConfig,
        stream: MessageStream,
        storage: ObjectStore,
        ddl_lock: threading.RLock,
        tso: TimestampOracle,
        ids: IdAllocator,
        catalog: Catalog,
        segments: SegmentManager,
        indexes: IndexCatalog,
        nodes: NodeRegistry,
        dispatch: Dispatcher,
        node_calls: NodeCalls,
        index: IndexCoordinator,
    ) -> None:
        self._config = config
        self._stream = stream
        self._storage = storage
        self._ddl_lock = ddl_lock
        self.tso = tso
        self.ids = ids
        self.catalog = catalog
        self.segments = segments
        self.indexes = indexes
        self.nodes = nodes
        self._dispatch = dispatch
        self._node_calls = node_calls
        self._index = index
        # vchannel -> (flush_ts, why) of its latest flush call that failed on the datanode,
        # so flush_state reports it to the waiter instead of waiting out its deadline.
        self._flush_failures: dict[str, tuple[int, str]] = {}
        self._flush_failures_lock = threading.Lock()
        self.compaction = CompactionManager(
            config,
            segments,
            storage,
            CompactionHooks(
                alloc_id=lambda: self.ids.allocate(),
                alloc_ts=lambda: self.tso.allocate(),
                pk_name=lambda c: self.catalog.get(c).schema.primary_field.name,
                properties=lambda c: self.catalog.get(c).properties,
                datanode_for=lambda v: self.nodes.datanode_for(v),
                committed=self._compaction_committed,
            ),
        )

    def assign_segment(
        self, collection_id: int, partition_id: int, vchannel: str, num_rows: int
    ) -> int:
        # Under the DDL lock: a partition dropped meanwhile must not get a new segment.
        with self._ddl_lock:
            info = self.catalog.get(collection_id)
            if all(p.partition_id != partition_id for p in info.partitions):
                raise errors.PartitionNotFound(f"partition={partition_id}")
            if vchannel not in info.vchannels:
                raise errors.ParameterInvalid(f"channel {vchannel} is not one of {info.name}'s")
            segment_id, sealed = self.segments.assign(
                collection_id, partition_id, vchannel, num_rows, self.tso.allocate
            )
        if sealed is not None:
            self._node_calls.notify_sealed([sealed])
        return segment_id

    def flush(self, collection_id: int) -> FlushResult:
        info = self.catalog.get(collection_id)
        flush_ts = self.tso.allocate()
        sealed = self.segments.seal_collection(collection_id, flush_ts)
        for vchannel in info.vchannels:
            self.segments.request_flush(vchannel, flush_ts)
        self._node_calls.notify_sealed(sealed)
        for vchannel in info.vchannels:
            owner, node = self.nodes.channel_owner(vchannel)
            call = functools.partial(node.flush_channel, vchannel, flush_ts)
            done = self._dispatch.submit("flush", call, node)
            done.add_done_callback(
                functools.partial(self._flush_call_done, vchannel, flush_ts, owner.node_id)
            )
        pending = self.segments.of_collection(collection_id, [SegmentState.SEALED])
        flushed = self.segments.of_collection(collection_id, [SegmentState.FLUSHED])
        return FlushResult(
            segment_ids=tuple(s.segment_id for s in pending),
            flushed_segment_ids=tuple(s.segment_id for s in flushed),
            seal_ts=flush_ts,
            flush_ts=flush_ts,
        )

    def flush_state(self, collection_id: int, segment_ids: Sequence[int], flush_ts: int) -> bool:
        """Whether the flush is done; raises once it has waited past ``flush_timeout_s``,
        and at once when its call failed on the datanode of any of its channels."""
        self._raise_if_any_flush_failed(collection_id, flush_ts)
        for segment_id in segment_ids:
            segment = self.segments.get(segment_id)
            if segment is not None and segment.state in (SegmentState.GROWING, SegmentState.SEALED):
                self._raise_if_flush_failed(segment.vchannel, flush_ts)
                self._check_flush_overdue(segment.vchannel, segment.seal_ts or flush_ts)
                return False
        if not flush_ts or not collection_id:
            return True
        try:
            info = self.catalog.get(collection_id)
        except errors.CollectionNotFound:
            return True
        for vchannel in info.vchannels:
            if self.segments.flushed_ts(vchannel) < flush_ts:
                self._check_flush_overdue(vchannel, flush_ts)
                return False
        return True

    def _flush_call_done(
        self, vchannel: str, flush_ts: int, node_id: int, done: Future[None]
    ) -> None:
        failure = done.exception()
        if failure is None:
            return
        why = f"datanode {node_id} failed it: {type(failure).__name__}: {failure}"
        with self._flush_failures_lock:
            latest = self._flush_failures.get(vchannel)
            if latest is None or latest[0] <= flush_ts:
                self._flush_failures[vchannel] = (flush_ts, why)

    def _raise_if_any_flush_failed(self, collection_id: int, flush_ts: int) -> None:
        if not flush_ts or not collection_id:
            return
        try:
            info = self.catalog.get(collection_id)
        except errors.CollectionNotFound:
            return
        for vchannel in info.vchannels:
            if self.segments.flushed_ts(vchannel) < flush_ts:
                self._raise_if_flush_failed(vchannel, flush_ts)

    def _raise_if_flush_failed(self, vchannel: str, flush_ts: int) -> None:
        """A flush not done yet whose call (or a later one) failed on the datanode fails."""
        if not flush_ts:
            return
        with self._flush_failures_lock:
            failed = self._flush_failures.get(vchannel)
        if failed is not None and failed[0] >= flush_ts:
            raise errors.ServiceUnavailable(f"flush of channel {vchannel}: {failed[1]}")

    def _check_flush_overdue(self, vchannel: str, since_ts: int) -> None:
        if not since_ts:
            return
        waited_s = time.time() - (since_ts >> 18) / 1000
        if waited_s < self._config.flush_timeout_s:
            return
        try:
            self.nodes.datanode_for(vchannel)
            cause = "its datanode has not persisted it"
        except errors.ServiceNotReady:
            cause = "no datanode serves the channel"
        raise errors.ServiceUnavailable(
            f"flush of channel {vchannel} not done after {waited_s:.0f}s "
            f"(coordinator.flush_timeout_s={self._config.flush_timeout_s:g}): {cause}"
        )

    def manual_compaction(self, collection_id: int) -> int:
        self.catalog.get(collection_id)
        return self.compaction.manual(collection_id)

    def compaction_state(self, compaction_id: int) -> CompactionProgress:
        return self.compaction.state(compaction_id)

    def _compaction_committed(self, result: SegmentInfo, sources: Sequence[SegmentInfo]) -> None:
        """After the KV swap: querynodes swap too (or drop, if nothing was left), then index."""
        if result.state is SegmentState.FLUSHED:
            self._node_calls.notify_querynodes(
                result.collection_id, lambda n: n.segment_flushed(result)
            )
            self._index.schedule_builds(result)
            return
        for source in sources:
            self._notify_dropped(source)

    def _notify_dropped(self, segment: SegmentInfo) -> None:
        self._node_calls.notify_querynodes(
            segment.collection_id, lambda n: n.segment_dropped(segment)
        )

    def seal_expired(self) -> None:
        sealed = self.segments.seal_expired(
            self._config.segment_max_age_s, self._config.segment_idle_s, self.tso.allocate
        )
        self._node_calls.notify_sealed(sealed)

    def collection_statistics(
        self, collection_id: int, partition_ids: Sequence[int] = ()
    ) -> CollectionStats:
        self.catalog.get(collection_id)
        wanted = set(partition_ids)
        rows = 0
        for segment in self.segments.of_collection(collection_id):
            if wanted and segment.partition_id not in wanted:
                continue
            if segment.state is SegmentState.GROWING:
                rows += self.segments.growing_rows(segment.segment_id)
            else:
                rows += segment.num_rows
        return CollectionStats(row_count=rows)

    def channel_snapshot(self, vchannel: str) -> ChannelSnapshot:
        info = self._collection_of_channel(vchannel)
        pchannel = info.pchannel_of(vchannel)
        return ChannelSnapshot(
            collection=info,
            checkpoint=self.segments.checkpoint(vchannel, pchannel),
            segments=tuple(self.segments.of_channel(vchannel)),
            delta_logs=tuple(self.segments.deltas_of_channel(vchannel)),
            indexes=tuple(self.indexes.of_collection(info.collection_id)),
            pending_flush_ts=self.segments.pending_flush_ts(vchannel),
        )

    # A datanode's reports apply only under its channel's current lease (see
    # coordinator/nodes.py): a node cut off meanwhile gets channel_lease_lost.

    def segment_flushed(self, segment: SegmentInfo, lease: ChannelLease) -> None:
        with self.nodes.holding_lease(segment.vchannel, lease):
            flushed = self.segments.mark_flushed(segment)
        if flushed is None:
            log.info(
                "flushed segment is gone, removing its files", extra={"segment": segment.segment_id}
            )
            self._dispatch.submit("gc", functools.partial(self._remove_files, [segment]))
            return
        log.info(
            "segment flushed",
            extra={
                "segment": segment.segment_id,
                "rows": segment.num_rows,
                "state": flushed.state.value,
            },
        )
        if flushed.state is not SegmentState.FLUSHED:
            self._node_calls.notify_querynodes(
                flushed.collection_id, lambda n: n.segment_dropped(flushed)
            )
            return
        self._node_calls.notify_querynodes(
            flushed.collection_id, lambda n: n.segment_flushed(flushed)
        )
        self._index.schedule_builds(flushed)

    def add_delta_log(self, log_entry: DeltaLog, lease: ChannelLease) -> None:
        with self.nodes.holding_lease(log_entry.vchannel, lease):
            self.segments.add_delta(log_entry)

    def update_checkpoint(self, checkpoint: ChannelCheckpoint, lease: ChannelLease) -> None:
        with self.nodes.holding_lease(checkpoint.vchannel, lease):
            self.segments.update_checkpoint(checkpoint)

    def channel_flushed(self, vchannel: str, flush_ts: int, lease: ChannelLease) -> None:
        with self.nodes.holding_lease(vchannel, lease):
            self.segments.channel_flushed(vchannel, flush_ts)

    def lowest_checkpoints(self) -> dict[str, int]:
        """Per physical channel, the lowest position any virtual channel still needs."""
        lowest = {p: self._stream.end_position(p) for p in self.catalog.pchannels()}
        for info in self.catalog.all():
            for vchannel, pchannel in zip(info.vchannels, info.pchannels, strict=True):
                try:
                    position = self.segments.checkpoint(vchannel, pchannel).position
                except LookupError:
                    continue  # dropped meanwhile
                lowest[pchannel] = min(lowest.get(pchannel, position), position)
        return lowest

    def _collection_of_channel(self, vchannel: str) -> CollectionInfo:
        for info in self.catalog.all():
            if vchannel in info.vchannels:
                return info
        raise errors.CollectionNotFound(f"channel={vchannel}")

    def _remove_files(
        self, segments: Sequence[SegmentInfo], extra_keys: Sequence[str] = ()
    ) -> None:
        for segment in segments:
            for key in (segment.data_key, segment.pk_stats_key, *segment.index_files.values()):
                if key:
                    self._storage.delete(key)
        for key in extra_keys:
            self._storage.delete(key)
