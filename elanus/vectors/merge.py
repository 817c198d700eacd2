"""Merging per-segment top-k results, as the querynode and the proxy both do.

The same primary key can come back from several segments (an upsert's old and
new rows, or a segment loaded on two replicas). Milvus keeps the best hit of
each key, so the merge deduplicates by primary key after sorting.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from elanus.vectors.brute_force import worst_distance
from elanus.vectors.spec import larger_is_better


def merge_topk(
    parts: Sequence[tuple[np.ndarray, np.ndarray]], k: int, metric: str
) -> tuple[np.ndarray, np.ndarray]:
    """Merge per-query partial results into the best ``k`` per query with distinct keys.

    Each part is (distances (nq, k_i), pks (nq, k_i)); an entry whose distance
    is not finite is a missing result and is skipped, whatever its key.
    Returns (distances float32 (nq, k), pks (nq, k)) best first, padded with
    the worst distance (+inf, or -inf for IP/COSINE) and key -1 (int keys) or
    "" (string keys). Use :func:`count_hits` for each query's result count.
    """
    if k < 1:
        raise ValueError(f"k must be positive, got {k}")
    if not parts:
        raise ValueError("merge_topk needs at least one part")
    nq = len(parts[0][0])
    if any(len(d) != nq or len(p) != nq for d, p in parts):
        raise ValueError("every part must have the same number of queries")
    all_distances = np.concatenate([np.asarray(d, dtype=np.float32) for d, _ in parts], axis=1)
    all_pks = np.concatenate([np.asarray(p) for _, p in parts], axis=1)
    string_keys = all_pks.dtype.kind in "OUS"
    out_distances = np.full((nq, k), worst_distance(metric), dtype=np.float32)
    out_pks = np.full((nq, k), "" if string_keys else -1, dtype=object if string_keys else np.int64)
    descending = larger_is_better(metric)
    for q in range(nq):
        distances, pks = _best_distinct(all_distances[q], all_pks[q], k, descending)
        out_distances[q, : len(distances)] = distances
        out_pks[q, : len(pks)] = pks
    return out_distances, out_pks


def count_hits(distances: np.ndarray) -> np.ndarray:
    """Results per query (Milvus's ``topks``): the finite entries of each row."""
    result: np.ndarray = np.isfinite(distances).sum(axis=1).astype(np.int64)
    return result


def _best_distinct(
    distances: np.ndarray, pks: np.ndarray, k: int, descending: bool
) -> tuple[np.ndarray, np.ndarray]:
    present = np.flatnonzero(np.isfinite(distances))
    # Stable sort: among equal distances, earlier parts win, so results are reproducible.
    keys = -distances[present] if descending else distances[present]
    ranked = present[np.argsort(keys, kind="stable")]
    # np.unique's first-occurrence index over the ranked keys is each key's best hit.
    _, first = np.unique(pks[ranked], return_index=True)
    kept = ranked[np.sort(first)[:k]]
    return distances[kept], pks[kept]
