"""Search and query: checks, consistency, fan-out to shard leaders, the last merge.

Everything here works on domain values; :mod:`proxy.service` converts from and
to protobuf. The proxy validates all it can before asking any querynode, so a
bad request costs nothing downstream.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from elanus import errors, properties, timestamps, vectors
from elanus.columns import TS_COLUMN
from elanus.meta import CollectionInfo, ConsistencyLevel
from elanus.requests import (
    Grouping,
    ParsedFilters,
    QueryRequest,
    QueryResult,
    SearchRequest,
    SearchResult,
    merge_search_results,
    search_params_with,
)
from elanus.schema import FieldSchema
from elanus.services import CoordinatorForProxy, QueryNodeClient
from proxy import partition_key

log = logging.getLogger(__name__)


# A Bounded read whose channels are uncovered asks for a tick in the background,
# at most once per this many seconds: serve-time lags its guarantee by the
# graceful time, so the periodic ticks (every 0.1 s by default) nearly always
# cover it already, and the querynode's bounded wait keeps the read correct if not.
BOUNDED_TICK_GAP_S = 0.1

# How long a read waits out a loaded collection's shard without a serving leader
# (its querynode died and the shard moves to another one), retrying with backoff,
# before it answers the error. Milvus's proxy retries a read on such errors too.
SHARD_MOVE_WAIT_S = 10.0
_RETRY_FIRST_S, _RETRY_MAX_S = 0.05, 1.0


class TickNow(Protocol):
    def __call__(self, pchannels: Iterable[str], at_least: int = 0) -> None:
        """Make each channel carry a tick >= ``at_least`` now (the DML writer's ``tick``)."""


@dataclass(frozen=True)
class Consistency:
    level: ConsistencyLevel
    use_default: bool
    client_guarantee_ts: int
    # Iterators pin every page to the first page's snapshot: this is both the
    # guarantee and the MVCC timestamp when set.
    snapshot_ts: int = 0


@dataclass(frozen=True)
class ReadTimestamps:
    guarantee_ts: int  # wait until serve-time reaches this
    mvcc_ts: int  # read the data as of this; answered to clients as session_ts


@dataclass(frozen=True)
class SearchPlan:
    info: CollectionInfo
    partition_ids: tuple[int, ...]
    field: FieldSchema
    metric_type: str
    queries: np.ndarray
    topk: int
    offset: int
    round_decimal: int
    search_params: dict[str, Any]
    filter: str
    template_values: dict[str, Any]
    output_columns: tuple[str, ...]
    ignore_growing: bool
    window: vectors.ScoreWindow | None = None
    grouping: Grouping | None = None


class Reader:
    def __init__(
        self,
        coordinator: CoordinatorForProxy,
        querynodes: Mapping[int, QueryNodeClient],
        graceful_time_s: float,
        max_topk: int,
        tick_now: TickNow | None = None,
        shard_move_wait_s: float = SHARD_MOVE_WAIT_S,
    ) -> None:
        self._coordinator = coordinator
        self._shard_move_wait_s = shard_move_wait_s
        self._tick_now = tick_now
        self._querynodes = querynodes
        self._graceful_time_s = graceful_time_s
        self.max_topk = max_topk
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="proxy-fanout")
        self._filters = ParsedFilters()  # validation only; the querynodes parse (and cache) too
        self._ticks = KnownTicks()

    # --- checks shared by search and query

    def loaded_partitions(self, info: CollectionInfo, names: Sequence[str]) -> tuple[int, ...]:
        """Ids of the partitions to read; every one must exist and be loaded."""
        progress = self._coordinator.load_progress(info.collection_id)
        if progress.state == "NotLoad":
            raise errors.CollectionNotLoaded(f"collection={info.name}")
        loaded = set(progress.loaded_partitions)
        if not names:
            return tuple(sorted(loaded))
        ids = []
        for name in names:
            partition = info.partition(name)
            if partition is None:
                raise errors.PartitionNotFound(f"partition={name}")
            if partition.partition_id not in loaded:
                raise errors.PartitionNotLoaded(f"partition={name}")
            ids.append(partition.partition_id)
        return tuple(ids)

    def partitions_to_read(
        self,
        info: CollectionInfo,
        names: Sequence[str],
        filter_text: str,
        template_values: Mapping[str, Any],
    ) -> tuple[int, ...]:
        """The loaded partitions a read names, narrowed by its filter on a partition key
        (see :mod:`proxy.partition_key`); naming partitions there is refused."""
        partition_key.refuse_manual_partitions(info, names)
        ids = self.loaded_partitions(info, names)
        if info.partition_key is None or not filter_text.strip():
            return ids
        parsed = self._filters.parse(filter_text, info.schema, dict(template_values))
        return partition_key.pruned_partitions(info, ids, parsed)

    def read_timestamps(self, info: CollectionInfo, consistency: Consistency) -> ReadTimestamps:
        """When to read: the caller answers the MVCC timestamp as the session_ts."""
        if consistency.snapshot_ts:
            return ReadTimestamps(consistency.snapshot_ts, consistency.snapshot_ts)
        return ReadTimestamps(*self.guarantee_ts(info, consistency))

    def guarantee_ts(self, info: CollectionInfo, consistency: Consistency) -> tuple[int, int]:
        """(guarantee timestamp, MVCC timestamp) for a read at this consistency level."""
        level = info.consistency_level if consistency.use_default else consistency.level
        now = self._coordinator.alloc_timestamp()
        if level is ConsistencyLevel.STRONG:
            guarantee = now
        elif level is ConsistencyLevel.BOUNDED:
            guarantee = timestamps.ts_before(now, self._graceful_time_s)
        elif level in (ConsistencyLevel.SESSION, ConsistencyLevel.CUSTOMIZED):
            guarantee = max(consistency.client_guarantee_ts, timestamps.EVENTUALLY_TS)
        else:
            guarantee = timestamps.EVENTUALLY_TS
        if self._tick_now is not None and timestamps.EVENTUALLY_TS < guarantee <= now:
            # A tick at or above the guarantee lets serve-time pass it without
            # waiting for the next periodic tick. A guarantee from the future
            # cannot be helped: it waits, bounded, on the querynode.
            self._help_ticks(info.pchannels, guarantee, level is ConsistencyLevel.BOUNDED)
        return guarantee, now

    def _help_ticks(self, pchannels: Sequence[str], guarantee: int, bounded: bool) -> None:
        """Ask for a tick covering ``guarantee`` unless one is known to be out already.

        Only latency is at stake: the querynode waits for serve-time to pass the
        guarantee either way. A Bounded read on channels already seen ticking does
        not wait for the request (its guarantee lies the graceful time in the past,
        which the periodic ticks cover but for a stall); a Strong or Session read,
        or a first read, does.
        """
        if self._ticks.covers(pchannels, guarantee):
            return
        if bounded and self._ticks.seen(pchannels):
            if self._ticks.claim_background(pchannels, BOUNDED_TICK_GAP_S):
                self._pool.submit(self._tick_in_background, tuple(pchannels), guarantee)
            return
        self._request_tick(pchannels, guarantee)

    def _request_tick(self, pchannels: Sequence[str], guarantee: int) -> None:
        if self._tick_now is not None:
            self._tick_now(pchannels, at_least=guarantee)
            self._ticks.note(pchannels, guarantee)

    def _tick_in_background(self, pchannels: tuple[str, ...], guarantee: int) -> None:
        try:
            self._request_tick(pchannels, guarantee)
        except Exception:  # the read did not wait for it; the periodic ticks carry on
            log.warning("background tick request failed", exc_info=True)
        finally:
            self._ticks.release_background(pchannels)

    # --- search

    def search(
        self, plan: SearchPlan, consistency: Consistency, read_ts: ReadTimestamps | None = None
    ) -> SearchResult:
        if plan.filter:
            self._filters.parse(plan.filter, plan.info.schema, plan.template_values)
        read_ts = read_ts or self.read_timestamps(plan.info, consistency)
        guarantee, mvcc = read_ts.guarantee_ts, read_ts.mvcc_ts
        requests = [
            SearchRequest(
                collection_id=plan.info.collection_id,
                vchannel=vchannel,
                partition_ids=plan.partition_ids,
                anns_field=plan.field.name,
                metric_type=plan.metric_type,
                queries=plan.queries,
                limit=plan.topk + plan.offset,
                search_params=search_params_with(plan.search_params, plan.window, plan.grouping),
                filter=plan.filter,
                output_fields=plan.output_columns,
                mvcc_ts=mvcc,
                guarantee_ts=guarantee,
                template_values=plan.template_values,
                ignore_growing=plan.ignore_growing,
                schema_version=plan.info.schema.version,
                ttl_s=properties.ttl_seconds(plan.info.properties),
            )
            for vchannel in plan.info.vchannels
        ]
        parts = self._on_leaders(plan.info, "search", requests)
        larger = vectors.larger_is_better(plan.metric_type)
        merged = merge_search_results(parts, plan.topk + plan.offset, larger, plan.grouping)
        result = _drop_offset(merged, plan.offset)
        if plan.round_decimal >= 0:
            scores = np.round(result.scores.astype(np.float64), plan.round_decimal)
            result = SearchResult(
                result.nq, result.query_index, scores.astype(np.float32), result.pks, result.fields
            )
        return result

    # --- query

    def query(
        self,
        info: CollectionInfo,
        partition_ids: tuple[int, ...],
        filter_text: str,
        template_values: dict[str, Any],
        output_columns: tuple[str, ...],
        limit: int | None,
        offset: int,
        count_only: bool,
        consistency: Consistency,
        read_ts: ReadTimestamps | None = None,
        ignore_growing: bool = False,
    ) -> QueryResult:
        if filter_text:
            self._filters.parse(filter_text, info.schema, template_values)
        read_ts = read_ts or self.read_timestamps(info, consistency)
        guarantee, mvcc = read_ts.guarantee_ts, read_ts.mvcc_ts
        pk_name = info.schema.primary_field.name
        columns = output_columns if pk_name in output_columns else (pk_name, *output_columns)
        requests = [
            QueryRequest(
                collection_id=info.collection_id,
                vchannel=vchannel,
                partition_ids=partition_ids,
                filter=filter_text,
                output_fields=columns,
                mvcc_ts=mvcc,
                guarantee_ts=guarantee,
                limit=None if limit is None else limit + offset,
                count_only=count_only,
                template_values=template_values,
                schema_version=info.schema.version,
                ttl_s=properties.ttl_seconds(info.properties),
                ignore_growing=ignore_growing,
            )
            for vchannel in info.vchannels
        ]
        parts = self._on_leaders(info, "query", requests)
        if count_only:
            return QueryResult(rows=pa.table({}), count=sum(p.count for p in parts))
        # Shards may disagree on nullability (an empty answer vs rows of a segment).
        rows = pa.concat_tables([p.rows for p in parts], promote_options="default")
        rows = _newest_per_key(rows, pk_name)
        if offset or limit is not None:
            end = rows.num_rows if limit is None else offset + limit
            rows = rows.slice(offset, max(end - offset, 0))
        return QueryResult(rows=rows)

    # --- helpers

    def _on_leaders(
        self, info: CollectionInfo, method: str, requests: Sequence[SearchRequest | QueryRequest]
    ) -> list[Any]:
        """Send each shard's request to its leader, the querynode's ``method``.

        A shard of a loaded collection may be without a serving leader for a while:
        its querynode died, and until its session expires and the shard is loaded
        elsewhere the coordinator has no leader for it, or names one that no longer
        answers. Such a read is retried, at the same timestamps (so its answer is
        the one it would have had), until the shard is served again or
        ``shard_move_wait_s`` passed; a collection released meanwhile fails at once.
        """
        deadline = time.monotonic() + self._shard_move_wait_s
        pause = _RETRY_FIRST_S
        while True:
            try:
                leaders = self._coordinator.shard_leaders(info.collection_id)
                calls = [(getattr(self._node(leaders, r.vchannel), method), r) for r in requests]
                return self._fan_out(calls)
            except (errors.CollectionNotLoaded, errors.ServiceUnavailable) as exc:
                moving = self._coordinator.load_progress(info.collection_id).state != "NotLoad"
                if not moving or time.monotonic() + pause > deadline:
                    raise
                log.info(
                    "read waits for a shard leader",
                    extra={"collection": info.name, "rpc": method, "reason": exc.reason},
                )
                time.sleep(pause)
                pause = min(pause * 2, _RETRY_MAX_S)

    def _node(self, leaders: Mapping[str, int], vchannel: str) -> QueryNodeClient:
        node = self._querynodes.get(leaders[vchannel])
        if node is None:
            raise errors.ServiceUnavailable(f"the querynode serving {vchannel} is not reachable")
        return node

    def _fan_out(self, calls: list[tuple[Any, Any]]) -> list[Any]:
        if len(calls) == 1:
            fn, arg = calls[0]
            return [fn(arg)]
        futures = [self._pool.submit(fn, arg) for fn, arg in calls]
        return [f.result() for f in futures]


class KnownTicks:
    """The highest tick each physical channel is known to carry, from this proxy's
    own answered tick requests (each promises a tick >= its ``at_least``). Ticks
    only rise, so a known value stays true.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._known: dict[str, int] = {}
        self._background: dict[tuple[str, ...], float] = {}  # channels -> monotonic start
        self._in_flight: set[tuple[str, ...]] = set()

    def covers(self, pchannels: Sequence[str], guarantee: int) -> bool:
        with self._lock:
            return all(self._known.get(ch, 0) >= guarantee for ch in pchannels)

    def seen(self, pchannels: Sequence[str]) -> bool:
        """Every channel has had a tick request answered (its ticks are flowing)."""
        with self._lock:
            return all(ch in self._known for ch in pchannels)

    def note(self, pchannels: Sequence[str], at_least: int) -> None:
        with self._lock:
            for ch in pchannels:
                self._known[ch] = max(self._known.get(ch, 0), at_least)

    def claim_background(self, pchannels: Sequence[str], gap_s: float) -> bool:
        """True (and the caller must :meth:`release_background`) if no background
        request for these channels is in flight or started less than ``gap_s`` ago."""
        key = tuple(pchannels)
        now = time.monotonic()
        with self._lock:
            if key in self._in_flight or now - self._background.get(key, -gap_s) < gap_s:
                return False
            self._in_flight.add(key)
            self._background[key] = now
            return True

    def release_background(self, pchannels: Sequence[str]) -> None:
        with self._lock:
            self._in_flight.discard(tuple(pchannels))


def _drop_offset(result: SearchResult, offset: int) -> SearchResult:
    if offset == 0 or result.num_hits == 0:
        return result
    starts = np.searchsorted(result.query_index, result.query_index, side="left")
    keep = (np.arange(result.num_hits) - starts) >= offset
    rows = pa.array(np.flatnonzero(keep))
    return SearchResult(
        result.nq,
        result.query_index[keep],
        result.scores[keep],
        result.pks.take(rows),
        result.fields.take(rows),
    )


def _newest_per_key(rows: pa.Table, pk_name: str) -> pa.Table:
    """One row per primary key (the newest), ordered by primary key."""
    if rows.num_rows == 0:
        return rows
    order = pc.sort_indices(rows, sort_keys=[(pk_name, "ascending"), (TS_COLUMN, "descending")])
    rows = rows.take(order)
    keys = rows.column(pk_name).combine_chunks()
    if len(keys) > 1:
        first = np.ones(len(keys), dtype=bool)
        first[1:] = pc.not_equal(keys.slice(1), keys.slice(0, len(keys) - 1)).to_numpy(
            zero_copy_only=False
        )
        rows = rows.filter(pa.array(first))
    return rows
