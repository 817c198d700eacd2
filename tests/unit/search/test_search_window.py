"""Score windows (range search, iterator bounds), probing and group-by selection."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from elanus.requests import (
    Grouping,
    SearchRequest,
    SearchResult,
    merge_search_results,
    search_params_with,
)
from elanus.vectors import ScoreWindow, brute_force_search, check_range_params, probe_windowed


def test_window_semantics_per_metric() -> None:
    distances = np.array([0.5, 1.0, 1.5, 2.0, np.inf])
    l2 = ScoreWindow("L2", radius=2.0, range_filter=1.0)
    assert l2.admits(distances).tolist() == [False, True, True, False, False]
    similarities = np.array([0.9, 0.8, 0.5, 0.2, -np.inf])
    ip = ScoreWindow("IP", radius=0.2, range_filter=0.8)
    assert ip.admits(similarities).tolist() == [False, True, True, False, False]
    after = ScoreWindow("COSINE", after=0.8)
    assert after.admits(similarities).tolist() == [False, False, True, True, False]
    assert l2.past_far_end(np.array([1.9, 2.0])).tolist() == [False, True]


def test_range_params_must_be_on_the_near_side() -> None:
    check_range_params("L2", 2.0, 1.0)
    check_range_params("IP", 0.1, 0.9)
    with pytest.raises(ValueError, match="less than radius"):
        check_range_params("HAMMING", 2.0, 3.0)
    with pytest.raises(ValueError, match="greater than radius"):
        check_range_params("COSINE", 0.5, 0.4)


def test_probing_widens_until_the_window_is_filled() -> None:
    rng = np.random.default_rng(5)
    data = rng.random((500, 4), dtype=np.float32)
    query = data[:1]
    exact, order = brute_force_search(data, query, 500, "L2")
    window = ScoreWindow("L2", radius=float(exact[0, 60]), range_filter=float(exact[0, 40]))
    asked: list[int] = []

    def search(n: int) -> tuple[np.ndarray, np.ndarray]:
        asked.append(n)
        return brute_force_search(data, query, n, "L2")

    def satisfied(d: np.ndarray, o: np.ndarray) -> np.ndarray:
        return (window.admits(d).sum(axis=1) >= 10) | window.past_far_end(d[:, -1])

    distances, offsets = probe_windowed(search, 10, 500, satisfied)
    kept = offsets[0][window.admits(distances)[0]][:10]
    assert kept.tolist() == order[0, 40:50].tolist()
    assert asked == [10, 20, 40, 80]


def test_group_by_merge_keeps_best_groups_across_parts() -> None:
    def part(pks: list[int], scores: list[float], groups: list[str | None]) -> SearchResult:
        return SearchResult(
            nq=1,
            query_index=np.zeros(len(pks), dtype=np.int64),
            scores=np.array(scores, dtype=np.float32),
            pks=pa.array(pks, pa.int64()),
            fields=pa.table({"g": pa.array(groups, pa.string())}),
        )

    one = part([1, 2, 3], [0.1, 0.2, 0.6], ["a", "b", "a"])
    two = part([4, 5, 6], [0.15, 0.3, 0.4], ["a", "c", None])
    merged = merge_search_results([one, two], 3, False, Grouping("g", group_size=2))
    assert merged.pks.to_pylist() == [1, 4, 2, 5]  # groups a, b, c; a has two hits
    strict = merge_search_results([one, two], 3, False, Grouping("g", 2, strict=True))
    assert strict.pks.to_pylist() == [1, 4]
    nulls = merge_search_results([two], 3, False, Grouping("g"))
    assert nulls.pks.to_pylist() == [4, 5, 6]  # null is a group of its own


def test_window_and_grouping_travel_in_search_params() -> None:
    window = ScoreWindow("L2", radius=3.0, after=1.0)
    params = search_params_with({"nprobe": 4}, window, Grouping("g", 2))
    request = SearchRequest(
        collection_id=1,
        vchannel="v",
        partition_ids=(),
        anns_field="vec",
        metric_type="L2",
        queries=np.zeros((1, 2), dtype=np.float32),
        limit=3,
        search_params=params,
        filter="",
        output_fields=(),
        mvcc_ts=1,
        guarantee_ts=1,
    )
    assert request.window == window
    assert request.grouping == Grouping("g", 2)
    assert params["nprobe"] == 4
