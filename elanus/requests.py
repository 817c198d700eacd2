"""Search and query requests between proxy and querynodes, and how partial results merge.

A partial search result is one flat, columnar batch of hits: ``query_index``,
``scores``, ``pks`` and the requested output ``fields``, all aligned. Merging is
the same at every layer (segment -> shard -> proxy): concatenate, sort each
query's hits best first, drop repeated primary keys, keep the top ``limit``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa


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


@dataclass(frozen=True)
class QueryResult:
    rows: pa.Table  # output fields plus the system column ``_ts``
    count: int = 0  # for count(*)


def merge_search_results(
    parts: Sequence[SearchResult], limit: int, larger_is_better: bool
) -> SearchResult:
    """Best ``limit`` hits per query across parts, each primary key at most once per query."""
    parts = [p for p in parts if p.num_hits] or list(parts[:1])
    if not parts:
        raise ValueError("merge_search_results needs at least one part")
    if parts[0].num_hits == 0:
        return parts[0]
    nq = parts[0].nq
    query_index = np.concatenate([p.query_index for p in parts])
    scores = np.concatenate([p.scores for p in parts])
    pks = pa.concat_arrays([p.pks for p in parts])
    fields = pa.concat_tables([p.fields for p in parts])
    sort_scores = -scores if larger_is_better else scores
    # Stable order: by query, then score; ties keep the earlier part first.
    order = np.lexsort((sort_scores, query_index))
    query_index, scores = query_index[order], scores[order]
    pks_sorted = pks.take(pa.array(order))
    keep = _first_of_each_key(query_index, pks_sorted)
    keep &= _rank_within_group(query_index, keep) < limit
    chosen = order[keep]
    return SearchResult(
        nq=nq,
        query_index=query_index[keep],
        scores=scores[keep],
        pks=pks.take(pa.array(chosen)),
        fields=fields.take(pa.array(chosen)),
    )


def _first_of_each_key(query_index: np.ndarray, pks: pa.Array) -> np.ndarray:
    """True for the first (best) occurrence of each (query, pk) pair in sorted order."""
    keys = pks.to_numpy(zero_copy_only=False)
    seen: set[tuple[int, Any]] = set()
    keep = np.zeros(len(keys), dtype=bool)
    if len(keys) == len(set(zip(query_index.tolist(), keys.tolist(), strict=True))):
        keep[:] = True
        return keep
    for i, pair in enumerate(zip(query_index.tolist(), keys.tolist(), strict=True)):
        if pair not in seen:
            seen.add(pair)
            keep[i] = True
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
