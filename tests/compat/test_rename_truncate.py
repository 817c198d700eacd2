"""RenameCollection and TruncateCollection through pymilvus (issue 19, point 5).

A rename gives a collection a new name, in its database or another one; it
keeps its rows, indexes, load state and (in its database) its aliases, which
name it and not its old name. Milvus's rules: the old name must be a collection,
not an alias; the new one must be neither a collection nor an alias there; a
collection with aliases cannot move to another database. A truncate removes
every row and keeps the rest. Refusals carry Milvus's codes and change nothing;
both survive a restart.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pymilvus import DataType, MilvusClient

from .helpers import COLLECTION_NOT_FOUND, INVALID_PARAMETER, count_rows, raises_milvus, unique_name
from .server import ElanusServer

pytestmark = pytest.mark.not_on_milvus_lite("Milvus Lite 2.5 has no Rename/TruncateCollection")

DATABASE_NOT_FOUND = 800
ALIAS_COLLECTION_CONFLICT = 1601
DIM = 4


def rows(first: int, count: int) -> list[dict]:
    return [
        {"id": i, "vector": [float(i % 7), 1.0, float(i % 3), 0.5], "tag": f"t{i % 4}"}
        for i in range(first, first + count)
    ]


def ids_of(client: MilvusClient, collection: str) -> list[int]:
    found = client.query(
        collection, filter="id >= 0", output_fields=["id"], consistency_level="Strong"
    )
    return sorted(int(r["id"]) for r in found)


def make_loaded(client: MilvusClient, name: str, count: int) -> None:
    """A collection with an IVF index (so the index is visibly kept), loaded, with rows."""
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=True)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=DIM)
    index = client.prepare_index_params()
    index.add_index("vector", index_type="IVF_FLAT", metric_type="L2", params={"nlist": 4})
    client.create_collection(name, schema=schema, index_params=index, consistency_level="Strong")
    client.insert(name, rows(0, count))


@pytest.fixture
def cleanup(server_uri: str, client: MilvusClient) -> Iterator[list[tuple[str, str]]]:
    """(database, collection) pairs a test may leave behind: the collections (with their
    aliases) are dropped afterwards, then the databases other than ``default``."""
    made: list[tuple[str, str]] = []
    yield made
    for db in dict.fromkeys(db for db, _ in made):
        inside = MilvusClient(uri=server_uri, db_name=db, timeout=60)
        try:
            for name in (n for d, n in made if d == db):
                if inside.has_collection(name):
                    for alias in inside.list_aliases(name)["aliases"]:
                        inside.drop_alias(alias)
                    inside.drop_collection(name)
            empty = not inside.list_collections()
        finally:
            inside.close()
        if db != "default" and empty:
            client.drop_database(db)


# --- rename


def test_a_rename_keeps_rows_indexes_load_state_and_aliases(
    client: MilvusClient, cleanup: list[tuple[str, str]]
) -> None:
    old, new, alias = unique_name("old"), unique_name("new"), unique_name("alias")
    cleanup.append(("default", new))
    cleanup.append(("default", old))
    make_loaded(client, old, 20)
    client.create_alias(old, alias)
    index_before = client.describe_index(old, "vector")

    client.rename_collection(old, new)

    assert not client.has_collection(old)
    assert client.has_collection(new)
    assert new in client.list_collections() and old not in client.list_collections()
    assert str(client.get_load_state(new)["state"]) == "Loaded"
    assert ids_of(client, new) == list(range(20))
    assert client.describe_index(new, "vector") == index_before
    assert client.describe_alias(alias)["collection_name"] == new
    assert client.list_aliases(new)["aliases"] == [alias]
    assert client.describe_collection(new)["collection_name"] == new
    # Reads and writes go on under the new name and through the alias.
    client.insert(alias, rows(20, 5))
    hits = client.search(new, [[1.0, 1.0, 1.0, 0.5]], limit=3, output_fields=["tag"])
    assert len(hits[0]) == 3
    assert ids_of(client, alias) == list(range(25))
    with raises_milvus(COLLECTION_NOT_FOUND):
        client.query(old, filter="id >= 0")
    client.drop_alias(alias)


def test_a_rename_into_another_database_moves_the_collection(
    server_uri: str, client: MilvusClient, cleanup: list[tuple[str, str]]
) -> None:
    db, old, new = unique_name("db"), unique_name("old"), unique_name("moved")
    client.create_database(db)
    cleanup.append((db, new))
    cleanup.append(("default", old))
    make_loaded(client, old, 10)

    client.rename_collection(old, new, target_db=db)

    assert not client.has_collection(old)
    inside = MilvusClient(uri=server_uri, db_name=db, timeout=60)
    try:
        assert inside.list_collections() == [new]
        assert ids_of(inside, new) == list(range(10))
        assert inside.describe_collection(new)["collection_name"] == new
        inside.insert(new, rows(10, 2))
        assert count_rows(inside, new) == 12
    finally:
        inside.close()


def test_refused_renames_change_nothing(
    client: MilvusClient, cleanup: list[tuple[str, str]]
) -> None:
    first, second, alias = unique_name("first"), unique_name("second"), unique_name("alias")
    cleanup.append(("default", first))
    cleanup.append(("default", second))
    make_loaded(client, first, 6)
    client.create_collection(second, dimension=DIM)
    client.create_alias(first, alias)
    try:
        with raises_milvus(COLLECTION_NOT_FOUND):
            client.rename_collection(unique_name("missing"), unique_name("any"))
        with raises_milvus(INVALID_PARAMETER):  # taken by a collection
            client.rename_collection(first, second)
        with raises_milvus(INVALID_PARAMETER):  # to itself: the name is taken
            client.rename_collection(first, first)
        with raises_milvus(ALIAS_COLLECTION_CONFLICT):  # taken by an alias
            client.rename_collection(second, alias)
        with raises_milvus(INVALID_PARAMETER):  # an alias is not renamed
            client.rename_collection(alias, unique_name("via_alias"))
        with raises_milvus(INVALID_PARAMETER):  # a malformed new name
            client._get_connection().rename_collections(first, "1-bad name")
        with raises_milvus(DATABASE_NOT_FOUND):
            client.rename_collection(first, unique_name("any"), target_db=unique_name("nodb"))
        other_db = unique_name("db")
        client.create_database(other_db)
        cleanup.append((other_db, "none"))
        with raises_milvus(INVALID_PARAMETER):  # its aliases cannot follow it there
            client.rename_collection(first, unique_name("moved"), target_db=other_db)

        assert client.has_collection(first) and client.has_collection(second)
        assert client.describe_alias(alias)["collection_name"] == first
        assert ids_of(client, first) == list(range(6))
        assert str(client.get_load_state(first)["state"]) == "Loaded"
    finally:
        client.drop_alias(alias)


def test_a_rename_survives_a_restart(own_server: ElanusServer) -> None:
    client = MilvusClient(uri=own_server.uri, timeout=60)
    old, new, alias = unique_name("old"), unique_name("renamed"), unique_name("alias")
    make_loaded(client, old, 8)
    client.create_alias(old, alias)
    client.rename_collection(old, new)
    client.close()

    own_server.kill()
    own_server.start()

    client = MilvusClient(uri=own_server.uri, timeout=60)
    try:
        assert not client.has_collection(old)
        assert client.describe_alias(alias)["collection_name"] == new
        client.load_collection(new)
        assert ids_of(client, alias) == list(range(8))
        # The old name is free again.
        client.create_collection(old, dimension=DIM)
        assert client.has_collection(old) and client.has_collection(new)
    finally:
        client.close()


# --- truncate


def truncate(client: MilvusClient, name: str) -> None:
    """MilvusClient.truncate_collection (pymilvus 3.x; 2.5 has neither it nor the RPC)."""
    if not hasattr(client, "truncate_collection"):
        pytest.skip("pymilvus 2.5 has no truncate_collection (nor TruncateCollectionRequest)")
    client.truncate_collection(name)


def definition(index: dict) -> dict:
    """An index's definition: describe_index without its row counts (which a truncate zeroes)."""
    return {k: v for k, v in index.items() if not k.endswith("_rows")}


def test_a_truncate_under_a_loaded_collection_keeps_all_but_the_rows(
    client: MilvusClient, cleanup: list[tuple[str, str]]
) -> None:
    name, alias = unique_name("trunc"), unique_name("alias")
    cleanup.append(("default", name))
    make_loaded(client, name, 30)
    client.flush(name)  # some rows in flushed segments ...
    client.insert(name, rows(30, 10))  # ... and some still growing
    client.create_alias(name, alias)
    client.create_partition(name, "recent")
    client.insert(name, rows(40, 3), partition_name="recent")
    described = client.describe_collection(name)
    index = client.describe_index(name, "vector")
    assert count_rows(client, name) == 43

    truncate(client, name)

    assert count_rows(client, name) == 0
    assert client.query(name, filter="id >= 0", consistency_level="Strong") == []
    hits = client.search(name, [[1.0, 1.0, 1.0, 0.5]], limit=5, consistency_level="Strong")
    assert list(hits[0]) == []
    assert client.describe_collection(name) == described
    assert client.list_partitions(name) == ["_default", "recent"]
    client.flush(name)  # statistics count the segments' rows once written out
    assert int(client.get_partition_stats(name, "recent")["row_count"]) == 0
    assert int(client.get_collection_stats(name)["row_count"]) == 0
    assert definition(client.describe_index(name, "vector")) == definition(index)
    assert str(client.get_load_state(name)["state"]) == "Loaded"
    assert client.describe_alias(alias)["collection_name"] == name

    # The collection takes rows again, the same keys included.
    client.insert(alias, rows(35, 10))
    assert ids_of(client, name) == list(range(35, 45))
    client.flush(name)
    assert int(client.get_collection_stats(name)["row_count"]) == 10
    client.drop_alias(alias)


def test_truncating_what_is_not_there_is_refused(
    client: MilvusClient, cleanup: list[tuple[str, str]]
) -> None:
    kept = unique_name("kept")
    cleanup.append(("default", kept))
    make_loaded(client, kept, 5)
    with raises_milvus(COLLECTION_NOT_FOUND):
        truncate(client, unique_name("missing"))
    assert count_rows(client, kept) == 5


def test_a_truncate_survives_a_restart(own_server: ElanusServer) -> None:
    client = MilvusClient(uri=own_server.uri, timeout=60)
    name = unique_name("trunc")
    make_loaded(client, name, 12)
    client.flush(name)
    client.insert(name, rows(12, 3))
    truncate(client, name)
    client.insert(name, rows(100, 4))
    client.flush(name)  # the channels' checkpoints pass the truncate's marks
    client.close()

    own_server.kill()
    own_server.start()

    client = MilvusClient(uri=own_server.uri, timeout=60)
    try:
        client.load_collection(name)
        assert ids_of(client, name) == [100, 101, 102, 103]
        client.flush(name)
        assert int(client.get_collection_stats(name)["row_count"]) == 4
    finally:
        client.close()
