"""Search and query requests between proxy and querynodes, and how partial results merge.

A partial search result is one flat, columnar batch of hits: ``query_index``,
``scores``, ``pks`` and the requested output ``fields``, all aligned. Merging is
the same at every layer (segment -> shard -> proxy): concatenate, sort each
query's hits best first, drop repeated primary keys, keep the top ``limit``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from elanus import expr
from elanus.schema import CollectionSchema
from elanus.vectors.window import ScoreWindow

WINDOW_PARAM = "_elanus_window"
GROUPING_PARAM = "_elanus_grouping"


@dataclass(frozen=True)
class Grouping:
    """Group-by search: at most ``group_size`` hits per value of ``field``.

    The search's limit counts groups. Groups are ranked by their best hit.
    ``strict`` drops groups that could not be filled to ``group_size``.
    """

    field: str
    group_size: int = 1
    strict: bool = False


@dataclass(frozen=True)
class SearchRequest:
    collection_id: int
    vchannel: str
    partition_ids: tuple[int, ...]  # empty: every loaded partition
    anns_field: str
    metric_type: str
    queries: np.ndarray  # (nq, dim) float32, or (nq, dim/8) uint8 for binary vectors
    limit: int  # top-k plus offset: the proxy applies the offset after the last merge
    search_params: dict[str, Any]
    filter: str
    output_fields: tuple[str, ...]
    mvcc_ts: int  # rows and deletes after this timestamp are invisible
    guarantee_ts: int  # wait until the shard's serve-time reaches this
    template_values: dict[str, Any] = field(default_factory=dict)
    ignore_growing: bool = False
    # The schema version the proxy planned with; a shard behind it catches up first.
    schema_version: int = 0
    # The collection's TTL when planned (elanus/expiry.py); 0: rows never expire.
    ttl_s: int = 0

    # A range window and a grouping travel inside ``search_params`` under these
    # keys (plain JSON values), so every transport that carries the params carries
    # them too; FAISS-level code ignores keys it does not know.
    @property
    def window(self) -> ScoreWindow | None:
        raw = self.search_params.get(WINDOW_PARAM)
        return ScoreWindow(**raw) if raw else None

    @property
    def grouping(self) -> Grouping | None:
        raw = self.search_params.get(GROUPING_PARAM)
        return Grouping(**raw) if raw else None


def search_params_with(
    params: dict[str, Any], window: ScoreWindow | None, grouping: Grouping | None
) -> dict[str, Any]:
    """``params`` plus the window and grouping of a search, as :class:`SearchRequest` reads them."""
    extended = {k: v for k, v in params.items() if k not in (WINDOW_PARAM, GROUPING_PARAM)}
    if window is not None:
        extended[WINDOW_PARAM] = asdict(window)
    if grouping is not None:
        extended[GROUPING_PARAM] = asdict(grouping)
    return extended


@dataclass(frozen=True)
class SearchResult:
    nq: int
    query_index: np.ndarray  # int64, per hit
    scores: np.ndarray  # float32, per hit
    pks: pa.Array
    fields: pa.Table  # output fields, one row per hit

    @classmethod
    def empty(cls, nq: int, pk_type: pa.DataType, fields: pa.Schema) -> SearchResult:
        return cls(
            nq=nq,
            query_index=np.empty(0, dtype=np.int64),
            scores=np.empty(0, dtype=np.float32),
            pks=pa.array([], type=pk_type),
            fields=fields.empty_table(),
        )

    @property
    def num_hits(self) -> int:
        return len(self.scores)


@dataclass(frozen=True)
class QueryRequest:
    collection_id: int
    vchannel: str
    partition_ids: tuple[int, ...]
    filter: str
    output_fields: tuple[str, ...]  # always includes the primary key
    mvcc_ts: int
    guarantee_ts: int
    limit: int | None = None  # offset + limit; None for all
    count_only: bool = False
    template_values: dict[str, Any] = field(default_factory=dict)
    schema_version: int = 0  # as in SearchRequest
    ttl_s: int = 0  # as in SearchRequest
    ignore_growing: bool = False  # serve only sealed segments, as the client asked


@dataclass(frozen=True)
class QueryResult:
    rows: pa.Table  # output fields plus the system column ``_ts``
    count: int = 0  # for count(*)


class ParsedFilters:
    """A small LRU of parsed filters, so a repeated filter is parsed once, not per request.

    Keyed by the schema object (by identity: a schema change brings a new object),
    the text and the template values; the parsed trees are immutable and shared.
    """

    def __init__(self, capacity: int = 256) -> None:
        self._capacity = capacity
        self._entries: OrderedDict[tuple[int, str, str], tuple[CollectionSchema, expr.Expr]] = (
            OrderedDict()
        )
        self._lock = threading.Lock()

    def parse(
        self, text: str, schema: CollectionSchema, template_values: Mapping[str, Any]
    ) -> expr.Expr:
        """``expr.parse(text, schema, template_values)``, from the cache when seen before."""
        key = (id(schema), text, repr(sorted(template_values.items())))
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[0] is schema:
                self._entries.move_to_end(key)
                return entry[1]
        parsed = expr.parse(text, schema, template_values)  # raises for a bad filter: not cached
        with self._lock:
            self._entries[key] = (schema, parsed)
            self._entries.move_to_end(key)
            while len(self._entries) > self._capacity:
                self._entries.popitem(last=False)
        return parsed


def merge_search_results(
    parts: Sequence[SearchResult],
    limit: int,
    larger_is_better: bool,
    grouping: Grouping | None = None,
) -> SearchResult:
    """Best ``limit`` hits per query across parts, each primary key at most once per query.

    With ``grouping``, ``limit`` counts groups instead (see :class:`Grouping`);
    each part must carry the group field among its ``fields``.
    """
    parts = [p for p in parts if p.num_hits] or list(parts[:1])
    if not parts:
        raise ValueError("merge_search_results needs at least one part")
    if parts[0].num_hits == 0:
        return parts[0]
    nq = parts[0].nq
    single = len(parts) == 1
    query_index = parts[0].query_index if single else np.concatenate([p.query_index for p in parts])
    scores = parts[0].scores if single else np.concatenate([p.scores for p in parts])
    pks = parts[0].pks if single else pa.concat_arrays([p.pks for p in parts])
    fields = parts[0].fields if single else pa.concat_tables([p.fields for p in parts])
    sort_scores = -scores if larger_is_better else scores
    # Stable order: by query, then score; ties keep the earlier part first. A single
    # segment's or shard's hits usually come in that order already: no sort, no take.
    presorted = _is_sorted(query_index, sort_scores)
    order = np.arange(len(scores)) if presorted else np.lexsort((sort_scores, query_index))
    if not presorted:
        query_index, scores = query_index[order], scores[order]
    pks_sorted = pks if presorted else pks.take(pa.array(order))
    keep = _first_of_each_key(query_index, pks_sorted)
    if grouping is None:
        keep &= _rank_within_group(query_index, keep) < limit
    else:
        group_column = fields.column(grouping.field)
        if not presorted:
            group_column = group_column.take(pa.array(order))
        keep &= _group_selection(query_index, group_column, keep, limit, grouping)
    if presorted and keep.all():
        return SearchResult(nq=nq, query_index=query_index, scores=scores, pks=pks, fields=fields)
    chosen = order[keep]
    return SearchResult(
        nq=nq,
        query_index=query_index[keep],
        scores=scores[keep],
        pks=pks.take(pa.array(chosen)),
        fields=fields.take(pa.array(chosen)),
    )


def _is_sorted(query_index: np.ndarray, sort_scores: np.ndarray) -> bool:
    """True when hits are ordered by query, then best score first (what the merge sorts to).

    NaN scores compare false either way, so they send the hits through the real sort.
    """
    if len(query_index) < 2:
        return not np.isnan(sort_scores).any()
    step = np.diff(query_index)
    if (step < 0).any() or np.isnan(sort_scores).any():
        return False
    return not ((step == 0) & (np.diff(sort_scores) < 0)).any()


def _first_of_each_key(query_index: np.ndarray, pks: pa.Array) -> np.ndarray:
    """True for the first (best) occurrence of each (query, pk) pair in sorted order.

    One stable sort by (query, key) puts repeats next to each other, earliest first.
    Integer keys sort as they are; others (strings, nulls) as dictionary codes.
    """
    keep = np.ones(len(pks), dtype=bool)
    if len(pks) < 2:
        return keep
    if isinstance(pks, pa.ChunkedArray):
        pks = pks.combine_chunks()
    if pa.types.is_integer(pks.type) and pks.null_count == 0:
        keys = pks.to_numpy()
    else:
        keys = pks.dictionary_encode().indices.fill_null(-1).to_numpy(zero_copy_only=False)
    order = np.lexsort((keys, query_index))
    ordered_queries, ordered_keys = query_index[order], keys[order]
    repeat = (ordered_queries[1:] == ordered_queries[:-1]) & (ordered_keys[1:] == ordered_keys[:-1])
    keep[order[1:][repeat]] = False
    return keep


def _rank_within_group(query_index: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """For each position, how many kept hits of the same query come before it."""
    kept = keep.astype(np.int64)
    running = np.cumsum(kept) - kept
    if len(query_index) == 0:
        return running
    starts = np.r_[0, np.flatnonzero(np.diff(query_index)) + 1]
    offset_per_group = running[starts]
    group_of = np.searchsorted(starts, np.arange(len(query_index)), side="right") - 1
    return running - offset_per_group[group_of]


def _group_selection(
    query_index: np.ndarray,
    groups: pa.ChunkedArray | pa.Array,
    candidates: np.ndarray,
    limit: int,
    grouping: Grouping,
) -> np.ndarray:
    """Hits (in best-first order per query) that a group-by search keeps.

    A candidate stays when it is among the first ``group_size`` of its
    (query, group) pair and its group is among the query's first ``limit``
    groups by best hit; with ``strict``, only groups with ``group_size`` hits.
    """
    if isinstance(groups, pa.ChunkedArray):
        groups = groups.combine_chunks()
    codes = groups.dictionary_encode().indices.fill_null(-1)
    codes = codes.to_numpy(zero_copy_only=False).astype(np.int64) + 1  # null is group 0
    positions = np.flatnonzero(candidates)
    keep = np.zeros(len(candidates), dtype=bool)
    if len(positions) == 0:
        return keep
    pair = query_index[positions] * (int(codes.max()) + 1) + codes[positions]
    # Rank of each hit within its (query, group) pair: positions are already best first.
    order = np.argsort(pair, kind="stable")
    sorted_pairs = pair[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_pairs)) + 1]
    run_start = np.repeat(starts, np.diff(np.r_[starts, len(order)]))
    rank_in_pair = np.empty(len(order), dtype=np.int64)
    rank_in_pair[order] = np.arange(len(order)) - run_start
    pair_id = np.searchsorted(sorted_pairs[starts], pair)
    pair_sizes = np.bincount(pair_id, minlength=len(starts))
    # A pair's first hit opens the group; count groups opened so far within the query.
    opens = rank_in_pair == 0
    opened_before = np.cumsum(opens) - opens
    query_of = query_index[positions]
    first_of_query = np.r_[0, np.flatnonzero(np.diff(query_of)) + 1]
    query_start = np.repeat(first_of_query, np.diff(np.r_[first_of_query, len(positions)]))
    opener = np.zeros(len(starts), dtype=np.int64)
    opener[pair_id[opens]] = (opened_before - opened_before[query_start])[opens]
    selected = (rank_in_pair < grouping.group_size) & (opener[pair_id] < limit)
    if grouping.strict:
        selected &= np.minimum(pair_sizes, grouping.group_size)[pair_id] >= grouping.group_size
    keep[positions[selected]] = True
    return keep
