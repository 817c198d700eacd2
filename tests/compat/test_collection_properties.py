"""Collection, field and index properties (issue 19 point 3) through pymilvus's own
calls: ``alter_collection_properties`` / ``drop_collection_properties``
(AlterCollection), ``alter_collection_field`` (AlterCollectionField) and
``alter_index_properties`` / ``drop_index_properties`` (AlterIndex).

The collection TTL is the behaviour: rows older than ``collection.ttl.seconds``
vanish from search, query, get and count, on sealed and growing segments, never
before their time, and compaction purges them (so dropping the TTL afterwards
does not bring them back). Keys Elanus cannot honour and bad values are refused
with code 1100 and change nothing; everything set survives a restart.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from pymilvus import DataType, MilvusClient

from .helpers import (
    INVALID_PARAMETER,
    ON_MILVUS_LITE,
    count_rows,
    raises_milvus,
    unique_name,
    wait_until,
)
from .server import ElanusServer

DIM = 8
TTL = "collection.ttl.seconds"
COLLECTION_LOADED = 104  # Milvus changes mmap only on a released collection
TTL_S = 4

pytestmark = pytest.mark.skipif(ON_MILVUS_LITE, reason="Milvus Lite 2.5.1 ignores the TTL")


def _vector(pk: int) -> list[float]:
    return np.random.default_rng(pk).random(DIM, dtype=np.float32).tolist()


def _rows(ids: range) -> list[dict[str, Any]]:
    return [{"id": i, "vec": _vector(i), "tag": f"t{i}"} for i in ids]


def _create(client: MilvusClient, name: str, max_length: int = 64) -> None:
    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=DIM)
    schema.add_field("tag", DataType.VARCHAR, max_length=max_length)
    index = client.prepare_index_params()
    index.add_index(field_name="vec", index_name="vec_idx", index_type="FLAT", metric_type="L2")
    client.create_collection(name, schema=schema, index_params=index, consistency_level="Strong")


def _ids(client: MilvusClient, name: str, **kwargs: Any) -> list[int]:
    rows = client.query(name, filter="id >= 0", output_fields=["id"], **kwargs)
    return sorted(r["id"] for r in rows)


def _searched(client: MilvusClient, name: str, pk: int) -> list[int]:
    hits = client.search(name, data=[_vector(pk)], limit=50, output_fields=["id"])
    return sorted(h["id"] for h in hits[0])


def _compact(client: MilvusClient, name: str) -> None:
    compaction_id = client.compact(name)
    assert wait_until(lambda: client.get_compaction_state(compaction_id) == "Completed", 60)


def _field(client: MilvusClient, name: str, field_name: str) -> dict[str, Any]:
    fields = client.describe_collection(name)["fields"]
    found: dict[str, Any] = next(f for f in fields if f["name"] == field_name)
    return found


# --- setting and dropping


def test_properties_are_set_shown_and_dropped(
    client: MilvusClient, new_collection_name: Callable[[str], str]
) -> None:
    name = new_collection_name("props")
    _create(client, name)
    with raises_milvus(COLLECTION_LOADED) as caught:
        client.alter_collection_properties(name, properties={"mmap.enabled": True})
    assert "can not alter mmap properties if collection loaded" in caught.value.message
    client.alter_collection_properties(name, properties={TTL: 30})  # no release needed
    client.release_collection(name)
    client.alter_collection_properties(
        name,
        properties={TTL: 3600, "collection.autocompaction.enabled": False, "mmap.enabled": True},
    )
    shown = client.describe_collection(name)["properties"]
    assert shown[TTL] == "3600"
    assert shown["collection.autocompaction.enabled"] == "False"
    assert shown["mmap.enabled"] == "True"

    client.drop_collection_properties(name, property_keys=[TTL, "mmap.enabled"])
    shown = client.describe_collection(name)["properties"]
    assert TTL not in shown and "mmap.enabled" not in shown
    assert shown["collection.autocompaction.enabled"] == "False"


def test_bad_keys_and_values_are_refused_and_change_nothing(
    client: MilvusClient, new_collection_name: Callable[[str], str]
) -> None:
    name = new_collection_name("badprops")
    _create(client, name)
    client.alter_collection_properties(name, properties={TTL: 60})
    before = client.describe_collection(name)["properties"]
    for bad in (
        {TTL: -1},
        {TTL: "soon"},
        {TTL: 1.5},
        {"collection.autocompaction.enabled": "maybe"},
    ):
        with raises_milvus(INVALID_PARAMETER):
            client.alter_collection_properties(name, properties=bad)
    with raises_milvus(INVALID_PARAMETER) as caught:
        client.alter_collection_properties(name, properties={"no.such.key": "1", TTL: 5})
    assert "no.such.key" in caught.value.message
    with raises_milvus(INVALID_PARAMETER):
        client.drop_collection_properties(name, property_keys=["no.such.key"])
    assert client.describe_collection(name)["properties"] == before

    with raises_milvus(INVALID_PARAMETER):
        client.alter_collection_field(name, "id", field_params={"max_length": 10})
    with raises_milvus(INVALID_PARAMETER):
        client.alter_collection_field(name, "tag", field_params={"max_length": 70000})
    with raises_milvus(INVALID_PARAMETER):
        client.alter_collection_field(name, "tag", field_params={"nullable": True})
    assert _field(client, name, "tag")["params"]["max_length"] == 64

    with raises_milvus(INVALID_PARAMETER):
        client.alter_index_properties(name, "vec_idx", properties={"nlist": 8})
    with raises_milvus(INVALID_PARAMETER):
        client.alter_index_properties(name, "vec_idx", properties={"mmap.enabled": "sometimes"})
    assert "mmap.enabled" not in client.describe_index(name, "vec_idx")


# --- fields and indexes


def test_a_varchar_max_length_is_altered_and_enforced(
    client: MilvusClient, new_collection_name: Callable[[str], str]
) -> None:
    name = new_collection_name("maxlen")
    _create(client, name, max_length=8)
    long_tag = {"id": 1, "vec": _vector(1), "tag": "x" * 12}
    with raises_milvus(INVALID_PARAMETER):
        client.insert(name, [long_tag])

    client.alter_collection_field(name, "tag", field_params={"max_length": 16})
    assert _field(client, name, "tag")["params"]["max_length"] == 16
    client.insert(name, [long_tag])
    client.alter_collection_field(name, "tag", field_params={"max_length": 4})
    with raises_milvus(INVALID_PARAMETER):
        client.insert(name, [{"id": 2, "vec": _vector(2), "tag": "y" * 6}])
    with raises_milvus(COLLECTION_LOADED):
        client.alter_collection_field(name, "tag", field_params={"mmap.enabled": True})
    client.release_collection(name)
    client.alter_collection_field(name, "tag", field_params={"mmap.enabled": True})
    assert _field(client, name, "tag")["params"]["mmap_enabled"] is True
    client.load_collection(name)
    assert _ids(client, name) == [1]


def test_index_mmap_is_set_shown_and_dropped(
    client: MilvusClient, new_collection_name: Callable[[str], str]
) -> None:
    name = new_collection_name("idxmmap")
    _create(client, name)
    with raises_milvus(COLLECTION_LOADED) as caught:
        client.alter_index_properties(name, "vec_idx", properties={"mmap.enabled": True})
    assert "please release the collection first" in caught.value.message
    client.release_collection(name)
    client.alter_index_properties(name, "vec_idx", properties={"mmap.enabled": True})
    described = client.describe_index(name, "vec_idx")
    assert described["mmap.enabled"] == "True"
    assert described["index_type"] == "FLAT"
    client.drop_index_properties(name, "vec_idx", property_keys=["mmap.enabled"])
    assert "mmap.enabled" not in client.describe_index(name, "vec_idx")


def test_an_index_created_with_mmap_shows_it(
    client: MilvusClient, new_collection_name: Callable[[str], str]
) -> None:
    name = new_collection_name("idxmmapnew")
    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=DIM)
    client.create_collection(name, schema=schema)
    index = client.prepare_index_params()
    index.add_index(
        field_name="vec",
        index_name="vec_idx",
        index_type="IVF_FLAT",
        metric_type="L2",
        params={"nlist": 8, "mmap.enabled": True},
    )
    client.create_index(name, index)
    described = client.describe_index(name, "vec_idx")
    assert described["mmap.enabled"] == "True"
    assert int(described["nlist"]) == 8


# --- the TTL


def test_rows_older_than_the_ttl_vanish_on_sealed_and_growing_segments(
    client: MilvusClient, new_collection_name: Callable[[str], str]
) -> None:
    name = new_collection_name("ttl")
    _create(client, name)
    started = time.monotonic()
    client.insert(name, _rows(range(0, 5)))
    client.flush(name)  # a sealed segment
    client.insert(name, _rows(range(5, 10)))  # a growing one
    client.alter_collection_properties(name, properties={TTL: TTL_S})
    assert wait_until(lambda: _ids(client, name) == [], 60), "expired rows still visible"
    # never before their time: the newest was inserted after `started`
    assert time.monotonic() - started >= TTL_S

    client.insert(name, _rows(range(10, 15)))
    assert _ids(client, name) == list(range(10, 15))
    assert count_rows(client, name) == 5
    assert sorted(r["id"] for r in client.get(name, ids=[0, 7, 12])) == [12]
    assert _searched(client, name, 3) == list(range(10, 15))
    assert client.query(name, filter="id in [0, 5, 9]", output_fields=["tag"]) == []


def test_a_ttl_given_at_creation_applies_and_a_bad_one_is_refused(
    client: MilvusClient, new_collection_name: Callable[[str], str]
) -> None:
    refused = new_collection_name("ttlbad")
    with raises_milvus(INVALID_PARAMETER):
        client.create_collection(refused, dimension=DIM, properties={TTL: "-3"})
    assert not client.has_collection(refused)

    name = new_collection_name("ttlcreate")
    client.create_collection(name, dimension=DIM, consistency_level="Strong", properties={TTL: 1})
    assert client.describe_collection(name)["properties"][TTL] == "1"
    client.insert(name, [{"id": i, "vector": _vector(i)} for i in range(3)])
    assert wait_until(lambda: count_rows(client, name) == 0, 60)


def test_compaction_purges_expired_rows(
    client: MilvusClient, new_collection_name: Callable[[str], str]
) -> None:
    name = new_collection_name("ttlpurge")
    _create(client, name)
    client.insert(name, _rows(range(0, 6)))
    client.flush(name)
    client.alter_collection_properties(name, properties={TTL: 1})
    assert wait_until(lambda: count_rows(client, name) == 0, 60)
    assert int(client.get_collection_stats(name)["row_count"]) == 6
    _compact(client, name)
    assert wait_until(lambda: int(client.get_collection_stats(name)["row_count"]) == 0, 60)
    # purged, not hidden: without the TTL they do not come back
    client.drop_collection_properties(name, property_keys=[TTL])
    assert count_rows(client, name) == 0
    client.insert(name, _rows(range(6, 8)))
    assert _ids(client, name) == [6, 7]


def test_dropping_the_ttl_before_compaction_shows_the_rows_again(
    client: MilvusClient, new_collection_name: Callable[[str], str]
) -> None:
    """Expiry is judged at read time (as in Milvus): until compaction purges them,
    rows hidden by a TTL are visible again once it is removed."""
    name = new_collection_name("ttlback")
    _create(client, name)
    client.insert(name, _rows(range(0, 3)))
    client.alter_collection_properties(name, properties={TTL: 1})
    assert wait_until(lambda: count_rows(client, name) == 0, 60)
    client.alter_collection_properties(name, properties={TTL: 0})
    assert _ids(client, name) == [0, 1, 2]


# --- restart


def test_properties_survive_a_restart(own_server: ElanusServer) -> None:
    client = MilvusClient(uri=own_server.uri, timeout=60)
    name = unique_name("propsrestart")
    _create(client, name)
    client.alter_collection_properties(
        name, properties={TTL: 3600, "collection.autocompaction.enabled": False}
    )
    client.alter_collection_field(name, "tag", field_params={"max_length": 20})
    client.release_collection(name)
    client.alter_index_properties(name, "vec_idx", properties={"mmap.enabled": True})
    client.close()

    own_server.kill()
    own_server.start()

    client = MilvusClient(uri=own_server.uri, timeout=60)
    try:
        shown = client.describe_collection(name)["properties"]
        assert shown[TTL] == "3600"
        assert shown["collection.autocompaction.enabled"] == "False"
        assert _field(client, name, "tag")["params"]["max_length"] == 20
        assert client.describe_index(name, "vec_idx")["mmap.enabled"] == "True"
    finally:
        client.close()
