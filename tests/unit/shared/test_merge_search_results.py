"""merge_search_results against a brute-force reference: best hits, unique keys, aligned fields."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from elanus.requests import SearchResult, merge_search_results

Hit = tuple[int, float, int]  # (query, score, pk)


def _part(nq: int, hits: Sequence[Hit], pk_type: pa.DataType) -> SearchResult:
    query_index = np.array([h[0] for h in hits], dtype=np.int64)
    scores = np.array([h[1] for h in hits], dtype=np.float32)
    pks = [h[2] if pa.types.is_integer(pk_type) else f"k{h[2]}" for h in hits]
    return SearchResult(
        nq=nq,
        query_index=query_index,
        scores=scores,
        pks=pa.array(pks, type=pk_type),
        # A field derived from (query, pk, score), so misalignment shows.
        fields=pa.table(
            {
                "echo": pa.array(
                    [
                        f"{q}/{p}/{s:.6g}"
                        for q, p, s in zip(query_index.tolist(), pks, scores.tolist(), strict=True)
                    ]
                )
            }
        ),
    )


def _reference(
    nq: int, parts: Sequence[Sequence[Hit]], limit: int, larger: bool
) -> list[list[float]]:
    """Per query, the scores of the best ``limit`` distinct keys (each key at its best score)."""
    best: list[dict[int, float]] = [{} for _ in range(nq)]
    for hits in parts:
        for q, score, pk in hits:
            s = float(np.float32(score))
            current = best[q].get(pk)
            if current is None or (s > current if larger else s < current):
                best[q][pk] = s
    return [sorted(b.values(), reverse=larger)[:limit] for b in best]


hits_strategy = st.lists(
    st.tuples(
        st.integers(0, 3),
        st.floats(-100, 100, allow_nan=False, width=32),
        st.integers(0, 12),
    ),
    max_size=25,
)


@settings(max_examples=150, deadline=None)
@given(
    parts=st.lists(hits_strategy, min_size=1, max_size=4),
    limit=st.integers(1, 8),
    larger=st.booleans(),
    string_keys=st.booleans(),
)
def test_merge_matches_brute_force(
    parts: list[list[Hit]], limit: int, larger: bool, string_keys: bool
) -> None:
    nq = 4
    pk_type = pa.string() if string_keys else pa.int64()
    merged = merge_search_results([_part(nq, p, pk_type) for p in parts], limit, larger)
    expected = _reference(nq, parts, limit, larger)

    assert merged.nq == nq
    assert len(merged.query_index) == len(merged.scores) == len(merged.pks)
    assert merged.fields.num_rows == len(merged.pks)
    assert np.all(np.diff(merged.query_index) >= 0), "hits grouped by query, in query order"
    pks = merged.pks.to_pylist()
    echo = merged.fields.column("echo").to_pylist()
    for q in range(nq):
        mine = merged.query_index == q
        scores = merged.scores[mine].tolist()
        keys = [k for k, m in zip(pks, mine, strict=True) if m]
        assert len(keys) == len(set(keys)), f"duplicate key for query {q}"
        assert scores == pytest.approx(expected[q]), f"query {q}"
        for key, score, text in zip(
            keys, scores, [e for e, m in zip(echo, mine, strict=True) if m], strict=True
        ):
            assert text == f"{q}/{key}/{score:.6g}", "fields not aligned with hits"


def test_single_part_with_a_repeated_key_is_deduplicated() -> None:
    """One growing segment may hold a key twice; the merge must still drop the repeat."""
    part = _part(1, [(0, 0.5, 7), (0, 0.1, 7), (0, 0.9, 8)], pa.int64())
    merged = merge_search_results([part], limit=5, larger_is_better=False)
    assert merged.pks.to_pylist() == [7, 8]
    assert merged.scores.tolist() == pytest.approx([0.1, 0.9])


def test_single_unsorted_part_is_sorted() -> None:
    part = _part(2, [(1, 3.0, 1), (0, 1.0, 2), (0, 2.0, 3)], pa.int64())
    merged = merge_search_results([part], limit=5, larger_is_better=True)
    assert merged.query_index.tolist() == [0, 0, 1]
    assert merged.scores.tolist() == [2.0, 1.0, 3.0]


def test_empty_parts_merge_to_empty() -> None:
    empty = SearchResult.empty(3, pa.int64(), pa.schema([pa.field("echo", pa.string())]))
    merged = merge_search_results([empty, empty], limit=4, larger_is_better=False)
    assert merged.num_hits == 0 and merged.nq == 3
    with pytest.raises(ValueError):
        merge_search_results([], limit=1, larger_is_better=False)
