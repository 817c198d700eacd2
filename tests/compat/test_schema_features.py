"""ARRAY fields, nullable fields and default values, end to end through pymilvus.

Every check runs twice: on the growing segment right after insert, and on the
sealed segment after a flush, so that the Parquet round trip of list columns
and nulls is held to the same answers. Expected rows come from a Python
oracle over the inserted data.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pymilvus import DataType, MilvusClient, MilvusException

from .helpers import random_vectors

DIM = 8
ROWS = 40
CAPACITY = 6

# (element type, how row i's array is built); lengths vary from 0 to 5.
ELEMENTS: dict[str, tuple[DataType, Callable[[int], list[Any]]]] = {
    "a_bool": (DataType.BOOL, lambda i: [(i + k) % 2 == 0 for k in range(i % 4)]),
    "a_i8": (DataType.INT8, lambda i: [(i * 3 + k) % 100 - 50 for k in range(i % 5)]),
    "a_i16": (DataType.INT16, lambda i: [i * 100 + k for k in range(i % 3)]),
    "a_i32": (DataType.INT32, lambda i: [i + k * 10 for k in range(i % 6)]),
    "a_i64": (DataType.INT64, lambda i: [2**40 + (i + k) % 7 for k in range(i % 4)]),
    "a_f32": (DataType.FLOAT, lambda i: [0.5 * (i + k) for k in range(i % 3)]),
    "a_f64": (DataType.DOUBLE, lambda i: [i / 4 + k for k in range(i % 5)]),
    "a_str": (DataType.VARCHAR, lambda i: [f"s{(i + k) % 9}" for k in range(i % 4)]),
}


def _index(client: MilvusClient):
    params = client.prepare_index_params()
    params.add_index(field_name="vec", index_type="FLAT", metric_type="L2")
    return params


def _check_query(
    client: MilvusClient, name: str, expr: str, expected: set[int], fields: list[str]
) -> None:
    got = client.query(name, filter=expr, output_fields=fields, limit=ROWS * 4)
    assert {row["pk"] for row in got} == expected, expr
    hits = client.search(
        name,
        data=[random_vectors(1, DIM, seed=99)[0].tolist()],
        filter=expr,
        limit=ROWS * 2,
        output_fields=fields,
    )[0]
    assert {hit["pk"] for hit in hits} == expected, expr


def _flush(client: MilvusClient, name: str) -> None:
    client.flush(name)


@pytest.fixture
def array_collection(client: MilvusClient, new_collection_name: Callable[[str], str]):
    name = new_collection_name("arrays")
    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("pk", DataType.INT64, is_primary=True)
    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=DIM)
    for field, (element_type, _) in ELEMENTS.items():
        extra = {"max_length": 8} if element_type == DataType.VARCHAR else {}
        schema.add_field(
            field, DataType.ARRAY, element_type=element_type, max_capacity=CAPACITY, **extra
        )
    client.create_collection(
        name, schema=schema, index_params=_index(client), consistency_level="Strong"
    )
    vectors = random_vectors(ROWS, DIM, seed=5)
    rows = [
        {"pk": i, "vec": vectors[i].tolist(), **{f: make(i) for f, (_, make) in ELEMENTS.items()}}
        for i in range(ROWS)
    ]
    client.insert(name, rows)
    return name, rows


def test_array_fields_round_trip_and_filter(
    client: MilvusClient, array_collection: tuple[str, list[dict[str, Any]]]
) -> None:
    name, rows = array_collection
    fields = list(ELEMENTS)
    cases: list[tuple[str, Callable[[dict[str, Any]], bool]]] = [
        ("array_contains(a_i64, 1099511627778)", lambda r: 2**40 + 2 in r["a_i64"]),
        ("array_contains(a_str, 's3')", lambda r: "s3" in r["a_str"]),
        ("array_contains_all(a_i32, [5, 15])", lambda r: {5, 15} <= set(r["a_i32"])),
        ("array_contains_any(a_i8, [-50, -47, 1])", lambda r: bool({-50, -47, 1} & set(r["a_i8"]))),
        ("array_length(a_f64) == 3", lambda r: len(r["a_f64"]) == 3),
        ("array_length(a_bool) > 1", lambda r: len(r["a_bool"]) > 1),
        ("a_i16[1] > 1000", lambda r: len(r["a_i16"]) > 1 and r["a_i16"][1] > 1000),
        ("a_f32[0] == 2.5", lambda r: len(r["a_f32"]) > 0 and r["a_f32"][0] == 2.5),
    ]
    for stage in ("growing", "sealed"):
        if stage == "sealed":
            _flush(client, name)
        got = {row["pk"]: row for row in client.query(name, "pk >= 0", output_fields=fields)}
        assert len(got) == ROWS, stage
        for row in rows:
            for field in fields:
                assert got[row["pk"]][field] == pytest.approx(row[field]), (stage, field)
        for expr, predicate in cases:
            _check_query(client, name, expr, {r["pk"] for r in rows if predicate(r)}, fields)


def test_array_capacity_and_element_type_are_enforced(
    client: MilvusClient, array_collection: tuple[str, list[dict[str, Any]]]
) -> None:
    name, rows = array_collection
    too_long = dict(rows[0], pk=1000, a_i32=list(range(CAPACITY + 1)))
    with pytest.raises(MilvusException, match="max_capacity"):
        client.insert(name, [too_long])
    long_string = dict(rows[0], pk=1001, a_str=["x" * 9])
    with pytest.raises(MilvusException, match="max_length"):
        client.insert(name, [long_string])
    assert not client.query(name, "pk >= 1000")


@pytest.fixture
def nullable_collection(client: MilvusClient, new_collection_name: Callable[[str], str]):
    name = new_collection_name("nullable")
    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("pk", DataType.INT64, is_primary=True)
    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=DIM)
    schema.add_field("n_int", DataType.INT64, nullable=True)
    schema.add_field("n_str", DataType.VARCHAR, max_length=16, nullable=True)
    schema.add_field("n_json", DataType.JSON, nullable=True)
    schema.add_field(
        "n_arr", DataType.ARRAY, element_type=DataType.INT32, max_capacity=4, nullable=True
    )
    schema.add_field("d_int", DataType.INT32, default_value=7)
    schema.add_field("d_str", DataType.VARCHAR, max_length=16, default_value="unknown")
    schema.add_field("d_float", DataType.FLOAT, default_value=1.5)
    schema.add_field("nd_double", DataType.DOUBLE, nullable=True, default_value=-2.0)
    client.create_collection(
        name, schema=schema, index_params=_index(client), consistency_level="Strong"
    )
    return name


def _nullable_rows() -> list[dict[str, Any]]:
    """Even rows set every field; rows 1 mod 4 send None; rows 3 mod 4 omit them."""
    vectors = random_vectors(ROWS, DIM, seed=8)
    rows: list[dict[str, Any]] = []
    for i in range(ROWS):
        row: dict[str, Any] = {"pk": i, "vec": vectors[i].tolist()}
        if i % 2 == 0:
            row.update(
                n_int=i * 10,
                n_str=f"v{i}",
                n_json={"k": i},
                n_arr=[i, i + 1],
                d_int=i,
                d_str=f"d{i}",
                d_float=i / 2,
                nd_double=float(i),
            )
        elif i % 4 == 1:
            row.update(n_int=None, n_str=None, n_json=None, n_arr=None, d_int=None, nd_double=None)
        rows.append(row)
    return rows


def _expected(row: dict[str, Any]) -> dict[str, Any]:
    defaults = {"d_int": 7, "d_str": "unknown", "d_float": 1.5, "nd_double": -2.0}
    full = {name: row.get(name) for name in ("n_int", "n_str", "n_json", "n_arr")}
    for name, default in defaults.items():
        full[name] = default if row.get(name) is None else row[name]
    return full


def test_nullable_fields_and_defaults(client: MilvusClient, nullable_collection: str) -> None:
    name = nullable_collection
    rows = _nullable_rows()
    client.insert(name, rows)
    described = {f["name"]: f for f in client.describe_collection(name)["fields"]}
    assert described["n_int"].get("nullable") is True
    assert described["d_int"].get("default_value") is not None
    fields = ["n_int", "n_str", "n_json", "n_arr", "d_int", "d_str", "d_float", "nd_double"]
    expected = {row["pk"]: _expected(row) for row in rows}
    evens = {i for i in range(ROWS) if i % 2 == 0}
    odds = set(range(ROWS)) - evens
    cases = [
        ("n_int is null", odds),
        ("n_int is not null", evens),
        ("n_str IS NULL", odds),
        ("n_json is null", odds),
        ("n_arr is not null", evens),
        ("n_int > 100", {i for i in evens if i * 10 > 100}),
        ("d_int == 7", odds),
        ("d_str == 'unknown'", odds),
        ("nd_double < 0", odds),
        ("nd_double is null", set()),
        ("array_contains(n_arr, 5)", {4}),
    ]
    for stage in ("growing", "sealed"):
        if stage == "sealed":
            _flush(client, name)
        got = {row["pk"]: row for row in client.query(name, "pk >= 0", output_fields=fields)}
        assert set(got) == set(expected), stage
        for pk, want in expected.items():
            for field, value in want.items():
                assert got[pk][field] == pytest.approx(value), (stage, pk, field)
        for expr, ids in cases:
            _check_query(client, name, expr, ids, fields)


def test_explicit_none_gets_the_default(client: MilvusClient, nullable_collection: str) -> None:
    """A defaulted field sent as None in every row still gets its default."""
    name = nullable_collection
    rows = _nullable_rows()
    complete = [dict(row) for row in rows if row["pk"] % 4 != 3]
    for row in complete:
        for field in ("d_str", "d_float"):
            row.setdefault(field, None)
    client.insert(name, complete)
    got = client.query(name, "d_str == 'unknown' and n_arr is null", output_fields=["d_float"])
    assert {row["pk"] for row in got} == {r["pk"] for r in complete if r["pk"] % 4 == 1}
    assert all(row["d_float"] == 1.5 for row in got)


def _schema_with(client: MilvusClient, **field: Any):
    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("pk", DataType.INT64, is_primary=True)
    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=DIM)
    schema.add_field("x", **field)
    return schema


@pytest.mark.parametrize(
    ("field", "words"),
    [
        ({"datatype": DataType.ARRAY, "element_type": DataType.INT64}, "max_capacity"),
        (
            {"datatype": DataType.ARRAY, "element_type": DataType.INT64, "max_capacity": 5000},
            r"the maximum capacity specified for a Array should be in \(0, 4096\]",
        ),
        ({"datatype": DataType.ARRAY, "max_capacity": 4}, "element data type None is not valid"),
        (
            {"datatype": DataType.ARRAY, "element_type": DataType.VARCHAR, "max_capacity": 4},
            "max_length",
        ),
        (
            {"datatype": DataType.ARRAY, "element_type": DataType.JSON, "max_capacity": 4},
            "element type",
        ),
        ({"datatype": DataType.FLOAT_VECTOR, "dim": 4, "nullable": True}, "not support null"),
        ({"datatype": DataType.INT8, "default_value": 300}, "range"),
        (
            {"datatype": DataType.VARCHAR, "max_length": 3, "default_value": "long"},
            r"the length \(4\) of string exceeds max length \(3\)",
        ),
        ({"datatype": DataType.FLOAT16_VECTOR, "dim": 8, "nullable": True}, "not support null"),
        (
            {"datatype": DataType.BFLOAT16_VECTOR, "dim": 100_000},
            "float vector dimension should be in range 2 ~ 32768",
        ),
    ],
)
def test_bad_schemas_are_refused(
    client: MilvusClient,
    new_collection_name: Callable[[str], str],
    field: dict[str, Any],
    words: str,
) -> None:
    name = new_collection_name("bad")
    with pytest.raises(MilvusException, match=words):
        client.create_collection(name, schema=_schema_with(client, **field))
    assert not client.has_collection(name)


def test_delete_and_upsert_by_array_and_null_filters(
    client: MilvusClient, nullable_collection: str
) -> None:
    name = nullable_collection
    rows = _nullable_rows()
    client.insert(name, rows)
    _flush(client, name)
    client.delete(name, filter="n_int is null or array_contains(n_arr, 5)")
    kept = {r["pk"] for r in rows if r["pk"] % 2 == 0 and r["pk"] != 4}
    assert {row["pk"] for row in client.query(name, "pk >= 0")} == kept
    upserted = dict(rows[0], n_arr=None, d_int=None)
    client.upsert(name, [upserted])
    got = client.query(name, "pk == 0", output_fields=["n_arr", "d_int"])
    assert got[0]["n_arr"] is None and got[0]["d_int"] == 7
