"""Exact k-nearest-neighbour search in numpy, for growing segments and small data.

Growing segments change with every insert, so building a FAISS index for them
would cost a copy per search; a blocked matrix product over the rows that pass
the filter is exact and fast enough. Results use the same conventions as
:mod:`elanus.vectors.index`: rows sorted best first, offset -1 and the worst
possible distance (+inf, or -inf for similarities) where fewer than k rows
qualify.
"""

from __future__ import annotations

import numpy as np

from elanus.vectors.spec import COSINE, HAMMING, IP, JACCARD, L2, larger_is_better

# Bound on query-by-row matrix elements computed at once, to bound memory (~256 MB of float32).
_MAX_BLOCK_ELEMENTS = 1 << 26


def brute_force_search(
    vectors: np.ndarray,
    queries: np.ndarray,
    k: int,
    metric: str,
    valid: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-k of ``queries`` against ``vectors`` among the rows where ``valid`` is True.

    Float vectors are ``float32 (n, dim)``; binary vectors are ``uint8 (n, dim/8)``.
    Returns (distances float32 (nq, k), row offsets int64 (nq, k)).
    """
    if k < 1:
        raise ValueError(f"k must be positive, got {k}")
    candidates = np.arange(len(vectors), dtype=np.int64)
    if valid is not None:
        candidates = np.flatnonzero(np.asarray(valid, dtype=bool)[: len(vectors)])
    nq = len(queries)
    distances = np.full((nq, k), worst_distance(metric), dtype=np.float32)
    offsets = np.full((nq, k), -1, dtype=np.int64)
    if len(candidates) == 0 or nq == 0:
        return distances, offsets
    rows = vectors[candidates]
    prepared_rows = _prepare_rows(rows, metric)
    block = max(1, _MAX_BLOCK_ELEMENTS // len(candidates))
    for start in range(0, nq, block):
        stop = min(nq, start + block)
        scores = pairwise_distances(prepared_rows, queries[start:stop], metric, prepared=True)
        block_d, block_i = select_topk(scores, k, metric)
        if metric == L2:
            block_d, block_i = _exact_l2(prepared_rows, queries[start:stop], block_i)
        width = block_d.shape[1]
        distances[start:stop, :width] = block_d
        offsets[start:stop, :width] = candidates[block_i]
    return distances, offsets


def pairwise_distances(
    rows: np.ndarray, queries: np.ndarray, metric: str, prepared: bool = False
) -> np.ndarray:
    """Distances (nq, n) in Milvus's conventions: squared L2, IP, cosine, bit counts, Jaccard.

    ``prepared`` says the rows were already through :func:`_prepare_rows`
    (normalised for COSINE), so a caller searching many blocks does it once.
    """
    if not prepared:
        rows = _prepare_rows(rows, metric)
    if metric == L2:
        q = np.asarray(queries, dtype=np.float32)
        row_norms = np.einsum("ij,ij->i", rows, rows)
        query_norms = np.einsum("ij,ij->i", q, q)
        squared = query_norms[:, None] + row_norms[None, :] - 2.0 * (q @ rows.T)
        distances: np.ndarray = np.maximum(squared, 0.0, out=squared)
        return distances
    if metric == IP:
        products: np.ndarray = np.asarray(queries, dtype=np.float32) @ rows.T
        return products
    if metric == COSINE:
        cosines: np.ndarray = normalize_rows(np.asarray(queries, dtype=np.float32)) @ rows.T
        return cosines
    if metric in (HAMMING, JACCARD):
        return _binary_distances(rows, np.asarray(queries, dtype=np.uint8), metric)
    raise ValueError(f"unknown metric {metric!r}")


def select_topk(scores: np.ndarray, k: int, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """Best ``min(k, n)`` columns of each row of ``scores``, sorted best first, with column ids."""
    n = scores.shape[1]
    width = min(k, n)
    keyed = -scores if larger_is_better(metric) else scores
    if width < n:
        part = np.argpartition(keyed, width - 1, axis=1)[:, :width]
    else:
        part = np.broadcast_to(np.arange(n), scores.shape).copy()
    part_keys = np.take_along_axis(keyed, part, axis=1)
    order = np.argsort(part_keys, axis=1, kind="stable")
    ids = np.take_along_axis(part, order, axis=1)
    return np.take_along_axis(scores, ids, axis=1).astype(np.float32), ids


def _exact_l2(
    rows: np.ndarray, queries: np.ndarray, chosen: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Recompute the chosen candidates' squared L2 from differences and re-sort them.

    The matrix-product expansion ||q||^2 + ||x||^2 - 2 q.x that picks the candidates
    loses digits to cancellation (a row identical to its query comes out near 1e-6,
    not 0); deduplication by a distance threshold needs the exact value, and the
    differences of only k rows per query are cheap.
    """
    q = np.asarray(queries, dtype=np.float32)
    diff = rows[chosen] - q[:, None, :]
    exact = np.einsum("qkd,qkd->qk", diff, diff).astype(np.float32)
    order = np.argsort(exact, axis=1, kind="stable")
    return np.take_along_axis(exact, order, axis=1), np.take_along_axis(chosen, order, axis=1)


def worst_distance(metric: str) -> float:
    """The padding distance for missing results: it sorts after every real one."""
    return float("-inf") if larger_is_better(metric) else float("inf")


def normalize_rows(vectors: np.ndarray) -> np.ndarray:
    """Unit-length copies of float vectors; zero vectors stay zero (cosine 0 with anything)."""
    data = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(data, axis=1, keepdims=True)
    result: np.ndarray = np.divide(data, norms, out=np.zeros_like(data), where=norms > 0)
    return result


def _prepare_rows(rows: np.ndarray, metric: str) -> np.ndarray:
    if metric == COSINE:
        return normalize_rows(rows)
    if metric in (HAMMING, JACCARD):
        return np.asarray(rows, dtype=np.uint8)
    return np.asarray(rows, dtype=np.float32)


def _binary_distances(rows: np.ndarray, queries: np.ndarray, metric: str) -> np.ndarray:
    """Bit distances between packed codes, one query at a time to keep memory at O(n * bytes)."""
    out = np.empty((len(queries), len(rows)), dtype=np.float32)
    if metric == HAMMING:
        for i, query in enumerate(queries):
            out[i] = np.bitwise_count(rows ^ query).sum(axis=1, dtype=np.int64)
        return out
    row_bits = np.bitwise_count(rows).sum(axis=1, dtype=np.int64)
    for i, query in enumerate(queries):
        common = np.bitwise_count(rows & query).sum(axis=1, dtype=np.int64)
        union = row_bits + int(np.bitwise_count(query).sum()) - common
        # Two all-zero codes are identical: distance 0 rather than 0/0.
        similarity = np.divide(common, union, out=np.ones(len(rows)), where=union > 0)
        out[i] = 1.0 - similarity
    return out
