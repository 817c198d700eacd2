"""AddCollectionField through pymilvus's ``add_collection_field`` (issue 19 point 4).

A nullable field (with or without a default value) joins a collection that is
loaded and serving, with no reload: rows written before read it as its default
value or null, rows written after carry it, filters (``is null`` too) and output
fields work on it, DescribeCollection lists it with a bumped schema version, and
a restart and a compaction keep all of it. Refusals are Milvus 2.6's and change
nothing. pymilvus 2.5 has no AddCollectionField request at all: skipped there.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from pymilvus import DataType, MilvusClient

from .helpers import INVALID_PARAMETER, ON_MILVUS_LITE, count_rows, raises_milvus, random_vectors
from .server import ElanusServer

DIM = 8

pytestmark = [
    pytest.mark.not_on_milvus_lite("Milvus Lite 2.5 has no AddCollectionField"),
    pytest.mark.skipif(
        not hasattr(MilvusClient, "add_collection_field"),
        reason="pymilvus 2.5 has no AddCollectionField request (added in pymilvus 2.6)",
    ),
]


def rows(first: int, count: int, **extra: Callable[[int], Any]) -> list[dict[str, Any]]:
    vectors = random_vectors(count, DIM, first)
    made = []
    for i in range(count):
        row: dict[str, Any] = {"id": first + i, "vector": vectors[i].tolist()}
        row.update({name: value(first + i) for name, value in extra.items()})
        made.append(row)
    return made


def create_loaded(client: MilvusClient, name: str, count: int = 0) -> None:
    """A quick-setup collection (id, vector; loaded), with ``count`` rows 0..count-1."""
    client.create_collection(name, dimension=DIM, consistency_level="Strong")
    if count:
        client.insert(name, rows(0, count))


def by_id(client: MilvusClient, name: str, expr: str, fields: list[str]) -> dict[int, Any]:
    found = client.query(name, filter=expr, output_fields=fields, consistency_level="Strong")
    return {row["id"]: {f: row.get(f) for f in fields} for row in found}


def field_names(client: MilvusClient, name: str) -> list[str]:
    return [f["name"] for f in client.describe_collection(name)["fields"]]


def wait_compacted(client: MilvusClient, compaction_id: int, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while client.get_compaction_state(compaction_id) != "Completed":
        if time.monotonic() > deadline:
            raise AssertionError(f"compaction {compaction_id} not completed in {timeout_s}s")
        time.sleep(0.5)


def test_a_field_added_to_a_loaded_collection_serves_old_rows_as_null_without_reload(
    client: MilvusClient, new_collection_name: Callable[[str], str]
) -> None:
    name = new_collection_name("addfield")
    create_loaded(client, name, 60)
    client.flush(name)  # 0..59 sealed, on disk
    client.insert(name, rows(60, 40))  # 60..99 growing
    before = client.describe_collection(name)

    client.add_collection_field(name, field_name="score", data_type=DataType.INT64, nullable=True)

    after = client.describe_collection(name)
    assert field_names(client, name) == ["id", "vector", "score"]
    added = next(f for f in after["fields"] if f["name"] == "score")
    assert added["type"] == DataType.INT64 and added["nullable"] is True
    assert added["field_id"] > max(f["field_id"] for f in before["fields"])
    assert after["schema_version"] == before["schema_version"] + 1
    assert after["update_timestamp"] > before["update_timestamp"]
    assert client.get_load_state(name)["state"].name == "Loaded"  # no reload asked

    old = by_id(client, name, "id < 100", ["score"])
    assert len(old) == 100 and all(v["score"] is None for v in old.values())
    client.insert(name, rows(100, 20, score=lambda i: i))
    assert count_rows(client, name, "score is null") == 100
    assert count_rows(client, name, "score is not null") == 20
    assert count_rows(client, name, "score is null and id >= 60") == 40  # the growing rows
    assert set(by_id(client, name, "score >= 115", ["score"])) == set(range(115, 120))
    query_vector = random_vectors(20, DIM, 100)[10].tolist()  # row 110's own vector
    hits = client.search(
        name,
        data=[query_vector],
        limit=5,
        filter="score > 100",
        output_fields=["score"],
        consistency_level="Strong",
    )[0]
    assert hits[0]["id"] == 110 and hits[0]["entity"]["score"] == 110
    assert all(h["entity"]["score"] > 100 for h in hits)
    # An old row upserted with a value; the new rows are flushed and read back the same.
    client.upsert(name, rows(1, 1, score=lambda i: -1))
    client.flush(name)
    assert by_id(client, name, "id in [0, 1, 100, 119]", ["score"]) == {
        0: {"score": None},
        1: {"score": -1},
        100: {"score": 100},
        119: {"score": 119},
    }


def test_old_rows_read_the_default_value_of_an_added_field(
    client: MilvusClient, new_collection_name: Callable[[str], str]
) -> None:
    name = new_collection_name("adddefault")
    create_loaded(client, name, 30)
    client.flush(name)
    client.insert(name, rows(30, 10))
    client.add_collection_field(
        name,
        field_name="tag",
        data_type=DataType.VARCHAR,
        max_length=16,
        nullable=True,
        default_value="none",
    )
    client.insert(name, rows(40, 10, tag=lambda i: f"t{i % 2}"))
    client.insert(name, [{**rows(50, 1)[0], "tag": None}])  # null sent: the default applies
    assert count_rows(client, name, 'tag == "none"') == 41
    assert count_rows(client, name, 'tag == "t1"') == 5
    assert count_rows(client, name, "tag is null") == 0
    found = by_id(client, name, "id in [0, 35, 41, 50]", ["tag"])
    assert found == {
        0: {"tag": "none"},
        35: {"tag": "none"},
        41: {"tag": "t1"},
        50: {"tag": "none"},
    }


def test_several_added_fields_and_their_types(
    client: MilvusClient, new_collection_name: Callable[[str], str]
) -> None:
    name = new_collection_name("addmany")
    create_loaded(client, name, 10)
    client.add_collection_field(name, field_name="f", data_type=DataType.FLOAT, nullable=True)
    client.add_collection_field(name, field_name="b", data_type=DataType.BOOL, nullable=True)
    client.add_collection_field(name, field_name="j", data_type=DataType.JSON, nullable=True)
    client.add_collection_field(
        name,
        field_name="arr",
        data_type=DataType.ARRAY,
        element_type=DataType.INT32,
        max_capacity=4,
        nullable=True,
    )
    assert client.describe_collection(name)["schema_version"] == 4
    client.insert(
        name,
        rows(
            10,
            4,
            f=lambda i: i / 2,
            b=lambda i: i % 2 == 0,
            j=lambda i: {"k": i},
            arr=lambda i: [i],
        ),
    )
    fields = ["f", "b", "j", "arr"]
    assert by_id(client, name, "id in [0, 12]", fields) == {
        0: {"f": None, "b": None, "j": None, "arr": None},
        12: {"f": 6.0, "b": True, "j": {"k": 12}, "arr": [12]},
    }
    assert count_rows(client, name, 'j["k"] >= 11') == 3
    assert count_rows(client, name, "array_contains(arr, 13)") == 1
    assert count_rows(client, name, "b == true") == 2


def test_a_client_with_a_cached_schema_writes_the_new_field_after_a_refresh(
    client: MilvusClient, server_uri: str, new_collection_name: Callable[[str], str]
) -> None:
    name = new_collection_name("addcache")
    create_loaded(client, name)
    other = MilvusClient(uri=server_uri, timeout=60)
    try:
        other.insert(name, rows(0, 5))  # caches the schema as it was
        client.add_collection_field(name, field_name="n", data_type=DataType.INT32, nullable=True)
        # Its cached schema is stale: the server answers SchemaMismatch, pymilvus
        # refreshes and sends the rows again, new field included.
        other.insert(name, rows(5, 5, n=lambda i: i))
    finally:
        other.close()
    assert count_rows(client, name, "n >= 5") == 5
    assert count_rows(client, name, "n is null") == 5


def test_bad_added_fields_are_refused_with_milvus_messages_and_change_nothing(
    client: MilvusClient, new_collection_name: Callable[[str], str]
) -> None:
    name = new_collection_name("addbad")
    create_loaded(client, name, 5)
    before = client.describe_collection(name)
    refusals: list[tuple[dict[str, Any], str]] = [
        (
            {"field_name": "x", "data_type": DataType.INT64},
            "added field must be nullable, please check it, field name = x",
        ),
        (
            {"field_name": "x", "data_type": DataType.INT64, "default_value": 3},
            "added field must be nullable, please check it, field name = x",
        ),
        (
            {"field_name": "id", "data_type": DataType.INT64, "nullable": True},
            "duplicate field name: id",
        ),
        (
            {"field_name": "$meta", "data_type": DataType.JSON, "nullable": True},
            "not support to add system field, field name = $meta",
        ),
        (
            {"field_name": "x", "data_type": DataType.INT64, "nullable": True, "is_primary": True},
            "not support to add pk field, field name = x",
        ),
        (
            {
                "field_name": "x",
                "data_type": DataType.INT64,
                "nullable": True,
                "is_partition_key": True,
            },
            "not support to add partition key field",
        ),
    ]
    for kwargs, message in refusals:
        with raises_milvus(INVALID_PARAMETER, 105) as caught:
            client.add_collection_field(name, **kwargs)
        assert message in caught.value.message, (kwargs, caught.value.message)
    # A VarChar without max_length: Milvus's plain error (65535), as in CreateCollection.
    with raises_milvus(65535) as caught:
        client.add_collection_field(name, field_name="s", data_type=DataType.VARCHAR, nullable=True)
    assert "type param(max_length) should be specified" in caught.value.message
    # A malformed name: Milvus's field-name code, 1701.
    with raises_milvus(1701) as caught:
        client.add_collection_field(name, field_name="1x", data_type=DataType.INT64, nullable=True)
    assert "Invalid field name: 1x" in caught.value.message
    # A vector field: pymilvus 3 refuses a non-nullable one itself; Milvus 2.6 refuses any.
    with raises_milvus(INVALID_PARAMETER) as caught:
        client.add_collection_field(
            name, field_name="v2", data_type=DataType.FLOAT_VECTOR, dim=DIM, nullable=True
        )
    assert "not support to add vector field, field name = v2" in caught.value.message
    with raises_milvus(100):
        client.add_collection_field(
            "no_such_collection_x", field_name="x", data_type=DataType.INT64, nullable=True
        )
    after = client.describe_collection(name)
    assert after["fields"] == before["fields"]
    assert after["schema_version"] == before["schema_version"]
    assert after["update_timestamp"] == before["update_timestamp"]
    assert count_rows(client, name) == 5


def test_the_field_limit_is_milvus_s_64(
    client: MilvusClient, new_collection_name: Callable[[str], str]
) -> None:
    name = new_collection_name("addlimit")
    create_loaded(client, name)
    for number in range(62):  # id and vector are the first two of 64
        client.add_collection_field(
            name, field_name=f"f{number}", data_type=DataType.INT8, nullable=True
        )
    with raises_milvus(INVALID_PARAMETER) as caught:
        client.add_collection_field(
            name, field_name="one_more", data_type=DataType.INT8, nullable=True
        )
    assert "The number of fields has reached the maximum value 64" in caught.value.message
    assert len(field_names(client, name)) == 64
    client.insert(name, rows(0, 3, f61=lambda i: i))
    assert count_rows(client, name, "f61 == 2") == 1


def test_an_added_field_is_indexed_like_any_scalar_field(
    client: MilvusClient, new_collection_name: Callable[[str], str]
) -> None:
    """Scalar indexes answer the same for an added field as for a declared one."""
    name = new_collection_name("addindex")
    schema = client.create_schema()
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=DIM)
    schema.add_field("declared", DataType.INT64, nullable=True)
    client.create_collection(name, schema=schema)
    client.add_collection_field(name, field_name="added", data_type=DataType.INT64, nullable=True)
    outcomes: list[tuple[str, object]] = []
    for field in ("declared", "added"):
        params = client.prepare_index_params()
        params.add_index(field_name=field, index_type="INVERTED")
        try:
            client.create_index(name, params)
            outcomes.append(("ok", field in client.list_indexes(name, field_name=field)))
        except Exception as exc:  # noqa: BLE001 - the refusal is compared, not judged
            outcomes.append((type(exc).__name__, getattr(exc, "code", None)))
    assert outcomes[0] == outcomes[1], outcomes


def test_an_added_field_survives_compaction(
    client: MilvusClient, new_collection_name: Callable[[str], str]
) -> None:
    name = new_collection_name("addcompact")
    create_loaded(client, name)
    for first in (0, 20):  # two sealed segments written before the change
        client.insert(name, rows(first, 20))
        client.flush(name)
    client.add_collection_field(
        name, field_name="level", data_type=DataType.INT16, nullable=True, default_value=7
    )
    client.add_collection_field(
        name, field_name="note", data_type=DataType.VARCHAR, max_length=8, nullable=True
    )
    client.insert(name, rows(40, 20, level=lambda i: i, note=lambda i: "x"))
    client.flush(name)
    client.delete(name, ids=[0, 45])
    wait_compacted(client, client.compact(name))
    assert count_rows(client, name) == 58
    assert count_rows(client, name, "level == 7") == 39
    assert count_rows(client, name, "note is null") == 39
    assert by_id(client, name, "id in [1, 46]", ["level", "note"]) == {
        1: {"level": 7, "note": None},
        46: {"level": 46, "note": "x"},
    }
    client.release_collection(name)
    client.load_collection(name)
    assert count_rows(client, name, "level >= 41") == 18


def test_an_added_field_survives_a_restart(own_server: ElanusServer) -> None:
    if ON_MILVUS_LITE:
        pytest.skip("Milvus Lite")
    name = "restart_add_field"
    client = MilvusClient(uri=own_server.uri, timeout=60)
    create_loaded(client, name, 10)
    client.flush(name)
    client.insert(name, rows(10, 10))  # growing, replayed from the channel after the restart
    client.add_collection_field(name, field_name="score", data_type=DataType.DOUBLE, nullable=True)
    client.insert(name, rows(20, 10, score=lambda i: i * 1.5))
    version = client.describe_collection(name)["schema_version"]
    client.close()

    own_server.kill()  # kill -9: what was acknowledged must come back
    own_server.start()
    client = MilvusClient(uri=own_server.uri, timeout=60)
    try:
        assert field_names(client, name) == ["id", "vector", "score"]
        assert client.describe_collection(name)["schema_version"] == version == 1
        client.load_collection(name)
        assert count_rows(client, name, "score is null") == 20
        assert by_id(client, name, "id in [5, 15, 29]", ["score"]) == {
            5: {"score": None},
            15: {"score": None},
            29: {"score": 43.5},
        }
        client.insert(name, rows(30, 1, score=lambda i: 1.0))
        assert count_rows(client, name, "score < 2") == 1
    finally:
        client.close()


@pytest.mark.slow
def test_a_field_added_to_a_loaded_collection_of_100k_rows_is_queried_without_reload(
    client: MilvusClient, new_collection_name: Callable[[str], str]
) -> None:
    name = new_collection_name("add100k")
    create_loaded(client, name)
    total, batch = 100_000, 10_000
    for first in range(0, total, batch):
        client.insert(name, rows(first, batch))
        if first == total // 2:
            client.flush(name)  # half sealed, half growing
    client.add_collection_field(name, field_name="score", data_type=DataType.INT64, nullable=True)
    assert client.get_load_state(name)["state"].name == "Loaded"
    assert count_rows(client, name, "score is null") == total
    client.insert(name, rows(total, 100, score=lambda i: i))
    assert count_rows(client, name, "score is not null") == 100
    assert count_rows(client, name, f"score >= {total + 90}") == 10
    found = by_id(client, name, f"id in [0, {total - 1}, {total + 5}]", ["score"])
    assert found == {
        0: {"score": None},
        total - 1: {"score": None},
        total + 5: {"score": total + 5},
    }
