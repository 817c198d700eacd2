"""The search path's shortcuts give the same answers as the long way round.

A sealed segment with every row visible searches without a mask; a filter
keeping few rows is answered from the raw vectors; one sorted part is not
re-merged; a filter is parsed once per (schema, text, template values).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from elanus import expr, vectors
from elanus.columns import TS_COLUMN, arrow_schema, vector_column
from elanus.deletes import ALL_PARTITIONS, Deletes
from elanus.errors import ExpressionError
from elanus.requests import ParsedFilters, SearchRequest, SearchResult, merge_search_results
from elanus.schema import CollectionSchema, DataType, FieldSchema
from querynode.segment import Segment, search_view

DIM = 8
ROWS = 2000
SCHEMA = CollectionSchema(
    "c",
    (
        FieldSchema("id", DataType.INT64, is_primary=True),
        FieldSchema("n", DataType.INT32),
        FieldSchema("vec", DataType.FLOAT_VECTOR, type_params={"dim": str(DIM)}),
    ),
)
VECTORS = np.random.default_rng(5).random((ROWS, DIM), dtype=np.float32)
QUERIES = np.random.default_rng(6).random((3, DIM), dtype=np.float32)


def _sealed(ts: int = 10) -> Segment:
    field = SCHEMA.field("vec")
    assert field is not None
    columns = {
        "id": pa.array(np.arange(ROWS), pa.int64()),
        "n": pa.array(np.arange(ROWS) % 100, pa.int32()),
        "vec": vector_column(VECTORS, field),
    }
    table = pa.Table.from_pydict(columns, schema=arrow_schema(SCHEMA))
    table = table.append_column(TS_COLUMN, pa.array(np.full(ROWS, ts, dtype=np.uint64)))
    return Segment.from_table(1, 1, SCHEMA, table, sealed=True)


def _request(mvcc_ts: int, filter_text: str = "", metric: str = "L2") -> SearchRequest:
    return SearchRequest(
        collection_id=1,
        vchannel="v",
        partition_ids=(),
        anns_field="vec",
        metric_type=metric,
        queries=QUERIES,
        limit=10,
        search_params={"ef": 16, "nprobe": 2},
        filter=filter_text,
        output_fields=(),
        mvcc_ts=mvcc_ts,
        guarantee_ts=0,
    )


class _SpyIndex:
    """Wraps an index and records the mask each search was given."""

    def __init__(self, inner: vectors.VectorIndex) -> None:
        self.inner = inner
        self.spec = inner.spec
        self.masks: list[np.ndarray | None] = []

    def search(self, *args: Any, **kwargs: Any) -> tuple[np.ndarray, np.ndarray]:
        self.masks.append(args[3] if len(args) > 3 else kwargs.get("valid"))
        return self.inner.search(*args, **kwargs)


def _flat(metric: str = "L2") -> vectors.VectorIndex:
    return vectors.build_index(vectors.IndexSpec("FLAT", metric, {}), VECTORS, DIM)


def test_all_visible_segment_searches_without_a_mask() -> None:
    seg = _sealed(ts=10)
    spy = _SpyIndex(_flat())
    seg.set_index("vec", spy)  # type: ignore[arg-type]
    search_view(seg.view(), _request(mvcc_ts=10), None, "id", "L2")
    assert spy.masks == [None]


def test_rows_after_the_timestamp_or_deleted_still_get_a_mask() -> None:
    seg = _sealed(ts=10)
    spy = _SpyIndex(_flat())
    seg.set_index("vec", spy)  # type: ignore[arg-type]
    assert search_view(seg.view(), _request(mvcc_ts=9), None, "id", "L2") is None
    seg.apply_deletes(Deletes.of(pa.array([0, 1], pa.int64()), 11, ALL_PARTITIONS))
    search_view(seg.view(), _request(mvcc_ts=10), None, "id", "L2")
    search_view(seg.view(), _request(mvcc_ts=12), None, "id", "L2")
    before, after = spy.masks
    assert before is not None and before.all()
    assert after is not None and not after[:2].any() and after[2:].all()


@pytest.mark.parametrize(
    ("index_type", "params", "metric"),
    [("HNSW", {"M": 8, "efConstruction": 32}, "L2"), ("IVF_FLAT", {"nlist": 8}, "COSINE")],
)
def test_selective_filter_answers_from_raw_vectors_exactly(
    index_type: str, params: dict[str, Any], metric: str
) -> None:
    index = vectors.build_index(vectors.IndexSpec(index_type, metric, params), VECTORS, DIM)
    valid = (np.arange(ROWS) % 100) == 7  # 1% of the rows
    from_raw = index.search(QUERIES, 10, {"ef": 16, "nprobe": 2}, valid, raw_vectors=VECTORS)
    own = index.search(QUERIES, 10, {"ef": 16, "nprobe": 2}, valid)
    truth = vectors.brute_force_search(VECTORS, QUERIES, 10, metric, valid)
    np.testing.assert_array_equal(from_raw[1], truth[1])
    np.testing.assert_array_equal(from_raw[1], own[1])
    np.testing.assert_allclose(from_raw[0], own[0], rtol=1e-5, atol=1e-5)


def test_quantized_index_keeps_its_own_exact_path() -> None:
    spec = vectors.IndexSpec("IVF_SQ8", "L2", {"nlist": 8})
    index = vectors.build_index(spec, VECTORS, DIM)
    assert not index.exact_from_raw
    valid = (np.arange(ROWS) % 100) == 7
    with_raw = index.search(QUERIES, 10, {"nprobe": 2}, valid, raw_vectors=VECTORS)
    without = index.search(QUERIES, 10, {"nprobe": 2}, valid)
    np.testing.assert_array_equal(with_raw[0], without[0])


def _part(query_index: list[int], scores: list[float], pks: list[int]) -> SearchResult:
    return SearchResult(
        nq=2,
        query_index=np.array(query_index, dtype=np.int64),
        scores=np.array(scores, dtype=np.float32),
        pks=pa.array(pks, pa.int64()),
        fields=pa.table({"f": pa.array(pks, pa.int64())}),
    )


def test_sorted_unique_single_part_is_returned_as_is() -> None:
    part = _part([0, 0, 1], [0.1, 0.2, 0.3], [5, 6, 5])
    merged = merge_search_results([part], limit=2, larger_is_better=False)
    assert merged.pks is part.pks and merged.fields is part.fields


def test_single_part_with_repeated_keys_or_over_limit_is_still_merged() -> None:
    part = _part([0, 0, 0, 1], [0.1, 0.2, 0.3, 0.3], [5, 5, 6, 5])
    merged = merge_search_results([part], limit=1, larger_is_better=False)
    assert merged.query_index.tolist() == [0, 1]
    assert merged.pks.to_pylist() == [5, 5]
    unsorted = _part([1, 0], [0.3, 0.1], [8, 9])
    merged = merge_search_results([unsorted], limit=5, larger_is_better=False)
    assert merged.query_index.tolist() == [0, 1] and merged.pks.to_pylist() == [9, 8]


def test_parsed_filters_are_reused_per_schema_text_and_values(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []
    real = expr.parse

    def counting(text: str, schema: CollectionSchema, values: Any = None) -> expr.Expr:
        calls.append(text)
        return real(text, schema, values)

    monkeypatch.setattr("elanus.requests.expr.parse", counting)
    cache = ParsedFilters(capacity=2)
    first = cache.parse("n < {x}", SCHEMA, {"x": 3})
    assert cache.parse("n < {x}", SCHEMA, {"x": 3}) is first
    assert cache.parse("n < {x}", SCHEMA, {"x": 4}) != first
    other_schema = CollectionSchema("c", SCHEMA.fields)
    cache.parse("n < {x}", other_schema, {"x": 3})
    assert len(calls) == 3
    with pytest.raises(ExpressionError):
        cache.parse("n <", SCHEMA, {})
