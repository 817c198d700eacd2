"""The shard delegator: serves one virtual channel of a loaded collection.

It loads the channel's flushed segments, then follows the channel from its
checkpoint: inserts of segments not yet flushed build growing segments, deletes
apply to every segment they reach (elanus/deletes.py decides which rows, with the
delete's partition scope), and time ticks advance the serve-time that searches
wait for. When the datanode flushes a segment, the delegator loads its file and
swaps it in for the growing copy in one step (handoff), carrying the deletes
over, so no deleted row comes back.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

import pyarrow as pa

from elanus import dml, errors, scalar_index, segment, timestamps, vectors
from elanus.columns import TS_COLUMN, arrow_schema, conform, fill_missing
from elanus.deletes import Deletes
from elanus.late_writes import LateWriteFilter
from elanus.meta import ChannelSnapshot, CollectionInfo, IndexInfo, SegmentInfo, SegmentState
from elanus.requests import (
    ParsedFilters,
    QueryRequest,
    QueryResult,
    SearchRequest,
    SearchResult,
    merge_search_results,
)
from elanus.scalar_index import ScalarLookup
from elanus.storage import ObjectStore
from elanus.stream import MessageStream
from querynode.recent_deletes import RecentDeletes
from querynode.segment import Segment, SegmentView, search_view, table_schema

log = logging.getLogger(__name__)

POLL_BATCH = 512
MAX_STREAM_RETRIES = 1000


class ShardDelegator:
    def __init__(
        self,
        snapshot: ChannelSnapshot,
        stream: MessageStream,
        storage: ObjectStore,
        consistency_wait_s: float,
        fetch_collection: Callable[[], CollectionInfo],
    ) -> None:
        self.vchannel = snapshot.checkpoint.vchannel
        self.collection = snapshot.collection
        self._schema = snapshot.collection.schema
        self._pk_name = self._schema.primary_field.name
        self._stream = stream
        self._storage = storage
        self._arrow_schema = arrow_schema(self._schema)
        # The collection as the coordinator has it now, to catch up with a schema change.
        self._fetch_collection = fetch_collection
        self._wait_s = consistency_wait_s
        self._lock = threading.RLock()
        self._filters = ParsedFilters()
        self._serve_ts_changed = threading.Condition(self._lock)
        # Every TSO timestamp is far above EVENTUALLY_TS, so nothing at or below it can
        # still arrive: an Eventually read never waits, not even for the first tick.
        self._serve_ts = timestamps.EVENTUALLY_TS
        self._sealed: dict[int, Segment] = {}
        self._growing: dict[int, Segment] = {}
        self._flushed_ids: set[int] = set()
        self._recent_deletes = RecentDeletes()
        # The latest truncate of the collection: every segment, present or to come,
        # hides its rows from before it (elanus/deletes.py: truncated_at).
        self._truncated_ts = snapshot.collection.truncated_ts
        self._indexes = {i.index_id: i for i in snapshot.indexes}
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._stream_error = ""  # the last failure reading the channel, for timeouts
        self.skipped_messages = 0
        self._load(snapshot)

    # --- lifecycle

    def _load(self, snapshot: ChannelSnapshot) -> None:
        for info in snapshot.segments:
            if info.state is SegmentState.FLUSHED:
                self._sealed[info.segment_id] = self._load_sealed(info)
                self._sealed[info.segment_id].apply_truncate(self._truncated_ts)
                self._flushed_ids.add(info.segment_id)
                # Rows of segments compacted into this one may still be replayed.
                self._flushed_ids.update(info.compacted_from)
        for delta in snapshot.delta_logs:
            records = segment.read_deltas(self._storage.get(delta.key))
            for seg in self._sealed.values():
                seg.apply_deletes(records)
            # A replayed insert from past the checkpoint can be older than a delete
            # persisted before it (two proxies' writes interleave between ticks).
            self._recent_deletes.add(records.after(snapshot.checkpoint.timestamp))
        self._start_position = snapshot.checkpoint.position
        self._pchannel = snapshot.checkpoint.pchannel
        # Seeded with the highest tick before the checkpoint: drops exactly the late
        # writes the datanode drops (elanus/late_writes.py).
        self.late_writes = LateWriteFilter(
            self.vchannel, "querynode", snapshot.checkpoint.timestamp
        )
        log.info(
            "shard loaded",
            extra={
                "vchannel": self.vchannel,
                "sealed": len(self._sealed),
                "position": self._start_position,
            },
        )

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._follow, name=f"delegator-{self.vchannel}", daemon=True
        )
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout_s)

    # --- following the channel

    def _follow(self) -> None:
        """Apply the channel's messages in order, for as long as the shard is served.

        A message that cannot be applied is logged and skipped: one bad message
        must not freeze serve-time for the whole shard. If the stream itself
        fails, the consumer is reopened where it stopped.
        """
        position = self._start_position
        for attempt in range(MAX_STREAM_RETRIES):
            consumer = None
            try:
                consumer = self._stream.consume(self._pchannel, position)
                while not self._stopping.is_set():
                    for message in consumer.poll(POLL_BATCH, timeout_s=0.1):
                        self._apply_logged(message.payload, message.position)
                        position = message.position + 1
                return
            except Exception as exc:
                self._stream_error = f"{type(exc).__name__}: {exc}"
                log.exception(
                    "delegator lost its channel, reopening",
                    extra={"vchannel": self.vchannel, "position": position, "attempt": attempt},
                )
            finally:
                if consumer is not None:
                    consumer.close()
            if self._stopping.wait(min(0.2 * (attempt + 1), 5.0)):
                return
        log.error("delegator gave up following its channel", extra={"vchannel": self.vchannel})

    def _apply_logged(self, payload: bytes, position: int) -> None:
        try:
            self._apply(dml.decode(payload), position)
        except Exception:
            self.skipped_messages += 1
            log.exception(
                "delegator skipped a message it cannot apply",
                extra={"vchannel": self.vchannel, "position": position},
            )

    def _apply(self, msg: dml.ChannelMessage | None, position: int = -1) -> None:
        if isinstance(msg, dml.TimeTick):
            with self._lock:
                self.late_writes.on_tick(msg.timestamp)
                self._serve_ts = max(self._serve_ts, msg.timestamp)
                self._serve_ts_changed.notify_all()
                self._recent_deletes.forget(self._serve_ts, self._oldest_growing_ts())
        elif (
            isinstance(msg, dml.InsertBatch | dml.DeleteBatch)
            and msg.vchannel == self.vchannel
            and self.late_writes.is_late(msg.stamp, position)
        ):
            return  # below a tick already served: applying it would change past reads
        elif isinstance(msg, dml.InsertBatch) and msg.vchannel == self.vchannel:
            if not set(msg.rows.column_names) <= set(self._arrow_schema.names):
                self._refresh_schema()  # rows of a newer schema: a field was added
            with self._lock:
                if msg.segment_id in self._flushed_ids:
                    return
                # Refuse a misfit before any change; rows from before a field was added
                # read it as its default value or null.
                rows = conform(fill_missing(msg.rows, self._schema), self._arrow_schema)
                growing = self._growing.get(msg.segment_id)
                if growing is None:
                    growing = Segment.empty(
                        msg.segment_id, msg.partition_id, self._schema, self._arrow_schema
                    )
                    self._growing[msg.segment_id] = growing
                growing.append(rows, msg.stamp.timestamp)
                if msg.stamp.timestamp < self._truncated_ts:
                    growing.apply_truncate(self._truncated_ts)
                later = self._recent_deletes.after(msg.stamp.timestamp)
                if later is not None:
                    growing.apply_deletes(later)
        elif isinstance(msg, dml.DeleteBatch) and msg.vchannel == self.vchannel:
            records = Deletes.of(msg.pks, msg.stamp.timestamp, msg.partition_id)
            with self._lock:
                self._recent_deletes.add(records)
                for seg in (*self._sealed.values(), *self._growing.values()):
                    seg.apply_deletes(records)
        elif (
            isinstance(msg, dml.TruncateMark)
            and msg.vchannel == self.vchannel
            and msg.collection_id == self.collection.collection_id
        ):
            # Applied even if late: the coordinator recorded it before it was sent,
            # so a reload would apply it anyway.
            with self._lock:
                self._truncated_ts = max(self._truncated_ts, msg.stamp.timestamp)
                for seg in (*self._sealed.values(), *self._growing.values()):
                    seg.apply_truncate(self._truncated_ts)
            log.info(
                "shard truncated",
                extra={"vchannel": self.vchannel, "truncate_ts": msg.stamp.timestamp},
            )

    # --- handoff and indexes

    def segment_flushed(self, info: SegmentInfo) -> None:
        if info.vchannel != self.vchannel or info.segment_id in self._sealed:
            return
        sealed = self._load_sealed(info)
        if info.compacted_from:
            self._swap_compacted(info, sealed)
            return
        with self._lock:
            sealed.adopt(self._schema, self._arrow_schema)  # the schema may have changed since
            growing = self._growing.pop(info.segment_id, None)
            if growing is not None and growing.num_rows == sealed.num_rows:
                sealed.deleted_at = growing.deleted_at.copy()
            else:
                log.info(
                    "handoff without a matching growing copy: applying remembered deletes",
                    extra={
                        "vchannel": self.vchannel,
                        "segment": info.segment_id,
                        "growing_rows": None if growing is None else growing.num_rows,
                        "sealed_rows": sealed.num_rows,
                    },
                )
                if growing is not None:
                    sealed.apply_deletes(growing.deletes_held())
                remembered = self._recent_deletes.all()
                if remembered is not None:
                    sealed.apply_deletes(remembered)
            sealed.apply_truncate(self._truncated_ts)
            self._sealed[info.segment_id] = sealed
            self._flushed_ids.add(info.segment_id)

    def _swap_compacted(self, info: SegmentInfo, merged: Segment) -> None:
        """Replace the segments a compaction merged by its result, in one step under
        the lock, so a search sees either all the old segments or the new one.

        The compaction only purged deletes up to its timestamp. The marks the old
        segments had (from delta logs and the stream) are carried over as delete
        records of their partition, and the remembered deletes are applied again.
        """
        with self._lock:
            merged.adopt(self._schema, self._arrow_schema)
            replaced = [
                seg
                for i in info.compacted_from
                if (seg := self._sealed.pop(i, None) or self._growing.pop(i, None)) is not None
            ]
            for old in replaced:
                merged.apply_deletes(old.deletes_held())
            remembered = self._recent_deletes.all()
            if remembered is not None:
                merged.apply_deletes(remembered)
            merged.apply_truncate(self._truncated_ts)
            self._sealed[info.segment_id] = merged
            self._flushed_ids.add(info.segment_id)
            self._flushed_ids.update(info.compacted_from)

    def segment_indexed(self, info: SegmentInfo, index: IndexInfo) -> None:
        with self._lock:
            target = self._sealed.get(info.segment_id)
            self._indexes[index.index_id] = index
        if target is None or index.index_id not in info.index_files:
            return
        loaded = _load_index(self._storage, index, info.index_files[index.index_id])
        with self._lock:
            _attach(target, index, loaded)

    def segment_dropped(self, info: SegmentInfo) -> None:
        with self._lock:
            self._growing.pop(info.segment_id, None)
            self._sealed.pop(info.segment_id, None)

    # --- schema changes

    def _catch_up_schema(self, version: int) -> None:
        """A request planned with a newer schema than ours: take the collection's now."""
        if version > self._schema.version:
            self._refresh_schema()

    def _refresh_schema(self) -> None:
        """Adopt the collection's current schema if it is newer (AddCollectionField): the
        segments held get the new columns. Asked outside the lock, applied under it."""
        info = self._fetch_collection()
        with self._lock:
            if info.schema.version <= self._schema.version:
                return
            self.collection = info
            self._schema = info.schema
            self._arrow_schema = arrow_schema(info.schema)
            for seg in (*self._sealed.values(), *self._growing.values()):
                seg.adopt(self._schema, self._arrow_schema)
        log.info(
            "shard adopted a new schema",
            extra={"vchannel": self.vchannel, "schema_version": info.schema.version},
        )

    # --- introspection

    def segment_ids(self) -> tuple[list[int], list[int]]:
        """(sealed, growing) segment ids held now, for operators and tests."""
        with self._lock:
            return sorted(self._sealed), sorted(self._growing)

    def indexed_fields(self, segment_id: int) -> list[str]:
        with self._lock:
            target = self._sealed.get(segment_id)
            return sorted(target.indexes) if target is not None else []

    # --- serving

    def wait_serveable(self, guarantee_ts: int) -> None:
        deadline = time.monotonic() + self._wait_s
        with self._lock:
            while self._serve_ts < guarantee_ts:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    cause = (
                        f"; last channel error: {self._stream_error}" if self._stream_error else ""
                    )
                    raise errors.ConsistencyTimeout(
                        f"channel {self.vchannel} serve-time {self._serve_ts} is behind the "
                        f"guarantee timestamp {guarantee_ts} after {self._wait_s}s{cause}"
                    )
                self._serve_ts_changed.wait(remaining)

    def search(self, request: SearchRequest) -> SearchResult:
        self._catch_up_schema(request.schema_version)
        self.wait_serveable(request.guarantee_ts)
        parsed = (
            self._filters.parse(request.filter, self._schema, request.template_values)
            if request.filter
            else None
        )
        views = self._views(request.partition_ids, request.ignore_growing)
        parts = [
            part
            for view in views
            if (part := search_view(view, request, parsed, self._pk_name, request.metric_type))
            is not None
        ]
        if not parts:
            fields = self._arrow_schema
            output = pa.schema([fields.field(name) for name in request.output_fields])
            return SearchResult.empty(
                len(request.queries), fields.field(self._pk_name).type, output
            )
        return merge_search_results(
            parts,
            request.limit,
            vectors.larger_is_better(request.metric_type),
            request.grouping,
        )

    def query(self, request: QueryRequest) -> QueryResult:
        self._catch_up_schema(request.schema_version)
        self.wait_serveable(request.guarantee_ts)
        parsed = (
            self._filters.parse(request.filter, self._schema, request.template_values)
            if request.filter
            else None
        )
        columns = [*request.output_fields, TS_COLUMN]
        tables, count = [], 0
        for view in self._views(request.partition_ids, request.ignore_growing):
            if view.num_rows == 0:
                continue
            mask = view.mask(parsed, request.mvcc_ts, request.ttl_s)
            if request.count_only:
                count += int(mask.sum())
                continue
            if mask.any():
                tables.append(view.table.select(columns).filter(pa.array(mask)))
        if request.count_only:
            return QueryResult(rows=pa.table({}), count=count)
        output = pa.schema(
            [
                *(self._arrow_schema.field(n) for n in request.output_fields),
                pa.field(TS_COLUMN, pa.uint64()),
            ]
        )
        rows = pa.concat_tables(tables) if tables else output.empty_table()
        return QueryResult(rows=rows)

    def _views(self, partition_ids: Sequence[int], ignore_growing: bool) -> list[SegmentView]:
        wanted = set(partition_ids)
        with self._lock:
            segments = list(self._sealed.values())
            if not ignore_growing:
                segments += list(self._growing.values())
            return [s.view() for s in segments if not wanted or s.partition_id in wanted]

    # --- loading files

    def _load_sealed(self, info: SegmentInfo) -> Segment:
        stored = segment.read_segment(self._storage.get(info.data_key))
        if not set(stored.column_names) - {TS_COLUMN} <= set(self._arrow_schema.names):
            self._refresh_schema()  # written after a field was added that we have not seen
        with self._lock:
            schema, arrow = self._schema, self._arrow_schema
        # A file written before a field was added lacks its column: filled here.
        table = conform(fill_missing(stored, schema), table_schema(arrow))
        loaded = Segment.from_table(info.segment_id, info.partition_id, schema, table, sealed=True)
        for index_id, key in info.index_files.items():
            index = self._indexes.get(index_id)
            if index is not None:
                _attach(loaded, index, _load_index(self._storage, index, key))
        return loaded

    def _oldest_growing_ts(self) -> int | None:
        """The oldest row timestamp of any growing segment (None when none has rows)."""
        oldest = [g.min_row_ts for g in self._growing.values() if g.min_row_ts is not None]
        return min(oldest, default=None)


def _attach(target: Segment, index: IndexInfo, loaded: vectors.VectorIndex | ScalarLookup) -> None:
    if isinstance(loaded, ScalarLookup):
        target.set_scalar_index(index.field_name, loaded)
    else:
        target.set_index(index.field_name, loaded)


def _load_index(
    storage: ObjectStore, index: IndexInfo, key: str
) -> vectors.VectorIndex | ScalarLookup:
    if scalar_index.is_scalar_index_type(index.index_type):
        return scalar_index.load_scalar_index(storage.get(key))
    spec = vectors.IndexSpec(index.index_type, index.metric_type, index.params)
    return vectors.load_index(spec, storage.get(key))
