"""The coordinator's core: every coordinator call, with no transport in it.

It composes the allocators, the catalog, the segment manager, the index catalog
and the load registry, and tells nodes what to do through their client
interfaces (always via the :class:`Dispatcher`, never under a lock).
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from typing import Any

from coordinator.allocators import IdAllocator, TimestampOracle
from coordinator.builds import BuildTracker
from coordinator.catalog import Catalog
from coordinator.compaction import CompactionHooks, CompactionManager
from coordinator.ddl_recovery import DropCompletion
from coordinator.dispatch import Dispatcher
from coordinator.gc import GarbageCollector
from coordinator.housekeeping import Housekeeping, PeriodicJob
from coordinator.index_coord import IndexCoordination
from coordinator.indexes import IndexCatalog
from coordinator.loads import LoadRegistry
from coordinator.nodes import NodeRegistry
from coordinator.query_coord import QueryCoordination
from coordinator.retention import ChannelRetention
from coordinator.root_coord import CollectionDdl
from coordinator.segments import SegmentManager
from coordinator.ticks import DEFAULT_TICK_INTERVAL_S, TickAggregator
from elanus import errors
from elanus.config import CoordinatorConfig
from elanus.kv import MetaKV
from elanus.meta import (
    ChannelCheckpoint,
    ChannelSnapshot,
    CollectionInfo,
    DeltaLog,
    SegmentInfo,
    SegmentState,
)
from elanus.services import (
    ChannelLease,
    CollectionStats,
    CompactionProgress,
    DataNodeClient,
    FlushResult,
    IndexNodeClient,
    QueryNodeClient,
    SafeTsReport,
)
from elanus.storage import ObjectStore
from elanus.stream import MessageStream

log = logging.getLogger(__name__)


class Coordinator(CollectionDdl, IndexCoordination, QueryCoordination):
    """Time, ids and the data role here; DDL, index and query roles in their mixins."""

    def __init__(
        self,
        config: CoordinatorConfig,
        kv: MetaKV,
        stream: MessageStream,
        storage: ObjectStore,
        tick_interval_s: float = DEFAULT_TICK_INTERVAL_S,
    ) -> None:
        self._config = config
        self._stream = stream
        self._storage = storage
        self._ddl_lock = threading.RLock()
        self.tso = TimestampOracle(kv, config.tso_window_s)
        self.ids = IdAllocator(kv)
        self.catalog = Catalog(kv, config.dml_channel_pool)
        self.segments = SegmentManager(kv, config.segment_max_rows, lambda: self.ids.allocate())
        self.indexes = IndexCatalog(kv)
        self.builds = BuildTracker()  # index builds in flight, retried when a node is lost
        self.loads = LoadRegistry(kv)
        self._drops = DropCompletion(self.catalog, self.segments, self.indexes, self.loads)
        self._dispatch = Dispatcher()
        # vchannel -> (flush_ts, why) of its latest flush call that failed on the datanode,
        # so flush_state reports it to the waiter instead of waiting out its deadline.
        self._flush_failures: dict[str, tuple[int, str]] = {}
        self._flush_failures_lock = threading.Lock()
        self.nodes = NodeRegistry()
        self._retention: ChannelRetention | None = None
        self.compaction = CompactionManager(
            config,
            self.segments,
            storage,
            CompactionHooks(
                alloc_id=lambda: self.ids.allocate(),
                alloc_ts=lambda: self.tso.allocate(),
                pk_name=lambda c: self.catalog.get(c).schema.primary_field.name,
                datanode_for=lambda v: self.nodes.datanode_for(v),
                committed=self._compaction_committed,
            ),
        )
        self.gc = GarbageCollector(self.segments, storage, config.gc_grace_s)
        self._housekeeping = Housekeeping(self._periodic_jobs())
        # Session events reach it directly: ticks.expect_proxy / ticks.proxy_left.
        self.ticks = TickAggregator(
            stream, self.tso.allocate, self.catalog.pchannels, tick_interval_s
        )

    # --- lifecycle

    def register_datanode(self, node_id: int, client: DataNodeClient) -> None:
        self.nodes.register_datanode(node_id, client)

    def register_querynode(self, node_id: int, client: QueryNodeClient) -> None:
        self.nodes.register_querynode(node_id, client)

    def register_indexnode(self, node_id: int, client: IndexNodeClient) -> None:
        self.nodes.register_indexnode(node_id, client)

    def start(self) -> None:
        """Resume after a restart: finish interrupted drops, seal old growing segments,
        re-watch channels, reload, rebuild."""
        self._resume_ddl()
        for pchannel in self.catalog.pchannels():
            self._stream.create_channel(pchannel)
        self.ticks.start()
        self.segments.seal_all_growing(self.tso.allocate())
        for info in self.catalog.all():
            for vchannel in info.vchannels:
                self._watch(vchannel)
        for collection_id, partitions in self.loads.persisted().items():
            self._dispatch_load(collection_id, sorted(partitions))
        self.schedule_missing_builds()
        self._retention = ChannelRetention(
            self._stream,
            self.lowest_checkpoints,
            self._config.log_retention_s,
            self._config.retention_interval_s,
        )
        self._retention.start()
        self.compaction.start()
        self._housekeeping.start()

    def stop(self) -> None:
        self._housekeeping.stop()
        self.compaction.stop()
        self.ticks.stop()
        if self._retention is not None:
            self._retention.stop()
        self._dispatch.close()

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

    def wait_idle(self, timeout_s: float = 10.0) -> bool:
        return self._dispatch.wait_idle(timeout_s)

    # --- root: time, ids, DDL

    def alloc_timestamp(self, count: int = 1) -> int:
        return self.tso.allocate(count)

    def alloc_ids(self, count: int) -> int:
        return self.ids.allocate(count)

    # --- time ticks (coordinator/ticks.py)

    def register_proxy(self, proxy_id: int) -> int:
        return self.ticks.register_proxy(proxy_id)

    def unregister_proxy(self, proxy_id: int) -> None:
        self.ticks.unregister_proxy(proxy_id)

    def report_safe_ts(self, proxy_id: int, report: SafeTsReport, wait_s: float) -> int:
        return self.ticks.report(proxy_id, report, wait_s)

    def request_tick(
        self, proxy_id: int, report: SafeTsReport, pchannels: Sequence[str], at_least: int
    ) -> None:
        self.ticks.request_tick(proxy_id, report, pchannels, at_least)

    # --- data: segments, flush, checkpoints

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
            self._notify_sealed([sealed])
        return segment_id

    def flush(self, collection_id: int) -> FlushResult:
        info = self.catalog.get(collection_id)
        flush_ts = self.tso.allocate()
        sealed = self.segments.seal_collection(collection_id, flush_ts)
        for vchannel in info.vchannels:
            self.segments.request_flush(vchannel, flush_ts)
        self._notify_sealed(sealed)
        for vchannel in info.vchannels:
            owner, node = self.nodes.channel_owner(vchannel)
            done = self._dispatch.submit(
                "flush", lambda n=node, v=vchannel: n.flush_channel(v, flush_ts), node
            )
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
        """Whether the flush is done; raises once it has waited past ``flush_timeout_s``."""
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
                self._raise_if_flush_failed(vchannel, flush_ts)
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

    # --- compaction

    def manual_compaction(self, collection_id: int) -> int:
        self.catalog.get(collection_id)
        return self.compaction.manual(collection_id)

    def compaction_state(self, compaction_id: int) -> CompactionProgress:
        return self.compaction.state(compaction_id)

    def _compaction_committed(self, result: SegmentInfo, sources: Sequence[SegmentInfo]) -> None:
        """After the KV swap: querynodes swap too (or drop, if nothing was left), then index."""
        if result.state is SegmentState.FLUSHED:
            self._notify_querynodes(result.collection_id, lambda n: n.segment_flushed(result))
            self._schedule_builds(result)
            return
        for source in sources:
            self._notify_querynodes(source.collection_id, lambda n, s=source: n.segment_dropped(s))

    def _periodic_jobs(self) -> list[PeriodicJob]:
        config = self._config
        jobs = [
            PeriodicJob("seal", config.seal_check_interval_s, self._seal_expired),
            PeriodicJob("gc", config.gc_interval_s, self._collect_garbage),
        ]
        if config.compaction_auto:
            jobs.append(
                PeriodicJob(
                    "compaction",
                    config.compaction_interval_s,
                    lambda: self.compaction.automatic(
                        [c.collection_id for c in self.catalog.all()]
                    ),
                )
            )
        return jobs

    def _collect_garbage(self) -> None:
        # Metadata first: a drop that failed halfway leaves files the scan must see as orphans.
        self._resume_ddl()
        self.gc.run_once()

    def _seal_expired(self) -> None:
        sealed = self.segments.seal_expired(
            self._config.segment_max_age_s, self._config.segment_idle_s, self.tso.allocate
        )
        self._notify_sealed(sealed)

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
            self._dispatch.submit("gc", lambda: self._remove_files([segment]))
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
            self._notify_querynodes(flushed.collection_id, lambda n: n.segment_dropped(flushed))
            return
        self._notify_querynodes(flushed.collection_id, lambda n: n.segment_flushed(flushed))
        self._schedule_builds(flushed)

    def add_delta_log(self, log_entry: DeltaLog, lease: ChannelLease) -> None:
        with self.nodes.holding_lease(log_entry.vchannel, lease):
            self.segments.add_delta(log_entry)

    def update_checkpoint(self, checkpoint: ChannelCheckpoint, lease: ChannelLease) -> None:
        with self.nodes.holding_lease(checkpoint.vchannel, lease):
            self.segments.update_checkpoint(checkpoint)

    def channel_flushed(self, vchannel: str, flush_ts: int, lease: ChannelLease) -> None:
        with self.nodes.holding_lease(vchannel, lease):
            self.segments.channel_flushed(vchannel, flush_ts)

    # --- internals

    def _collection_of_channel(self, vchannel: str) -> CollectionInfo:
        for info in self.catalog.all():
            if vchannel in info.vchannels:
                return info
        raise errors.CollectionNotFound(f"channel={vchannel}")

    def _watch(self, vchannel: str) -> None:
        try:
            owner, node = self.nodes.channel_owner(vchannel)
        except errors.ServiceNotReady:
            # A cluster's datanodes may join after this; membership watches it then.
            log.warning("no datanode to watch the channel yet", extra={"channel": vchannel})
            return
        self.nodes.mark_watched(vchannel, owner.epoch)
        self._dispatch.submit("watch", lambda: node.watch_channel(vchannel, owner.epoch), node)

    def _notify_sealed(self, sealed: Sequence[SegmentInfo]) -> None:
        for segment in sealed:
            node = self.nodes.datanode_for(segment.vchannel)
            self._dispatch.submit(
                "seal",
                lambda n=node, s=segment: n.seal_segment(s.vchannel, s.segment_id, s.seal_ts),
                node,
            )

    def _notify_querynodes(self, collection_id: int, call: Any) -> None:
        if self.loads.get(collection_id) is None:
            return
        for node in self.nodes.querynodes():
            self._dispatch.submit("querynode", lambda n=node: call(n), node)

    # --- membership hooks: nodes come and go (coordinator.membership calls these)

    def watch_channel(self, vchannel: str) -> None:
        """Have the channel's datanode (a new one if its owner left) consume it."""
        self._watch(vchannel)

    def _remove_files(
        self, segments: Sequence[SegmentInfo], extra_keys: Sequence[str] = ()
    ) -> None:
        for segment in segments:
            for key in (segment.data_key, segment.pk_stats_key, *segment.index_files.values()):
                if key:
                    self._storage.delete(key)
        for key in extra_keys:
            self._storage.delete(key)
