"""Exact L2 in the growing-segment search: identical vectors are at distance 0."""

from __future__ import annotations

import numpy as np

from elanus.vectors import brute_force_search


def test_a_row_identical_to_its_query_is_at_distance_exactly_zero() -> None:
    rng = np.random.default_rng(21)
    # Large norms make the ||q||^2 + ||x||^2 - 2 q.x expansion lose digits to cancellation.
    vectors = (rng.normal(size=(1000, 64)) * 30 + 100).astype(np.float32)
    probes = [0, 1, 500, 998, 999]
    distances, offsets = brute_force_search(vectors, vectors[probes], 3, "L2")
    assert offsets[:, 0].tolist() == probes
    assert (distances[:, 0] == 0.0).all()
    assert (distances[:, 1] > 0.0).all()


def test_l2_distances_equal_the_sum_of_squared_differences() -> None:
    rng = np.random.default_rng(5)
    vectors = rng.normal(size=(300, 16)).astype(np.float32)
    queries = rng.normal(size=(7, 16)).astype(np.float32)
    distances, offsets = brute_force_search(vectors, queries, 10, "L2")
    reference = ((queries[:, None, :] - vectors[None, :, :]) ** 2).sum(axis=2)
    expected = np.sort(reference, axis=1)[:, :10]
    np.testing.assert_allclose(distances, expected, rtol=1e-5)
    chosen = np.take_along_axis(reference, offsets, axis=1)
    np.testing.assert_allclose(chosen, distances, rtol=1e-5)
    assert (np.diff(distances, axis=1) >= 0).all()
