"""Bad input gets a clear error and changes nothing.

Codes are Milvus's (merr): 100 collection not found, 101 collection not loaded,
1100 invalid parameter. Code 1 is pymilvus's own client-side check (ParamError,
DataNotMatchException): those requests never reach the server, and the tests
still verify that nothing changed. Where Milvus itself answers with a lower-layer
code (65535 for an unwrapped error, 2000 for a segcore error), the test also
accepts the clearer 1100.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pymilvus import DataType, MilvusClient

from .helpers import (
    CLIENT_SIDE,
    COLLECTION_NOT_FOUND,
    COLLECTION_NOT_LOADED,
    INVALID_PARAMETER,
    count_rows,
    raises_milvus,
    unique_name,
)

DIM = 4
ROWS = 10
UNWRAPPED_ERROR = 65535  # what Milvus answers for some insert shape errors
FIELD_NAME_INVALID = 1701  # Milvus's code for a malformed field name
SEGCORE_ERROR = 2000  # what Milvus answers for a query vector of the wrong size


@pytest.fixture
def typed(client: MilvusClient, new_collection_name: Callable[[str], str]) -> str:
    """A loaded collection with ROWS rows and fixed (non-dynamic) scalar fields."""
    name = new_collection_name("bad")
    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("age", DataType.INT32)
    schema.add_field("name", DataType.VARCHAR, max_length=32)
    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=DIM)
    index = client.prepare_index_params()
    index.add_index(field_name="vec", index_type="FLAT", metric_type="L2")
    client.create_collection(name, schema=schema, index_params=index, consistency_level="Strong")
    rows = [{"id": i, "age": i, "name": f"n{i}", "vec": [float(i)] * DIM} for i in range(ROWS)]
    client.insert(name, rows)
    return name


def good_row(row_id: int = 100) -> dict:
    return {"id": row_id, "age": 1, "name": "ok", "vec": [0.5] * DIM}


def assert_unchanged(client: MilvusClient, name: str) -> None:
    assert count_rows(client, name) == ROWS
    assert sorted(r["id"] for r in client.query(name, filter="id >= 0")) == list(range(ROWS))


# ---------------------------------------------------------------- unknown collection


def test_unknown_collection(client: MilvusClient) -> None:
    missing = unique_name("missing")
    assert client.has_collection(missing) is False
    with raises_milvus(COLLECTION_NOT_FOUND):
        client.describe_collection(missing)
    with raises_milvus(COLLECTION_NOT_FOUND):
        client.insert(missing, [{"id": 1, "vector": [0.1] * DIM}])
    with raises_milvus(COLLECTION_NOT_FOUND):
        client.search(missing, data=[[0.1] * DIM], limit=3)
    with raises_milvus(COLLECTION_NOT_FOUND):
        client.query(missing, filter="id > 0")
    with raises_milvus(COLLECTION_NOT_FOUND):
        client.load_collection(missing)
    with raises_milvus(COLLECTION_NOT_FOUND):
        client.get_collection_stats(missing)
    with raises_milvus(COLLECTION_NOT_FOUND):
        client.delete(missing, ids=[1])
    # Dropping what is not there is not an error in Milvus.
    client.drop_collection(missing)
    assert str(client.get_load_state(missing)["state"]) == "NotExist"
    assert missing not in client.list_collections()
    assert client.has_collection(missing) is False


# ---------------------------------------------------------------- inserts


def test_insert_wrong_dimension(client: MilvusClient, typed: str) -> None:
    with raises_milvus(INVALID_PARAMETER, UNWRAPPED_ERROR):
        client.insert(typed, [dict(good_row(), vec=[0.5] * (DIM + 1))])
    with raises_milvus(INVALID_PARAMETER, UNWRAPPED_ERROR):
        client.insert(typed, [dict(good_row(), vec=[0.5] * (DIM - 1))])
    assert_unchanged(client, typed)


@pytest.mark.not_on_milvus_lite("it divides the flat float array by dim and stores garbage rows")
def test_insert_wrong_dimension_that_divides_evenly(client: MilvusClient, typed: str) -> None:
    # 4 rows of dim 5 are 20 floats: 5 rows of dim 4 by size, but 4 rows were sent.
    rows = [dict(good_row(200 + i), vec=[0.5] * (DIM + 1)) for i in range(DIM)]
    with raises_milvus(INVALID_PARAMETER, UNWRAPPED_ERROR):
        client.insert(typed, rows)
    # 2 rows of dim 2 are 4 floats: 1 row of dim 4 by size.
    rows = [dict(good_row(300 + i), vec=[0.5] * (DIM // 2)) for i in range(2)]
    with raises_milvus(INVALID_PARAMETER, UNWRAPPED_ERROR):
        client.insert(typed, rows)
    assert_unchanged(client, typed)


@pytest.mark.parametrize(
    "bad_values",
    [{"age": "old"}, {"age": 2.5}, {"age": 2**40}, {"name": 7}, {"vec": "abcd"}, {"id": "x"}],
    ids=[
        "str_for_int",
        "float_for_int",
        "int32_overflow",
        "int_for_varchar",
        "str_vector",
        "str_pk",
    ],
)
def test_insert_wrong_field_type(client: MilvusClient, typed: str, bad_values: dict) -> None:
    with raises_milvus(CLIENT_SIDE, INVALID_PARAMETER):
        client.insert(typed, [good_row(101), dict(good_row(102), **bad_values)])
    assert_unchanged(client, typed)


@pytest.mark.parametrize("missing", ["age", "name", "vec"])
def test_insert_missing_field(client: MilvusClient, typed: str, missing: str) -> None:
    row = good_row()
    del row[missing]
    with raises_milvus(CLIENT_SIDE, INVALID_PARAMETER):
        client.insert(typed, [good_row(101), row])
    assert_unchanged(client, typed)


def test_insert_unknown_field_without_dynamic_field(client: MilvusClient, typed: str) -> None:
    with raises_milvus(CLIENT_SIDE, INVALID_PARAMETER):
        client.insert(typed, [dict(good_row(), surprise=1)])
    assert_unchanged(client, typed)


# ---------------------------------------------------------------- DDL


def test_duplicate_collection(client: MilvusClient, typed: str) -> None:
    before = client.describe_collection(typed)
    with raises_milvus(INVALID_PARAMETER):
        client.create_collection(typed, dimension=DIM + 4)
    other = client.create_schema(auto_id=False, enable_dynamic_field=False)
    other.add_field("id", DataType.INT64, is_primary=True)
    other.add_field("vec", DataType.FLOAT_VECTOR, dim=DIM)
    with raises_milvus(INVALID_PARAMETER):
        client.create_collection(typed, schema=other)
    after = client.describe_collection(typed)
    assert after["fields"] == before["fields"]
    assert_unchanged(client, typed)


@pytest.mark.parametrize(
    "bad_name",
    ["bad name", "1starts_with_digit", "has-dash", "ünïcode", "a" * 256, "semi;colon"],
    ids=["space", "leading_digit", "dash", "unicode", "too_long", "semicolon"],
)
def test_invalid_collection_name(client: MilvusClient, bad_name: str) -> None:
    with raises_milvus(INVALID_PARAMETER):
        client.create_collection(bad_name, dimension=DIM)
    assert bad_name not in client.list_collections()
    # Milvus validates the name on lookups too.
    with raises_milvus(INVALID_PARAMETER):
        client.describe_collection(bad_name)


def test_empty_collection_name_is_refused(client: MilvusClient) -> None:
    with raises_milvus(CLIENT_SIDE, INVALID_PARAMETER):
        client.create_collection("", dimension=DIM)


@pytest.mark.parametrize("bad_field", ["bad-field", "1field", "has space", "$meta"])
def test_invalid_field_name(client: MilvusClient, bad_field: str) -> None:
    name = unique_name("badfield")
    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field(bad_field, DataType.INT64)
    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=DIM)
    with raises_milvus(FIELD_NAME_INVALID) as caught:
        client.create_collection(name, schema=schema)
    assert f"Invalid field name: {bad_field}." in caught.value.message
    assert not client.has_collection(name)


# ---------------------------------------------------------------- expressions


# Milvus's parser recovers from a missing closing bracket ("age in [1, 2", "(age > 1")
# and runs the query, so the suite takes no position on those.
MALFORMED = ["age >>> 3", "name == 'unterminated", "age in 1, 2]", "nosuch > 3", "and", "age >"]


@pytest.mark.parametrize("expr", MALFORMED)
def test_malformed_expression_in_query(client: MilvusClient, typed: str, expr: str) -> None:
    with raises_milvus(INVALID_PARAMETER):
        client.query(typed, filter=expr)


@pytest.mark.parametrize("expr", MALFORMED)
def test_malformed_expression_in_search(client: MilvusClient, typed: str, expr: str) -> None:
    with raises_milvus(INVALID_PARAMETER):
        client.search(typed, data=[[0.5] * DIM], filter=expr, limit=3)


@pytest.mark.parametrize("expr", MALFORMED)
def test_malformed_expression_in_delete(client: MilvusClient, typed: str, expr: str) -> None:
    with raises_milvus(INVALID_PARAMETER):
        client.delete(typed, filter=expr)
    assert_unchanged(client, typed)


# ---------------------------------------------------------------- search and query limits


def test_search_wrong_dimension(client: MilvusClient, typed: str) -> None:
    for dim in (DIM - 2, DIM + 4):
        with raises_milvus(INVALID_PARAMETER, SEGCORE_ERROR):
            client.search(typed, data=[[0.5] * dim], limit=3)


def test_top_k_out_of_range(client: MilvusClient, typed: str) -> None:
    with raises_milvus(INVALID_PARAMETER):
        client.search(typed, data=[[0.5] * DIM], limit=16385)
    with raises_milvus(INVALID_PARAMETER):
        client.search(typed, data=[[0.5] * DIM], limit=10_000, offset=7_000)
    with raises_milvus(INVALID_PARAMETER):
        client.query(typed, filter="id >= 0", limit=16385)
    with raises_milvus(INVALID_PARAMETER):
        client.query(typed, filter="id >= 0", limit=10_000, offset=10_000)
    for bad_limit in (0, -1):
        with raises_milvus(CLIENT_SIDE, INVALID_PARAMETER):
            client.search(typed, data=[[0.5] * DIM], limit=bad_limit)
    # The edge of the range is fine.
    hits = client.search(typed, data=[[0.5] * DIM], limit=16384)
    assert len(hits[0]) == ROWS


def test_query_without_filter_needs_a_limit(client: MilvusClient, typed: str) -> None:
    with raises_milvus(INVALID_PARAMETER):
        client.query(typed, filter="")
    assert len(client.query(typed, filter="", limit=3)) == 3


@pytest.mark.not_on_milvus_lite("it serves search and query on a released collection")
def test_search_and_query_on_unloaded_collection(client: MilvusClient, typed: str) -> None:
    client.release_collection(typed)
    with raises_milvus(COLLECTION_NOT_LOADED):
        client.search(typed, data=[[0.5] * DIM], limit=3)
    with raises_milvus(COLLECTION_NOT_LOADED):
        client.query(typed, filter="id >= 0")
    with raises_milvus(COLLECTION_NOT_LOADED):
        client.get(typed, ids=[1])
    client.load_collection(typed)
    assert_unchanged(client, typed)
