"""Evaluation details the random table does not pin down: nulls, JSON typing,
ARRAY columns, caching, edge sizes and speed."""

from __future__ import annotations

import json
import time

import numpy as np
import pyarrow as pa
import pytest

from elanus.expr import evaluate, parse
from elanus.schema import CollectionSchema, DataType, FieldSchema

SCHEMA = CollectionSchema(
    name="small",
    enable_dynamic_field=True,
    fields=(
        FieldSchema("id", DataType.INT64, is_primary=True),
        FieldSchema("a", DataType.INT64, nullable=True),
        FieldSchema("s", DataType.VARCHAR, nullable=True),
        FieldSchema("j", DataType.JSON, nullable=True),
        FieldSchema("tags", DataType.ARRAY, type_params={"max_capacity": "8"}),
    ),
)


def small_table() -> pa.Table:
    docs = [{"x": 1}, {"x": "1"}, {"x": True}, {"x": None}, {}, None]
    return pa.table(
        {
            "id": pa.array(range(6), pa.int64()),
            "a": pa.array([1, None, 3, None, 5, 6], pa.int64()),
            "s": pa.array(["a", None, "b", "ab", None, ""], pa.string()),
            "j": pa.array([None if d is None else json.dumps(d) for d in docs], pa.string()),
            "tags": pa.array([[1, 2], [], [3], [2, 2], None, [5]], pa.list_(pa.int64())),
            "$meta": pa.array(['{"k": 1}', "{}", '{"k": [1]}', None, '{"k": 2.0}', "{}"]),
        }
    )


def matches(text: str, table: pa.Table | None = None) -> list[int]:
    table = small_table() if table is None else table
    mask = evaluate(parse(text, SCHEMA), table)
    return [int(i) for i in np.flatnonzero(mask)]


@pytest.mark.parametrize(
    ("text", "rows"),
    [
        ("a > 2", [2, 4, 5]),
        ("a <= 2", [0]),
        ("not (a > 2)", [0]),  # null rows match neither a comparison nor its negation
        ("a != 3", [0, 4, 5]),
        ("a in [1, 2]", [0]),
        ("a not in [1, 2]", [2, 4, 5]),
        ("a is null", [1, 3]),
        ("a is not null", [0, 2, 4, 5]),
        ("not (a is null)", [0, 2, 4, 5]),
        ("a > 2 or a is null", [1, 2, 3, 4, 5]),
        ("s like 'a%'", [0, 3]),
        ("not (s like 'a%')", [2, 5]),
        ("s is null and a is null", [1]),
        # Milvus's validity rule: a row is valid for `not` if any operand of or/and was
        ("not (a > 2 or s == 'a')", [3]),
        ("not (a > 100 and s == 'zz')", [0, 2, 3, 4, 5]),
    ],
)
def test_null_semantics(text: str, rows: list[int]) -> None:
    assert matches(text) == rows


@pytest.mark.parametrize(
    ("text", "rows"),
    [
        ("j['x'] == 1", [0]),  # neither the string "1" nor true equals 1
        ("j['x'] == '1'", [1]),
        ("j['x'] == true", [2]),
        ("j['x'] != 1", []),  # rows of another type take no part
        ("j['x'] in [1, '1']", [0, 1]),
        ("not (j['x'] == 1)", [1, 2, 3, 4]),  # the null JSON row stays out
        ("j['x'] is null", [3, 4, 5]),  # JSON null, missing key, null row
        ("j['x'] is not null", [0, 1, 2]),
        ("exists j['x']", [0, 1, 2, 3]),
        ("j is null", [5]),
        ("k == 1", [0]),
        ("k == 2", [4]),  # the JSON 2.0 equals the integer 2
        ("k > 0.5", [0, 4]),
        ("json_contains(k, 1)", [2]),
        ("exists k", [0, 2, 4]),
    ],
)
def test_json_values_compare_by_type(text: str, rows: list[int]) -> None:
    assert matches(text) == rows


@pytest.mark.parametrize(
    ("text", "rows"),
    [
        ("array_contains(tags, 2)", [0, 3]),
        ("array_contains_all(tags, [1, 2])", [0]),
        ("array_contains_any(tags, [3, 5])", [2, 5]),
        ("array_length(tags) == 1", [2, 5]),
        ("array_length(tags) > 0", [0, 2, 3, 5]),
        ("tags[0] == 2", [3]),
        ("tags is null", [4]),
    ],
)
def test_array_fields(text: str, rows: list[int]) -> None:
    assert matches(text) == rows


def test_integer_arithmetic_edges() -> None:
    table = pa.table({"id": pa.array([-7, -6, 0, 6, 7], pa.int64())})
    schema = CollectionSchema("t", (FieldSchema("id", DataType.INT64, is_primary=True),))

    def rows(text: str) -> list[int]:
        return np.flatnonzero(evaluate(parse(text, schema), table)).tolist()

    assert rows("id / 2 == -3") == [0, 1]  # truncation toward zero, not floor
    assert rows("id % 4 == -3") == [0]  # the remainder takes the dividend's sign
    assert rows("id * id == 49") == [0, 4]
    assert rows("id ** 0.5 >= 0") == [2, 3, 4]  # sqrt of a negative is no number
    assert rows("10 / id >= 1") == [3, 4]  # the zero divisor row just does not match
    assert rows("10 / id > 1") == []  # 10 / 6 is 1 in integers


def test_empty_table() -> None:
    table = small_table().slice(0, 0)
    for text in ("a > 1", "j['x'] == 1", "k like 'a%'", "array_length(tags) == 0", ""):
        mask = evaluate(parse(text, SCHEMA), table)
        assert mask.shape == (0,) and mask.dtype == np.bool_


def test_cache_reuses_parsed_json_per_table() -> None:
    table = small_table()
    cache: dict = {}
    first = evaluate(parse("j['x'] == 1", SCHEMA), table, cache)
    size = len(cache)
    again = evaluate(parse("j['x'] > 0 or j['x'] == '1'", SCHEMA), table, cache)
    assert len(cache) == size, "the same column and path must not be parsed twice"
    assert first.tolist() == [True, False, False, False, False, False]
    assert again.tolist() == [True, True, False, False, False, False]
    other = small_table()  # another table: its own entries, not the first table's
    evaluate(parse("j['x'] == 1", SCHEMA), other, cache)
    assert len(cache) > size


def test_large_and_medium_strings_and_unicode_patterns() -> None:
    schema = CollectionSchema("t", (FieldSchema("s", DataType.VARCHAR, is_primary=True),))
    table = pa.table({"s": ["naïve", "nai\nve", "n.ive", "NAIVE", "na%ve"]})

    def rows(text: str) -> list[int]:
        return np.flatnonzero(evaluate(parse(text, schema), table)).tolist()

    assert rows("s like 'na_ve'") == [0, 4]
    assert rows("s like 'n%e'") == [0, 1, 2, 4]  # % crosses a newline
    assert rows("s like 'n.ive'") == [2]  # a dot is a dot
    assert rows(r"s like 'na\%ve'") == [4]
    assert rows("s like 'na\\\\%'") == []  # an escaped backslash, then any run


@pytest.mark.slow
def test_million_row_comparison_is_vectorised() -> None:
    schema = CollectionSchema("t", (FieldSchema("x", DataType.INT64, is_primary=True),))
    values = np.random.default_rng(3).integers(0, 1000, size=1_000_000)
    table = pa.table({"x": pa.array(values, pa.int64())})
    expr = parse("x > 500 and x % 7 != 3", schema)
    evaluate(expr, table)  # warm up
    best = min(_timed(lambda: evaluate(expr, table)) for _ in range(3))
    expected = (values > 500) & (values % 7 != 3)
    assert np.array_equal(evaluate(expr, table), expected)
    assert best < 0.25, f"evaluation took {best:.3f}s for 1M rows"


def _timed(run: object) -> float:
    start = time.perf_counter()
    run()  # type: ignore[operator]
    return time.perf_counter() - start
