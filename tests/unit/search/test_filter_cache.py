"""A segment evaluates a filter once per version of its rows, not once per search."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from elanus import expr
from elanus.columns import TS_COLUMN, arrow_schema, vector_column
from elanus.deletes import ALL_PARTITIONS, Deletes
from elanus.requests import SearchRequest
from elanus.schema import CollectionSchema, DataType, FieldSchema
from querynode.segment import Segment, search_view

DIM = 4
ROWS = 200
SCHEMA = CollectionSchema(
    "c",
    (
        FieldSchema("id", DataType.INT64, is_primary=True),
        FieldSchema("n", DataType.INT32),
        FieldSchema("vec", DataType.FLOAT_VECTOR, type_params={"dim": str(DIM)}),
    ),
)
VECTORS = np.random.default_rng(3).random((ROWS, DIM), dtype=np.float32)


def _table(start: int, count: int, ts: int) -> pa.Table:
    field = SCHEMA.field("vec")
    assert field is not None
    columns = {
        "id": pa.array(np.arange(start, start + count), pa.int64()),
        "n": pa.array(np.arange(start, start + count) % 10, pa.int32()),
        "vec": vector_column(VECTORS[start : start + count], field),
    }
    table = pa.Table.from_pydict(columns, schema=arrow_schema(SCHEMA))
    return table.append_column(TS_COLUMN, pa.array(np.full(count, ts, dtype=np.uint64)))


def _request(mvcc_ts: int) -> SearchRequest:
    return SearchRequest(
        collection_id=1,
        vchannel="v",
        partition_ids=(),
        anns_field="vec",
        metric_type="L2",
        queries=VECTORS[:2],
        limit=5,
        search_params={},
        filter="n < 3",
        output_fields=("n",),
        mvcc_ts=mvcc_ts,
        guarantee_ts=0,
    )


@pytest.fixture
def evaluations(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = expr.evaluate

    def counting(parsed: Any, table: pa.Table, cache: Any = None) -> np.ndarray:
        calls.append(table.num_rows)
        return real(parsed, table, cache)

    monkeypatch.setattr(expr, "evaluate", counting)  # querynode.segment calls expr.evaluate
    return calls


def test_sealed_segment_evaluates_a_filter_once(evaluations: list[int]) -> None:
    sealed = Segment.from_table(1, 1, SCHEMA, _table(0, ROWS, ts=10), sealed=True)
    parsed = expr.parse("n < 3", SCHEMA)
    for _ in range(3):
        result = search_view(sealed.view(), _request(100), parsed, "id", "L2")
        assert result is not None and all(v < 3 for v in result.fields.column("n").to_pylist())
    assert evaluations == [ROWS]
    # A delete changes visibility, not row values: the cached filter result still serves.
    deleted = search_view(sealed.view(), _request(100), parsed, "id", "L2")
    assert deleted is not None
    victim = deleted.pks.to_pylist()[0]
    sealed.apply_deletes(Deletes.of(pa.array([victim], pa.int64()), 50, ALL_PARTITIONS))
    after = search_view(sealed.view(), _request(100), parsed, "id", "L2")
    assert after is not None and victim not in after.pks.to_pylist()
    before = search_view(sealed.view(), _request(40), parsed, "id", "L2")
    assert before is not None and victim in before.pks.to_pylist()  # MVCC: not yet deleted
    assert evaluations == [ROWS]
    # Another expression is evaluated once on its own.
    other = expr.parse("n == 7", SCHEMA)
    search_view(sealed.view(), _request(100), other, "id", "L2")
    search_view(sealed.view(), _request(100), other, "id", "L2")
    assert evaluations == [ROWS, ROWS]


def test_growing_segment_re_evaluates_after_an_append(evaluations: list[int]) -> None:
    growing = Segment.empty(2, 1, SCHEMA, arrow_schema(SCHEMA))
    growing.append(_table(0, 100, ts=1).drop_columns([TS_COLUMN]), timestamp=10)
    parsed = expr.parse("n < 3", SCHEMA)
    search_view(growing.view(), _request(100), parsed, "id", "L2")
    search_view(growing.view(), _request(100), parsed, "id", "L2")
    assert evaluations == [100]
    growing.append(_table(100, 50, ts=1).drop_columns([TS_COLUMN]), timestamp=20)
    result = search_view(growing.view(), _request(100), parsed, "id", "L2")
    assert evaluations == [100, 150]
    assert result is not None and all(v < 3 for v in result.fields.column("n").to_pylist())
