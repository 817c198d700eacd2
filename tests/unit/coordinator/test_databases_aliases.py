"""The coordinator's databases and aliases: kept in the KV, scoped, refused as Milvus refuses."""

from __future__ import annotations

import threading

import pytest
from test_coordinator_core import Env, schema

from coordinator import Coordinator
from coordinator.catalog import MAX_DATABASES
from elanus import errors
from elanus.meta import DEFAULT_DB, CollectionInfo, ConsistencyLevel


def create(coord: Coordinator, db: str, name: str) -> CollectionInfo:
    return coord.create_collection(db, schema(name), 1, ConsistencyLevel.BOUNDED, {})


# --- databases


def test_default_always_exists_and_cannot_be_dropped(env: Env) -> None:
    coord = env.coordinator
    assert [d.name for d in coord.list_databases()] == [DEFAULT_DB]
    assert coord.describe_database(DEFAULT_DB).db_id == 1
    with pytest.raises(errors.OperationRefused, match="can not drop default database"):
        coord.drop_database(DEFAULT_DB)


def test_a_database_is_created_described_altered_and_dropped(env: Env) -> None:
    coord = env.coordinator
    coord.create_database("shop", {"a": "1"})
    shop = coord.describe_database("shop")
    assert shop.name == "shop" and shop.properties == {"a": "1"} and shop.db_id != 1
    assert shop.created_ts > 0
    assert [d.name for d in coord.list_databases()] == [DEFAULT_DB, "shop"]

    coord.alter_database("shop", {"b": "2"}, ())
    coord.alter_database("shop", {}, ("a", "never-set"))
    assert coord.describe_database("shop").properties == {"b": "2"}

    coord.drop_database("shop")
    with pytest.raises(errors.DatabaseNotFound) as missing:
        coord.describe_database("shop")
    assert missing.value.code == 800 and missing.value.reason == "database not found[database=shop]"
    coord.drop_database("shop")  # a database that is not there: no error, as in Milvus
    assert not [kv.key for kv in env.kv.get_prefix("databases/")]


def test_a_duplicate_database_and_one_past_the_limit_are_refused(env: Env) -> None:
    coord = env.coordinator
    coord.create_database("shop", {})
    with pytest.raises(errors.OperationRefused, match="database already exist: shop"):
        coord.create_database("shop", {"x": "y"})
    assert coord.describe_database("shop").properties == {}
    for i in range(MAX_DATABASES - 2):
        coord.create_database(f"db{i}", {})
    assert len(coord.list_databases()) == MAX_DATABASES
    with pytest.raises(errors.DatabaseNumLimitExceeded) as refused:
        coord.create_database("one_more", {})
    assert refused.value.code == 801
    assert len(coord.list_databases()) == MAX_DATABASES


def test_a_database_holding_collections_is_not_dropped(env: Env) -> None:
    coord = env.coordinator
    coord.create_database("shop", {})
    create(coord, "shop", "orders")
    with pytest.raises(errors.OperationRefused, match="database:shop not empty"):
        coord.drop_database("shop")
    coord.drop_collection("shop", "orders")
    coord.drop_database("shop")
    assert [d.name for d in coord.list_databases()] == [DEFAULT_DB]


def test_nothing_is_made_or_read_in_a_missing_database(env: Env) -> None:
    coord = env.coordinator
    with pytest.raises(errors.DatabaseNotFound):
        create(coord, "nowhere", "c")
    with pytest.raises(errors.DatabaseNotFound):
        coord.list_collections("nowhere")
    with pytest.raises(errors.DatabaseNotFound):
        coord.describe_collection("nowhere", "c")
    assert not [kv.key for kv in env.kv.get_prefix("collection-names/")]


def test_collections_of_the_same_name_in_two_databases_are_apart(env: Env) -> None:
    coord = env.coordinator
    coord.create_database("a", {})
    coord.create_database("b", {})
    in_a, in_b = create(coord, "a", "c"), create(coord, "b", "c")
    assert in_a.collection_id != in_b.collection_id
    assert coord.describe_collection("a", "c") == in_a
    assert coord.describe_collection("b", "c") == in_b
    with pytest.raises(errors.CollectionNotFound):
        coord.describe_collection(DEFAULT_DB, "c")
    coord.drop_collection("a", "c")
    assert coord.describe_collection("b", "c") == in_b


# --- aliases


def test_an_alias_names_its_collection_wherever_a_name_is_taken(env: Env) -> None:
    coord = env.coordinator
    info = create(coord, DEFAULT_DB, "books")
    coord.create_alias(DEFAULT_DB, "library", "books")
    coord.create_alias(DEFAULT_DB, "library", "books")  # again: nothing to do
    assert coord.describe_collection(DEFAULT_DB, "library") == info
    assert coord.describe_alias(DEFAULT_DB, "library") == "books"
    assert coord.list_aliases(DEFAULT_DB, "") == ["library"]
    assert coord.list_aliases(DEFAULT_DB, "books") == ["library"]
    assert coord.list_aliases(DEFAULT_DB, "library") == ["library"]
    # A partition made through the alias is the collection's.
    coord.create_partition(DEFAULT_DB, coord.describe_collection(DEFAULT_DB, "library").name, "p")
    assert coord.describe_collection(DEFAULT_DB, "books").partition("p") is not None


def test_an_alias_and_a_collection_never_share_a_name(env: Env) -> None:
    coord = env.coordinator
    create(coord, DEFAULT_DB, "books")
    create(coord, DEFAULT_DB, "films")
    coord.create_alias(DEFAULT_DB, "shelf", "books")
    with pytest.raises(errors.AliasCollectionNameConflict) as conflict:
        coord.create_alias(DEFAULT_DB, "films", "books")
    assert conflict.value.code == 1601
    assert conflict.value.reason == (
        "alias and collection name conflict[database=default][alias=films]"
    )
    with pytest.raises(errors.OperationRefused, match=r"collection name \[shelf\] conflicts"):
        create(coord, DEFAULT_DB, "shelf")
    with pytest.raises(errors.AliasAlreadyExist) as taken:
        coord.create_alias(DEFAULT_DB, "shelf", "films")
    assert taken.value.reason == (
        "shelf is alias to another collection: books: "
        "alias already exist[database=default][alias=shelf]"
    )
    with pytest.raises(errors.CollectionNotFound):
        coord.create_alias(DEFAULT_DB, "other", "nothing")
    assert coord.list_aliases(DEFAULT_DB, "") == ["shelf"]
    assert coord.describe_alias(DEFAULT_DB, "shelf") == "books"


def test_a_collection_with_aliases_is_not_dropped_nor_dropped_through_one(env: Env) -> None:
    coord = env.coordinator
    create(coord, DEFAULT_DB, "books")
    coord.create_alias(DEFAULT_DB, "b", "books")
    coord.create_alias(DEFAULT_DB, "a", "books")
    with pytest.raises(errors.OperationRefused, match="cannot drop the collection via alias = a"):
        coord.drop_collection(DEFAULT_DB, "a")
    with pytest.raises(errors.OperationRefused) as refused:
        coord.drop_collection(DEFAULT_DB, "books")
    assert refused.value.code == 65535
    assert refused.value.reason.startswith(
        "unable to drop the collection [books] because it has associated aliases [a b]"
    )
    coord.drop_alias(DEFAULT_DB, "a")
    coord.drop_alias(DEFAULT_DB, "b")
    coord.drop_alias(DEFAULT_DB, "b")  # a missing alias: no error, as in Milvus
    coord.drop_collection(DEFAULT_DB, "books")
    assert not [kv.key for kv in env.kv.get_prefix("aliases/")]


def test_alter_alias_switches_in_one_step(env: Env) -> None:
    coord = env.coordinator
    old, new = create(coord, DEFAULT_DB, "old"), create(coord, DEFAULT_DB, "new")
    with pytest.raises(errors.AliasNotFound) as missing:
        coord.alter_alias(DEFAULT_DB, "live", "new")
    assert missing.value.reason == "alias not found[database=default][alias=live]"
    coord.create_alias(DEFAULT_DB, "live", "old")

    seen: set[int] = set()
    failures: list[BaseException] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            try:
                seen.add(coord.describe_collection(DEFAULT_DB, "live").collection_id)
            except errors.ElanusError as exc:
                failures.append(exc)

    reader = threading.Thread(target=read)
    reader.start()
    for target in ("new", "old") * 20 + ("new",):
        coord.alter_alias(DEFAULT_DB, "live", target)
    stop.set()
    reader.join()
    assert not failures
    assert seen <= {old.collection_id, new.collection_id}
    assert coord.describe_alias(DEFAULT_DB, "live") == "new"
    assert coord.list_aliases(DEFAULT_DB, "old") == []


def test_aliases_are_scoped_by_database(env: Env) -> None:
    coord = env.coordinator
    coord.create_database("shop", {})
    here, there = create(coord, DEFAULT_DB, "c"), create(coord, "shop", "c")
    coord.create_alias(DEFAULT_DB, "x", "c")
    coord.create_alias("shop", "x", "c")
    assert coord.describe_collection(DEFAULT_DB, "x") == here
    assert coord.describe_collection("shop", "x") == there
    coord.drop_alias("shop", "x")
    with pytest.raises(errors.AliasNotFound, match=r"\[database=shop\]\[alias=x\]"):
        coord.describe_alias("shop", "x")
    assert coord.describe_alias(DEFAULT_DB, "x") == "c"


def test_databases_and_aliases_survive_a_restart(env: Env) -> None:
    coord = env.coordinator
    coord.create_database("shop", {"k": "v"})
    info = create(coord, "shop", "orders")
    coord.create_alias("shop", "current", "orders")
    before = coord.describe_database("shop")

    coord = env.reopen()
    assert coord.describe_database("shop") == before
    assert coord.describe_collection("shop", "current") == info
    assert coord.list_aliases("shop", "orders") == ["current"]
    with pytest.raises(errors.OperationRefused):
        coord.drop_database("shop")
