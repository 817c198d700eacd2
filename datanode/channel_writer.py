"""One virtual channel's writer: consume, buffer, flush on ticks, checkpoint.

Replay is idempotent: a restarted writer starts at the checkpoint, which lies
at or before the first row of every segment not yet flushed, and skips rows of
segments the coordinator already has as flushed. Deletes replayed after their
delta log was written are persisted again, which is harmless: a delete applies
to the same rows however often it is seen.

Single writer. The writer reports under the lease the coordinator gave with
``watch_channel`` (this node, the assignment's epoch). When the node's session
expires while it still runs (paused, cut off from etcd), the coordinator
unregisters it and from then on refuses its reports on the channel; the next
reconcile gives the channel to another datanode under a higher epoch. Until this
writer makes its next report, both may consume the channel: that window is
harmless, because reading changes nothing and every report that changes the
coordinator's state (segment flushed, delta log, checkpoint, channel flushed) is
checked against the current lease under the lock that changes owners. The first
refused report (channel lease lost) ends this writer for good: it stops consuming
and the node forgets the channel. What the stale writer may still do in that
window is write object-storage files: a delta log under a fresh id (never
registered; garbage) or a segment file under the segment's key, with the same
rows as the new owner's (both replay the same channel under the same rules).

Checkpoints carry, as their ``timestamp``, the highest tick on the channel
before their position, so that a consumer starting there drops exactly the late
writes every other consumer drops (elanus/late_writes.py).
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import threading
import time
from collections.abc import Callable

from datanode.buffer import DeleteBuffer, SegmentBuffer
from elanus import dml, errors, segment
from elanus.columns import arrow_schema, conform, fill_missing, oldest_row_ts
from elanus.config import DataNodeConfig
from elanus.late_writes import LateWriteFilter
from elanus.meta import ChannelCheckpoint, DeltaLog, SegmentInfo, SegmentState
from elanus.services import ChannelLease, CoordinatorForDataNode
from elanus.storage import ObjectStore
from elanus.stream import MessageStream

log = logging.getLogger(__name__)

POLL_BATCH = 512
MAX_RESTARTS = 1000
RESTART_BACKOFF_S = 0.2


class ChannelWriter:
    def __init__(
        self,
        vchannel: str,
        config: DataNodeConfig,
        stream: MessageStream,
        storage: ObjectStore,
        coordinator: CoordinatorForDataNode,
        lease: ChannelLease,
        on_lease_lost: Callable[[ChannelWriter], None] = lambda writer: None,
    ) -> None:
        self.vchannel = vchannel
        self.lease = lease  # replaced when the coordinator re-sends a newer epoch
        self._on_lease_lost = on_lease_lost
        self.lease_lost = False
        self._config = config
        self._stream = stream
        self._storage = storage
        self._coordinator = coordinator
        self._commands: queue.Queue[tuple[str, int, int]] = queue.Queue()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"datanode-{vchannel}", daemon=True)
        # Rebuilt from the coordinator by _take_over at every (re)start.
        self._segments: dict[int, SegmentBuffer] = {}
        self._deletes = DeleteBuffer()
        self.late_writes = LateWriteFilter(vchannel, "datanode")
        self._sealed: dict[int, int] = {}  # segment id -> seal_ts
        self._done: set[int] = set()  # segments already flushed or dropped
        self._known: set[int] = set()  # every live segment at take-over
        self._replay_end = 0
        self._flush_ts = 0
        self._start_position = 0
        self._last_checkpoint = -1
        self._last_checkpoint_time = 0.0
        self._last_delete_flush = time.monotonic()

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stopping.set()
        # A writer is registered before its thread starts; one stopped in between
        # never serves (its thread sees the stop at once).
        if self._thread.ident is not None:
            self._thread.join(timeout_s)

    def seal(self, segment_id: int, seal_ts: int) -> None:
        self._commands.put(("seal", segment_id, seal_ts))

    def flush(self, flush_ts: int) -> None:
        self._commands.put(("flush", 0, flush_ts))

    # --- the loop

    def _run(self) -> None:
        """Serve the channel; after a failure, start over from the checkpoint.

        Everything this writer holds in memory can be rebuilt by replaying from
        the checkpoint (replay is idempotent), so recovering from a storage or
        coordinator error is: forget, wait a little, take the channel over again.
        """
        for attempt in range(MAX_RESTARTS):
            try:
                self._serve()
                return
            except errors.ChannelLeaseLost as lost:
                self._lose_lease(str(lost))
                return
            except Exception:
                log.exception(
                    "datanode channel writer failed, restarting from the checkpoint",
                    extra={"vchannel": self.vchannel, "attempt": attempt},
                )
            if self._stopping.wait(min(RESTART_BACKOFF_S * (attempt + 1), 5.0)):
                return
        log.error("datanode channel writer gave up", extra={"vchannel": self.vchannel})

    def _lose_lease(self, why: str) -> None:
        """Another node owns the channel now, or none (it was dropped): stop consuming
        it, never to restart. Expected either way, so never an ERROR: a dropped or
        unwatched channel is INFO, a channel taken over while this node still wrote it
        (it was cut off) a WARNING."""
        told_to_stop = self._stopping.is_set()
        self.lease_lost = True
        self._stopping.set()
        expected = told_to_stop or errors.CHANNEL_DROPPED in why
        log.log(
            logging.INFO if expected else logging.WARNING,
            "datanode lost the channel's lease, stops writing it",
            extra={
                "vchannel": self.vchannel,
                "node": self.lease.node_id,
                "epoch": self.lease.epoch,
                "why": why,
            },
        )
        self._on_lease_lost(self)

    def _serve(self) -> None:
        self._take_over()
        consumer = self._stream.consume(self._pchannel, self._start_position)
        log.info(
            "datanode watching channel",
            extra={"vchannel": self.vchannel, "position": self._start_position},
        )
        try:
            while not self._stopping.is_set():
                for message in consumer.poll(POLL_BATCH, timeout_s=0.1):
                    self._handle(message.payload, message.position)
        finally:
            consumer.close()

    def _take_over(self) -> None:
        """(Re)build the in-memory state from the coordinator's view of the channel."""
        first = self._coordinator.channel_snapshot(self.vchannel)
        self._pchannel = first.checkpoint.pchannel
        # Every message below this position was produced before the snapshot below
        # was read, so its segment was known then (segments are recorded before rows
        # are assigned): rows there of a segment the snapshot lacks are of a dropped one.
        self._replay_end = self._stream.end_position(self._pchannel)
        snapshot = self._coordinator.channel_snapshot(self.vchannel)
        self._collection_id = snapshot.collection.collection_id
        self._pk_name = snapshot.collection.schema.primary_field.name
        self._schema = snapshot.collection.schema
        self._rows_schema = arrow_schema(self._schema)
        self._segments, self._deletes = {}, DeleteBuffer()
        self._sealed, self._done = {}, set()
        self._known = {seg.segment_id for seg in snapshot.segments}
        for seg in snapshot.segments:
            if seg.state is SegmentState.SEALED:
                self._sealed[seg.segment_id] = seg.seal_ts
            elif seg.state is SegmentState.FLUSHED:
                self._done.add(seg.segment_id)
        self._flush_ts = snapshot.pending_flush_ts
        self._start_position = snapshot.checkpoint.position
        self.late_writes = LateWriteFilter(self.vchannel, "datanode", snapshot.checkpoint.timestamp)
        self._last_checkpoint = -1

    def _handle(self, payload: bytes, position: int) -> None:
        try:
            msg = dml.decode(payload)
        except Exception:
            log.exception("skipping an undecodable message", extra={"position": position})
            return
        if isinstance(msg, dml.TimeTick):
            self._on_tick(msg.timestamp, position)
            self.late_writes.on_tick(msg.timestamp)
        elif isinstance(msg, dml.InsertBatch | dml.DeleteBatch) and msg.vchannel == self.vchannel:
            if self.late_writes.is_late(msg.stamp, position):
                return
            if isinstance(msg, dml.InsertBatch):
                self._on_insert(msg, position)
            else:
                self._deletes.add(msg, position, self.late_writes.last_tick_ts)
        elif isinstance(msg, dml.TruncateMark) and msg.vchannel == self.vchannel:
            # Rows buffered from before it are not written (the coordinator drops the
            # segments already flushed): a segment left empty flushes as dropped.
            for buffer in self._segments.values():
                buffer.drop_before(msg.stamp.timestamp)

    def _on_insert(self, msg: dml.InsertBatch, position: int) -> None:
        if msg.segment_id in self._done:
            return
        if position < self._replay_end and msg.segment_id not in self._known:
            return  # its partition or collection was dropped before this take-over
        if not set(msg.rows.column_names) <= set(self._rows_schema.names):
            self._refresh_schema()  # rows of a newer schema: a field was added
        try:
            # Rows from before a field was added read it as its default value or null.
            rows = conform(fill_missing(msg.rows, self._schema), self._rows_schema)
        except Exception:
            log.exception(
                "skipping insert rows that do not fit the schema",
                extra={"vchannel": self.vchannel, "position": position},
            )
            return
        buffer = self._segments.get(msg.segment_id)
        if buffer is None:
            buffer = SegmentBuffer(
                msg.segment_id, msg.partition_id, position, self.late_writes.last_tick_ts
            )
            self._segments[msg.segment_id] = buffer
        buffer.add(dataclasses.replace(msg, rows=rows))

    def _refresh_schema(self) -> None:
        """Adopt the collection's current schema if it is newer (AddCollectionField);
        rows buffered before get the new column when their segment is written."""
        schema = self._coordinator.channel_snapshot(self.vchannel).collection.schema
        if schema.version > self._schema.version:
            self._schema, self._rows_schema = schema, arrow_schema(schema)
            log.info(
                "datanode adopted a new schema",
                extra={"vchannel": self.vchannel, "schema_version": schema.version},
            )

    def _on_tick(self, tick_ts: int, position: int) -> None:
        self._apply_commands()
        for segment_id, seal_ts in sorted(self._sealed.items()):
            if seal_ts <= tick_ts:
                self._flush_segment(segment_id)
        delete_due = (
            time.monotonic() - self._last_delete_flush >= self._config.delete_flush_interval_s
        )
        flush_due = 0 < self._flush_ts <= tick_ts
        if self._deletes.num_rows and (delete_due or flush_due):
            self._flush_deletes()
        if flush_due:
            self._coordinator.channel_flushed(self.vchannel, self._flush_ts, self.lease)
            self._flush_ts = 0
        self._checkpoint(tick_ts, position + 1, force=flush_due)

    def _apply_commands(self) -> None:
        while True:
            try:
                kind, segment_id, ts = self._commands.get_nowait()
            except queue.Empty:
                return
            if kind == "seal" and segment_id not in self._done:
                self._sealed[segment_id] = ts
            elif kind == "flush":
                self._flush_ts = max(self._flush_ts, ts)

    def _flush_segment(self, segment_id: int) -> None:
        buffer = self._segments.pop(segment_id, None)
        seal_ts = self._sealed.pop(segment_id)
        self._done.add(segment_id)
        info = SegmentInfo(
            segment_id=segment_id,
            collection_id=self._collection_id,
            partition_id=buffer.partition_id if buffer else 0,
            vchannel=self.vchannel,
            state=SegmentState.SEALED,
            seal_ts=seal_ts,
        )
        if buffer is not None and buffer.num_rows:
            table = buffer.table(self._schema)
            data_key = segment.segment_data_key(self._collection_id, info.partition_id, segment_id)
            stats_key = segment.pk_stats_key(self._collection_id, info.partition_id, segment_id)
            data = segment.write_segment(table)
            stats = segment.build_pk_stats(table.column(self._pk_name).combine_chunks())
            self._storage.put(data_key, data)
            self._storage.put(stats_key, stats.to_bytes())
            info = dataclasses.replace(
                info,
                num_rows=table.num_rows,
                data_key=data_key,
                pk_stats_key=stats_key,
                size_bytes=len(data),
                min_row_ts=oldest_row_ts(table),
            )
        self._coordinator.segment_flushed(info, self.lease)
        log.info(
            "segment persisted",
            extra={"vchannel": self.vchannel, "segment": segment_id, "rows": info.num_rows},
        )

    def _flush_deletes(self) -> None:
        max_ts, count = self._deletes.max_ts, self._deletes.num_rows
        records = self._deletes.drain()
        log_id = self._coordinator.alloc_ids(1)
        key = segment.delta_log_key(self._collection_id, self.vchannel, log_id)
        self._storage.put(key, segment.write_deltas(records))
        self._coordinator.add_delta_log(
            DeltaLog(log_id, self._collection_id, self.vchannel, key, count, max_ts), self.lease
        )
        self._last_delete_flush = time.monotonic()

    def _checkpoint(self, tick_ts: int, next_position: int, force: bool) -> None:
        """Move the checkpoint to the first message whose data is not yet persisted,
        with the highest tick before it (``tick_ts`` is the tick at ``next_position - 1``)."""
        starts = [(b.first_position, b.tick_before) for b in self._segments.values()]
        if self._deletes.first_position >= 0:
            starts.append((self._deletes.first_position, self._deletes.tick_before))
        position, tick_before = min(starts, default=(next_position, tick_ts))
        now = time.monotonic()
        if position <= self._last_checkpoint:
            return
        if not force and now - self._last_checkpoint_time < self._config.checkpoint_interval_s:
            return
        self._coordinator.update_checkpoint(
            ChannelCheckpoint(self.vchannel, self._pchannel, position, tick_before), self.lease
        )
        self._last_checkpoint, self._last_checkpoint_time = position, now
