"""Scalar indexes (INVERTED, STL_SORT, BITMAP, TRIE, AUTOINDEX) through pymilvus:
Milvus's checks and codes, describe/list/drop and build state, and filters that
answer exactly the same rows with and without the indexes, after a flush and after
a restart."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pymilvus import DataType, MilvusClient

from .helpers import INVALID_PARAMETER, ON_MILVUS_LITE, raises_milvus, unique_name, wait_until
from .server import ElanusServer

DIM = 4
ROWS = 400
# Each field with the index types Milvus accepts on it.
INDEXES = {
    "n": "STL_SORT",
    "small": "BITMAP",
    "s": "TRIE",
    "word": "INVERTED",
    "f": "STL_SORT",
    "flag": "BITMAP",
    "d": "",  # AUTOINDEX: Milvus builds INVERTED
    "tags": "INVERTED",
    "j": "INVERTED",  # on a JSON path, with its cast type (JSON_PARAMS)
}
JSON_PARAMS = {"json_path": 'j["k"]', "json_cast_type": "double"}
FILTERS = [
    "n > 100",
    "n <= 37",
    "n == 250 or n == 3",
    "n != 10",
    "10 < n < 60",
    "50 <= n <= 55 and small == 3",
    "n in [1, 2, 3, 500]",
    "n not in [1, 2, 3]",
    "not (n > 30)",
    "n is null",
    "small in [0, 4]",
    "small != 2",
    's like "ab%"',
    's like "b%" and n < 300',
    's == "abc7"',
    's > "b"',
    'word in ["red", "blue"]',
    'word != "red"',
    "f >= 1.5",
    "f < 0.5 or flag == true",
    "flag == false",
    "d > 100.0",
    "array_contains(tags, 3)",
    'n > 5 and s like "a%" and not (word == "green")',
    'j["k"] > 6',
]


def schema_of(client: MilvusClient) -> Any:
    schema = client.create_schema()
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=DIM)
    schema.add_field("n", DataType.INT64, nullable=True)
    schema.add_field("small", DataType.INT16)
    schema.add_field("s", DataType.VARCHAR, max_length=32, nullable=True)
    schema.add_field("word", DataType.VARCHAR, max_length=32)
    schema.add_field("f", DataType.FLOAT)
    schema.add_field("flag", DataType.BOOL, nullable=True)
    schema.add_field("d", DataType.DOUBLE)
    schema.add_field("tags", DataType.ARRAY, element_type=DataType.INT64, max_capacity=4)
    schema.add_field("j", DataType.JSON, nullable=True)
    return schema


def rows(first: int, count: int) -> list[dict[str, Any]]:
    words = ["red", "green", "blue", "red", "black"]
    prefixes = ["ab", "abc", "b", "ba", "c"]
    out = []
    for i in range(first, first + count):
        out.append(
            {
                "id": i,
                "vector": [float(i % 7), float(i % 5), float(i % 3), 1.0],
                "n": None if i % 11 == 0 else (i * 37) % 500,
                "small": i % 5,
                "s": None if i % 13 == 0 else f"{prefixes[i % 5]}{i % 9}",
                "word": words[i % 5],
                "f": (i % 8) * 0.5,
                "flag": None if i % 17 == 0 else i % 3 == 0,
                "d": float((i * 7) % 200),
                "tags": [i % 4, (i + 1) % 6],
                "j": {"k": i % 10},
            }
        )
    return out


def make(client: MilvusClient, name: str, indexed: bool) -> None:
    client.create_collection(name, schema=schema_of(client), consistency_level="Strong")
    client.insert(name, rows(0, ROWS // 2))
    client.flush(name)
    client.insert(name, rows(ROWS // 2, ROWS // 2))
    client.flush(name)
    client.insert(name, rows(ROWS, 25))  # these stay in a growing segment
    params = client.prepare_index_params()
    params.add_index(field_name="vector", index_type="FLAT", metric_type="L2")
    if indexed:
        for field, index_type in INDEXES.items():
            params.add_index(
                field_name=field,
                index_type=index_type,
                index_name=f"idx_{field}",
                **({"params": JSON_PARAMS} if field == "j" else {}),
            )
    client.create_index(name, params)
    if indexed:
        for field in INDEXES:

            def built(index_name: str = f"idx_{field}") -> bool:
                return bool(client.describe_index(name, index_name)["state"] == "Finished")

            assert wait_until(built, 60), client.describe_index(name, f"idx_{field}")
    client.load_collection(name)


def answers(client: MilvusClient, name: str) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for expr in FILTERS:
        hits = client.query(name, filter=expr, output_fields=["id"], limit=16384)
        found[expr] = sorted(h["id"] for h in hits)
        searched = client.search(
            name, data=[[1.0, 2.0, 0.0, 1.0]], filter=expr, limit=20, output_fields=["id"]
        )
        found["search " + expr] = [(h["id"], round(h["distance"], 4)) for h in searched[0]]
    return found


@pytest.fixture
def pair(client: MilvusClient) -> Iterator[tuple[str, str]]:
    plain, indexed = unique_name("plain"), unique_name("indexed")
    make(client, plain, indexed=False)
    make(client, indexed, indexed=True)
    yield plain, indexed
    for name in (plain, indexed):
        client.drop_collection(name)


def test_filters_answer_the_same_rows_with_and_without_scalar_indexes(
    client: MilvusClient, pair: tuple[str, str]
) -> None:
    plain, indexed = pair
    expected = answers(client, plain)
    assert any(expected[f] for f in FILTERS)
    assert answers(client, indexed) == expected


def test_describe_list_and_drop(client: MilvusClient, pair: tuple[str, str]) -> None:
    _, name = pair
    assert sorted(client.list_indexes(name)) == sorted(["vector", *(f"idx_{f}" for f in INDEXES)])
    described = client.describe_index(name, "idx_s")
    assert described["index_type"] == "TRIE"
    assert described["field_name"] == "s"
    assert described["indexed_rows"] == ROWS and described["total_rows"] == ROWS
    assert client.describe_index(name, "idx_d")["index_type"] == "AUTOINDEX"
    with raises_milvus(INVALID_PARAMETER, 65535):  # loaded: release first
        client.drop_index(name, "idx_n")
    client.release_collection(name)
    client.drop_index(name, "idx_n")
    assert "idx_n" not in client.list_indexes(name)
    client.load_collection(name)
    assert len(client.query(name, filter="n > 100", output_fields=["id"], limit=16384)) > 0


@pytest.mark.parametrize(
    ("field", "index_type", "message"),
    [
        ("n", "TRIE", "TRIE are only supported on varchar field"),
        ("flag", "STL_SORT", "STL_SORT are only supported on"),
        ("f", "BITMAP", "bitmap index are only supported on bool, int, string and array field"),
        ("id", "BITMAP", "create bitmap index on primary key not supported"),
        ("j", "BITMAP", "bitmap index are only supported"),
        ("word", "NOT_AN_INDEX", "invalid index type"),
        ("j", "INVERTED", "json index must specify cast type"),
        ("j", "TRIE", "TRIE are only supported on varchar field"),
    ],
)
def test_refused_combinations_change_nothing(
    client: MilvusClient,
    new_collection_name: Callable[[str], str],
    field: str,
    index_type: str,
    message: str,
) -> None:
    name = new_collection_name("refused")
    client.create_collection(name, schema=schema_of(client))
    params = client.prepare_index_params()
    params.add_index(field_name=field, index_type=index_type)
    with raises_milvus(INVALID_PARAMETER) as caught:
        client.create_index(name, params)
    assert message in caught.value.message
    assert client.list_indexes(name) == []


@pytest.mark.skipif(ON_MILVUS_LITE, reason="Milvus Lite: no process to restart")
def test_scalar_indexes_survive_a_restart(own_server: ElanusServer) -> None:
    client = MilvusClient(uri=own_server.uri, timeout=60)
    plain, indexed = unique_name("plain"), unique_name("indexed")
    make(client, plain, indexed=False)
    make(client, indexed, indexed=True)
    client.close()

    own_server.kill()
    own_server.start()

    client = MilvusClient(uri=own_server.uri, timeout=60)
    try:
        assert client.describe_index(indexed, "idx_word")["index_type"] == "INVERTED"
        client.load_collection(plain)
        client.load_collection(indexed)
        assert answers(client, indexed) == answers(client, plain)
    finally:
        client.close()


def test_an_index_created_on_a_loaded_collection_serves_without_a_reload(
    client: MilvusClient, new_collection_name: Callable[[str], str]
) -> None:
    plain, name = new_collection_name("plain"), new_collection_name("late")
    make(client, plain, indexed=False)
    make(client, name, indexed=False)  # loaded, with its vector index only
    params = client.prepare_index_params()
    for field in ("n", "s", "word"):
        params.add_index(field_name=field, index_type="INVERTED", index_name=f"idx_{field}")
    client.create_index(name, params)
    for field in ("n", "s", "word"):

        def built(index_name: str = f"idx_{field}") -> bool:
            return bool(client.describe_index(name, index_name)["state"] == "Finished")

        assert wait_until(built, 60), client.describe_index(name, f"idx_{field}")
    assert answers(client, name) == answers(client, plain)
