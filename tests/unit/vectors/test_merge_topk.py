"""Merging sorted partial results across segments, with primary-key dedup."""

from __future__ import annotations

import numpy as np
import pytest

from elanus.vectors import count_hits, merge_topk

INF = np.inf


def test_distance_merge_keeps_best_of_duplicate_keys() -> None:
    segment_a = (np.array([[0.1, 0.5, 0.9]]), np.array([[7, 8, 9]]))
    segment_b = (np.array([[0.2, 0.3, INF]]), np.array([[8, 10, -1]]))
    distances, pks = merge_topk([segment_a, segment_b], 4, "L2")
    assert pks.tolist() == [[7, 8, 10, 9]]
    np.testing.assert_allclose(distances, [[0.1, 0.2, 0.3, 0.9]], rtol=1e-6)


def test_similarity_merge_sorts_descending_and_pads() -> None:
    segment_a = (np.array([[0.9, 0.1], [-INF, -INF]]), np.array([[1, 2], [-1, -1]]))
    segment_b = (np.array([[0.95, 0.9], [0.4, -INF]]), np.array([[3, 1], [5, -1]]))
    distances, pks = merge_topk([segment_a, segment_b], 4, "COSINE")
    assert pks.tolist() == [[3, 1, 2, -1], [5, -1, -1, -1]]
    assert distances[0, 3] == -INF
    assert count_hits(distances).tolist() == [3, 1]


def test_string_keys() -> None:
    part_a = (np.array([[1.0, 2.0]]), np.array([["x", "y"]], dtype=object))
    part_b = (np.array([[1.5, 3.0]]), np.array([["y", "z"]], dtype=object))
    distances, pks = merge_topk([part_a, part_b], 3, "HAMMING")
    assert pks.tolist() == [["x", "y", "z"]]
    assert distances.tolist() == [[1.0, 1.5, 3.0]]


def test_missing_entries_never_claim_a_key() -> None:
    # -1 is a legal primary key; a padded entry with key -1 must not shadow it.
    padded = (np.array([[INF]]), np.array([[-1]]))
    real = (np.array([[4.0]]), np.array([[-1]]))
    distances, pks = merge_topk([padded, real], 2, "L2")
    assert pks.tolist() == [[-1, -1]] and distances.tolist() == [[4.0, INF]]
    assert count_hits(distances).tolist() == [1]


def test_matches_a_reference_merge_on_random_parts() -> None:
    rng = np.random.default_rng(9)
    parts = []
    for _ in range(4):
        d = np.sort(rng.random((5, 6)), axis=1)
        parts.append((d, rng.integers(0, 15, (5, 6))))
    distances, pks = merge_topk(parts, 8, "L2")
    for q in range(5):
        best: dict[int, float] = {}
        for d, p in parts:
            for dist, key in zip(d[q], p[q], strict=True):
                best[int(key)] = min(best.get(int(key), INF), float(dist))
        expected = sorted(best.items(), key=lambda item: item[1])[:8]
        assert pks[q, : len(expected)].tolist() == [key for key, _ in expected]
        np.testing.assert_allclose(distances[q, : len(expected)], [v for _, v in expected])


def test_rejects_mismatched_parts() -> None:
    with pytest.raises(ValueError):
        merge_topk(
            [(np.zeros((2, 1)), np.zeros((2, 1))), (np.zeros((1, 1)), np.zeros((1, 1)))], 1, "L2"
        )
