"""A segment in a querynode's memory: columns, vectors, visibility and indexes.

Visibility is two arrays per segment, both vectorised: ``row_ts`` (when each row
was inserted) and ``deleted_at`` (the earliest delete that hides it, as
elanus/deletes.py decides, or ALIVE). A row is visible at timestamp T when
``row_ts <= T < deleted_at`` and, in a collection with a TTL, it has not expired
at T (elanus/expiry.py decides).
Growing segments append; every reader works on a :class:`SegmentView`, an
immutable snapshot taken under the owner's lock, so appends never tear a search.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from elanus import expiry, expr, vectors
from elanus.columns import TS_COLUMN, conform, fill_missing, vectors_from_column
from elanus.deletes import ALIVE, Deletes, deleted_at, truncated_at
from elanus.requests import SearchRequest, SearchResult
from elanus.scalar_index import ScalarLookup
from elanus.schema import CollectionSchema
from elanus.vectors import VectorIndex

_FILTER_RESULT = "filter-result"  # filter_cache key prefix for whole-expression results


def table_schema(arrow: pa.Schema) -> pa.Schema:
    """The one schema every segment's table has in memory, growing or sealed.

    Files may differ in nullability (Parquet keeps it per column); segments of one
    shard must not, or their results cannot be concatenated.
    """
    return arrow.append(pa.field(TS_COLUMN, pa.uint64(), nullable=False))


@dataclass(frozen=True)
class SegmentView:
    segment_id: int
    partition_id: int
    table: pa.Table  # schema fields + _ts
    row_ts: np.ndarray
    deleted_at: np.ndarray
    vectors: dict[str, np.ndarray]
    indexes: dict[str, VectorIndex]
    filter_cache: dict[Any, Any]
    max_row_ts: int = 0  # the newest row's insert timestamp
    has_deletes: bool = True  # False only when no row was ever marked deleted
    min_row_ts: int = 0  # the oldest row's insert timestamp (0 when unknown or empty)
    # Scalar indexes by field (sealed segments only), answering the filter's simple leaves.
    scalar_indexes: Mapping[str, ScalarLookup] = field(default_factory=dict)

    @property
    def num_rows(self) -> int:
        return int(self.table.num_rows)

    def visible(self, mvcc_ts: int, ttl_s: int = 0) -> np.ndarray:
        """Rows inserted by ``mvcc_ts``, not deleted by then, and (with a TTL) not expired."""
        visible: np.ndarray = (self.row_ts <= np.uint64(mvcc_ts)) & (
            self.deleted_at > np.uint64(mvcc_ts)
        )
        if ttl_s > 0 and expiry.any_expired(self.min_row_ts, ttl_s, mvcc_ts):
            visible &= ~expiry.expired(self.row_ts, ttl_s, mvcc_ts)
        return visible

    def all_visible(self, mvcc_ts: int, ttl_s: int = 0) -> bool:
        """True when every row is visible at ``mvcc_ts``, known without touching the rows."""
        return (
            not self.has_deletes
            and self.max_row_ts <= mvcc_ts
            and not (ttl_s > 0 and expiry.any_expired(self.min_row_ts, ttl_s, mvcc_ts))
        )

    def search_mask(
        self, parsed: expr.Expr | None, mvcc_ts: int, ttl_s: int = 0
    ) -> np.ndarray | None:
        """:meth:`mask`, or None when every row qualifies (so FAISS skips its selector path).

        The array returned may be shared with the filter cache: read it, never change it.
        """
        if self.all_visible(mvcc_ts, ttl_s):
            return None if parsed is None else self.filter_result(parsed)
        return self.mask(parsed, mvcc_ts, ttl_s)

    def mask(self, parsed: expr.Expr | None, mvcc_ts: int, ttl_s: int = 0) -> np.ndarray:
        """Rows visible at ``mvcc_ts`` (MVCC, deletes and the TTL) that pass the filter.

        The filter's result depends on row values only, so it is cached with the
        segment's rows (dropped on append, kept across deletes); visibility is
        recomputed per request because it depends on the timestamp.
        """
        visible = self.visible(mvcc_ts, ttl_s)
        if parsed is None or not visible.any():
            return visible
        passing: np.ndarray = visible & self.filter_result(parsed)
        return passing

    def filter_result(self, parsed: expr.Expr) -> np.ndarray:
        key = (_FILTER_RESULT, parsed)
        try:
            cached = self.filter_cache.get(key)
        except TypeError:  # an unhashable literal: evaluate without caching the result
            return self._evaluate(parsed)
        if cached is None or len(cached) != self.num_rows:
            cached = self._evaluate(parsed)
            self.filter_cache[key] = cached
        return cached

    def _evaluate(self, parsed: expr.Expr) -> np.ndarray:
        if not self.scalar_indexes:
            return expr.evaluate(parsed, self.table, self.filter_cache)
        return expr.evaluate(parsed, self.table, self.filter_cache, indexes=self.scalar_indexes)


class GrowableArray:
    """A numpy array grown by doubling its capacity, so appends cost amortised O(rows added).

    :attr:`values` is a prefix view of the buffer. Rows added later land beyond
    every prefix handed out before, so a view taken earlier never changes.
    """

    def __init__(self, initial: np.ndarray) -> None:
        self._buffer = initial
        self._length = len(initial)

    @property
    def values(self) -> np.ndarray:
        return self._buffer[: self._length]

    def extend(self, rows: np.ndarray) -> None:
        end = self._length + len(rows)
        if end > len(self._buffer):
            capacity = max(end, 2 * len(self._buffer), 64)
            grown = np.empty((capacity, *self._buffer.shape[1:]), dtype=self._buffer.dtype)
            grown[: self._length] = self._buffer[: self._length]
            self._buffer = grown
        self._buffer[self._length : end] = rows
        self._length = end

    def copy(self) -> GrowableArray:
        """A private copy (capacity included), to change rows without touching old views."""
        twin = GrowableArray(self._buffer.copy())
        twin._length = self._length
        return twin


class Segment:
    """One segment's rows and visibility; mutated only under its delegator's lock.

    A growing segment's table is a short list of parts merged like a binary
    counter (a new part merges with the last while it is at least as large), so
    it has O(log n) chunks and every row is copied O(log n) times in all.
    """

    def __init__(
        self,
        segment_id: int,
        partition_id: int,
        schema: CollectionSchema,
        sealed: bool,
        table: pa.Table,
    ) -> None:
        self.segment_id = segment_id
        self.partition_id = partition_id
        self.schema = schema
        self.sealed = sealed
        self.table = table
        self._parts = [table] if table.num_rows else []
        row_ts = table.column(TS_COLUMN).to_numpy().astype(np.uint64, copy=False)
        self._row_ts = GrowableArray(row_ts)
        self._deleted_at = GrowableArray(np.full(table.num_rows, ALIVE, dtype=np.uint64))
        self._vectors = {
            f.name: GrowableArray(vectors_from_column(table.column(f.name), f))
            for f in schema.vector_fields
        }
        self.indexes: dict[str, vectors.VectorIndex] = {}
        self.scalar_indexes: dict[str, ScalarLookup] = {}
        self._view: SegmentView | None = None
        self._filter_cache: dict[Any, Any] = {}
        self._max_row_ts = int(row_ts.max()) if len(row_ts) else 0
        self.min_row_ts: int | None = int(row_ts.min()) if len(row_ts) else None
        self._has_deletes = False

    @classmethod
    def from_table(
        cls,
        segment_id: int,
        partition_id: int,
        schema: CollectionSchema,
        table: pa.Table,
        sealed: bool,
    ) -> Segment:
        return cls(segment_id, partition_id, schema, sealed, table)

    @classmethod
    def empty(
        cls, segment_id: int, partition_id: int, schema: CollectionSchema, arrow: pa.Schema
    ) -> Segment:
        table = table_schema(arrow).empty_table()
        return cls.from_table(segment_id, partition_id, schema, table, sealed=False)

    @property
    def num_rows(self) -> int:
        return int(self.table.num_rows)

    @property
    def row_ts(self) -> np.ndarray:
        return self._row_ts.values

    @property
    def deleted_at(self) -> np.ndarray:
        return self._deleted_at.values

    @deleted_at.setter
    def deleted_at(self, value: np.ndarray) -> None:
        """Take over another copy's deletes (handoff from growing to sealed)."""
        if len(value) != self.num_rows:
            raise ValueError(f"{len(value)} delete marks for {self.num_rows} rows")
        self._deleted_at = GrowableArray(np.array(value, dtype=np.uint64))
        self._has_deletes = bool((self.deleted_at != ALIVE).any())
        self._view = None

    @property
    def vectors(self) -> dict[str, np.ndarray]:
        return {name: column.values for name, column in self._vectors.items()}

    def append(self, rows: pa.Table, timestamp: int) -> None:
        """Add rows of one insert (growing segments only); the caller holds the lock."""
        count = rows.num_rows
        ts = np.full(count, timestamp, dtype=np.uint64)
        rows = rows.append_column(TS_COLUMN, pa.array(ts)).select(self.table.column_names)
        rows = rows.cast(self.table.schema)
        self._parts.append(rows)
        while len(self._parts) >= 2 and self._parts[-1].num_rows >= self._parts[-2].num_rows:
            last, before = self._parts.pop(), self._parts.pop()
            self._parts.append(pa.concat_tables([before, last]).combine_chunks())
        self.table = pa.concat_tables(self._parts)
        self._row_ts.extend(ts)
        self._max_row_ts = max(self._max_row_ts, timestamp)
        if count and (self.min_row_ts is None or timestamp < self.min_row_ts):
            self.min_row_ts = timestamp
        self._deleted_at.extend(np.full(count, ALIVE, dtype=np.uint64))
        for f in self.schema.vector_fields:
            self._vectors[f.name].extend(vectors_from_column(rows.column(f.name), f))
        self._invalidate()

    def adopt(self, schema: CollectionSchema, arrow: pa.Schema) -> None:
        """Take a newer schema of the collection (a field was added): the rows held get
        the new column, filled with its default value or null. The caller holds the lock;
        views taken before keep the old table."""
        missing = [f.name for f in schema.fields if f.name not in self.table.column_names]
        self.schema = schema
        if not missing:
            return
        layout = table_schema(arrow)
        self.table = conform(fill_missing(self.table, schema), layout)
        self._parts = [conform(fill_missing(part, schema), layout) for part in self._parts]
        self._invalidate()

    def apply_deletes(self, deletes: Deletes) -> int:
        """Mark the rows these delete records hide (elanus/deletes.py decides which);
        returns how many rows got an earlier mark. The caller holds the lock."""
        if self.num_rows == 0 or not len(deletes):
            return 0
        pk_column = self.table.column(self.schema.primary_field.name)
        return self._mark(deleted_at(pk_column, self.row_ts, self.partition_id, deletes))

    def apply_truncate(self, truncate_ts: int) -> int:
        """Mark the rows a truncate at ``truncate_ts`` hides (elanus/deletes.py decides
        which); returns how many got an earlier mark. The caller holds the lock."""
        if self.num_rows == 0 or truncate_ts == 0:
            return 0
        return self._mark(truncated_at(self.row_ts, truncate_ts))

    def _mark(self, marks: np.ndarray) -> int:
        """Keep each row's earliest hiding mark; returns how many rows got an earlier one."""
        earlier = marks < self.deleted_at
        if not earlier.any():
            return 0
        updated = self._deleted_at.copy()  # copy on write: views taken before keep theirs
        updated.values[earlier] = marks[earlier]
        self._deleted_at = updated
        self._has_deletes = True
        self._view = None  # the filter cache stays valid: the rows did not change
        return int(earlier.sum())

    def deletes_held(self) -> Deletes:
        """The marks of this segment as delete records (key, mark, this partition), so a
        copy of these rows elsewhere (a compaction's result) can take them over."""
        view = self.view()
        gone = view.deleted_at != ALIVE
        keys = view.table.column(self.schema.primary_field.name).combine_chunks()
        return Deletes(
            keys.filter(pa.array(gone)),
            view.deleted_at[gone],
            np.full(int(gone.sum()), self.partition_id, dtype=np.int64),
        )

    def set_index(self, field_name: str, index: VectorIndex) -> None:
        self.indexes[field_name] = index
        self._view = None

    def set_scalar_index(self, field_name: str, index: ScalarLookup) -> None:
        """A scalar index of a sealed segment; one of another length is never used."""
        if index.rows != self.num_rows:
            return
        self.scalar_indexes[field_name] = index
        self._view = None

    def view(self) -> SegmentView:
        if self._view is None:
            self._view = SegmentView(
                segment_id=self.segment_id,
                partition_id=self.partition_id,
                table=self.table,
                row_ts=self.row_ts,
                deleted_at=self.deleted_at,
                vectors=self.vectors,
                indexes=dict(self.indexes),
                filter_cache=self._filter_cache,
                max_row_ts=self._max_row_ts,
                has_deletes=self._has_deletes,
                min_row_ts=self.min_row_ts or 0,
                scalar_indexes=dict(self.scalar_indexes) if self.sealed else {},
            )
        return self._view

    def _invalidate(self) -> None:
        self._view = None
        self._filter_cache = {}


def search_view(
    view: SegmentView,
    request: SearchRequest,
    parsed: expr.Expr | None,
    pk_name: str,
    metric: str,
) -> SearchResult | None:
    """This segment's top hits for every query, or None when no row qualifies.

    A range search, an iterator page or a group-by needs more than the top
    ``limit`` candidates; those ask for more until they are satisfied.
    """
    if view.num_rows == 0:
        return None
    valid = view.search_mask(parsed, request.mvcc_ts, request.ttl_s)
    valid_count = view.num_rows if valid is None else int(np.count_nonzero(valid))
    if valid_count == 0:
        return None
    index = view.indexes.get(request.anns_field)
    if index is None or index.spec.metric_type != metric:
        index = None
    data = view.vectors[request.anns_field]

    def top(n: int) -> tuple[np.ndarray, np.ndarray]:
        if index is not None:
            params = _widened(request.search_params, n)
            return index.search(request.queries, n, params, valid, raw_vectors=data)
        return vectors.brute_force_search(data, request.queries, n, metric, valid)

    if request.window is None and request.grouping is None:
        if index is not None:
            # Checked against the user's limit before the segment's row count lowers it,
            # as knowhere checks ef >= k (widening below must not hide a bad value).
            vectors.validate_search_params(index.spec, request.limit, request.search_params)
        distances, offsets = top(min(request.limit, valid_count))
        found = offsets >= 0
    else:
        distances, offsets = vectors.probe_windowed(
            top, request.limit, valid_count, lambda d, o: _satisfied(view, request, d, o)
        )
        found = _admitted(request, distances, offsets)
    return _hits(view, request, pk_name, distances, offsets, found)


def _widened(params: dict[str, Any], k: int) -> dict[str, Any]:
    """Search params raised to serve ``k`` candidates (HNSW ef and SCANN reorder_k >= k)."""
    widened = dict(params)
    for name in ("ef", "reorder_k"):
        value = _as_int(widened.get(name))
        if value is not None and value < k:
            widened[name] = k
    return widened


def _as_int(raw: Any) -> int | None:
    """An integer or integer string; anything else is left for the index to refuse
    with Milvus's message (a float, a boolean or a null is a type conflict there)."""
    if isinstance(raw, bool | float) or raw is None:
        return None
    try:
        return int(raw)
    except (TypeError, ValueError):
        return None


def _admitted(request: SearchRequest, distances: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    found = offsets >= 0
    if request.window is not None:
        found &= request.window.admits(distances)
    return found


def _satisfied(
    view: SegmentView, request: SearchRequest, distances: np.ndarray, offsets: np.ndarray
) -> np.ndarray:
    """Per query: do these candidates hold every hit this segment can contribute?"""
    found = _admitted(request, distances, offsets)
    if request.window is not None:
        exhausted = request.window.past_far_end(distances[:, -1])
    else:
        exhausted = offsets[:, -1] < 0
    if request.grouping is None:
        done: np.ndarray = exhausted | (found.sum(axis=1) >= request.limit)
        return done
    grouping = request.grouping
    column = view.table.column(grouping.field)
    enough = np.zeros(len(offsets), dtype=bool)
    for query in range(len(offsets)):
        values = column.take(pa.array(offsets[query][found[query]])).to_pylist()
        counts: dict[Any, int] = {}  # insertion order ranks the groups by their best hit
        for value in values:
            counts[value] = counts.get(value, 0) + 1
        leading = list(counts.values())[: request.limit]
        enough[query] = len(leading) == request.limit and min(leading) >= grouping.group_size
    return exhausted | enough


def _hits(
    view: SegmentView,
    request: SearchRequest,
    pk_name: str,
    distances: np.ndarray,
    offsets: np.ndarray,
    found: np.ndarray,
) -> SearchResult:
    query_index = np.nonzero(found)[0].astype(np.int64)
    rows = pa.array(offsets[found])
    return SearchResult(
        nq=len(request.queries),
        query_index=query_index,
        scores=distances[found].astype(np.float32),
        pks=view.table.column(pk_name).take(rows).combine_chunks(),
        fields=view.table.select(list(request.output_fields)).take(rows),
    )
