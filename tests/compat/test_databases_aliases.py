"""Databases and aliases through pymilvus's MilvusClient (issue 19, points 1 and 2).

A database is a namespace: the same collection name in two databases is two
collections, and a client bound to one database never sees the other's. An
alias is a second name of a collection in its database, accepted wherever a
collection name is, and switched atomically to another collection. Both are
kept by the coordinator and survive a restart. Every refusal is Milvus's code
and message, and changes nothing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest
from pymilvus import MilvusClient, MilvusException

from .helpers import COLLECTION_NOT_FOUND, INVALID_PARAMETER, count_rows, raises_milvus, unique_name
from .server import ElanusServer

pytestmark = pytest.mark.not_on_milvus_lite("Milvus Lite has its own database handling")

DATABASE_NOT_FOUND = 800
DATABASE_LIMIT = 801
DATABASE_INVALID_NAME = 802
ALIAS_NOT_FOUND = 1600
ALIAS_COLLECTION_CONFLICT = 1601
ALIAS_ALREADY_EXIST = 1602
UNEXPECTED = 65535
MAX_DATABASES = 64
DIM = 4


def bound(uri: str, db_name: str) -> MilvusClient:
    return MilvusClient(uri=uri, db_name=db_name, timeout=60)


def drop_everything_in(uri: str, db_name: str) -> None:
    client = bound(uri, db_name)
    try:
        for alias in client.list_aliases()["aliases"]:
            client.drop_alias(alias)
        for name in client.list_collections():
            client.drop_collection(name)
    finally:
        client.close()


@pytest.fixture
def new_database(server_uri: str, client: MilvusClient) -> Iterator[Callable[[], str]]:
    """Hands out new databases and drops them (with what they hold) afterwards."""
    made: list[str] = []

    def make() -> str:
        name = unique_name("db")
        client.create_database(name)
        made.append(name)
        return name

    yield make
    for name in made:
        if name in client.list_databases():
            drop_everything_in(server_uri, name)
            client.drop_database(name)


@pytest.fixture
def aliases_dropped(client: MilvusClient) -> Iterator[list[str]]:
    """Aliases in ``default`` a test made, dropped before its collections are."""
    made: list[str] = []
    yield made
    for alias in made:
        client.drop_alias(alias)


def rows(first: int, count: int, tag: str) -> list[dict]:
    return [
        {"id": i, "vector": [float(i % 7), 1.0, float(i % 3), 0.5], "tag": tag}
        for i in range(first, first + count)
    ]


def ids_of(client: MilvusClient, collection: str) -> list[int]:
    found = client.query(
        collection, filter="id >= 0", output_fields=["id"], consistency_level="Strong"
    )
    return sorted(int(r["id"]) for r in found)


# --- databases


def test_a_database_is_created_listed_described_altered_and_dropped(
    client: MilvusClient,
) -> None:
    name = unique_name("db")
    client.create_database(name, properties={"database.max.collections": "10"})
    try:
        assert name in client.list_databases()
        assert "default" in client.list_databases()
        described = client.describe_database(name)
        assert described["name"] == name
        assert described["database.max.collections"] == "10"

        client.alter_database_properties(name, {"database.replica.number": "1"})
        client.drop_database_properties(name, ["database.max.collections"])
        described = client.describe_database(name)
        assert described["database.replica.number"] == "1"
        assert "database.max.collections" not in described
    finally:
        client.drop_database(name)
    assert name not in client.list_databases()
    with raises_milvus(DATABASE_NOT_FOUND) as missing:
        client.describe_database(name)
    assert f"database not found[database={name}]" in missing.value.message
    # Dropping a database that is not there succeeds, as in Milvus.
    client.drop_database(name)


def test_the_same_collection_name_in_two_databases_is_two_collections(
    server_uri: str, client: MilvusClient, new_database: Callable[[], str]
) -> None:
    first, second = new_database(), new_database()
    name = unique_name("twin")
    one, two = bound(server_uri, first), bound(server_uri, second)
    try:
        one.create_collection(name, dimension=DIM, consistency_level="Strong")
        two.create_collection(name, dimension=DIM, consistency_level="Strong")
        one.insert(name, rows(0, 5, "one"))
        two.insert(name, rows(100, 3, "two"))

        assert ids_of(one, name) == list(range(5))
        assert ids_of(two, name) == list(range(100, 103))
        hits = one.search(name, data=[[1.0, 1.0, 1.0, 0.5]], limit=10)
        assert {h["id"] for h in hits[0]} <= set(range(5))
        assert (
            one.describe_collection(name)["collection_id"]
            != (two.describe_collection(name)["collection_id"])
        )

        # A client bound to one database sees its collections only; `default` has none of them.
        other = unique_name("only_two")
        two.create_collection(other, dimension=DIM)
        assert other not in one.list_collections() and other in two.list_collections()
        assert not client.has_collection(name) and not client.has_collection(other)
        assert not one.has_collection(other)

        # Switching the client's database switches what it sees.
        client.use_database(first)
        try:
            assert ids_of(client, name) == list(range(5))
        finally:
            client.use_database("default")

        # A delete in one database leaves the twin alone.
        one.delete(name, filter="id in [0, 1]")
        assert ids_of(one, name) == [2, 3, 4]
        assert ids_of(two, name) == [100, 101, 102]
    finally:
        one.close()
        two.close()


def test_a_database_is_dropped_only_when_empty_and_default_never(
    server_uri: str, client: MilvusClient
) -> None:
    name = unique_name("db")
    client.create_database(name)
    inside = bound(server_uri, name)
    try:
        collection = unique_name("keep")
        inside.create_collection(collection, dimension=DIM)
        with raises_milvus(UNEXPECTED) as refused:
            client.drop_database(name)
        assert f"database:{name} not empty, must drop all collections" in refused.value.message
        assert name in client.list_databases() and inside.has_collection(collection)

        with raises_milvus(UNEXPECTED) as refused:
            client.drop_database("default")
        assert "can not drop default database" in refused.value.message

        inside.drop_collection(collection)
        client.drop_database(name)
        assert name not in client.list_databases()
    finally:
        inside.close()
    # A client bound to the dropped database is refused, with Milvus's code.
    with raises_milvus(DATABASE_NOT_FOUND):
        stale = bound(server_uri, name)
        try:
            stale.list_collections()
        finally:
            stale.close()


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("12-s", "the first character of a database name must be an underscore or letter"),
        ("中文", "the first character of a database name must be an underscore or letter"),
        ("a-b", "database name can only contain numbers, letters and underscores"),
        ("a" * 256, "the length of a database name must be less than 255 characters"),
    ],
)
def test_an_invalid_database_name_is_refused_and_changes_nothing(
    client: MilvusClient, name: str, message: str
) -> None:
    before = client.list_databases()
    with raises_milvus(DATABASE_INVALID_NAME) as refused:
        client.create_database(name)
    assert message in refused.value.message
    assert "invalid database name" in refused.value.message
    assert client.list_databases() == before


def test_a_duplicate_database_and_the_65th_are_refused(
    client: MilvusClient, new_database: Callable[[], str]
) -> None:
    name = new_database()
    with raises_milvus(UNEXPECTED) as refused:
        client.create_database(name)
    assert f"database already exist: {name}" in refused.value.message

    while len(client.list_databases()) < MAX_DATABASES:
        new_database()
    before = client.list_databases()
    with raises_milvus(DATABASE_LIMIT) as refused:
        client.create_database(unique_name("db"))
    assert "exceeded the limit number of database" in refused.value.message
    assert client.list_databases() == before


# --- aliases


def test_an_alias_is_a_second_name_for_every_read_and_write(
    client: MilvusClient,
    new_collection_name: Callable[[str], str],
    aliases_dropped: list[str],
) -> None:
    name, alias = new_collection_name("target"), unique_name("alias")
    client.create_collection(name, dimension=DIM, consistency_level="Strong")
    client.create_alias(name, alias)
    aliases_dropped.append(alias)

    assert client.describe_alias(alias)["collection_name"] == name
    assert alias in client.list_aliases()["aliases"]
    assert client.list_aliases(name)["aliases"] == [alias]
    assert client.describe_collection(name)["aliases"] == [alias]
    assert client.has_collection(alias)

    client.insert(alias, rows(0, 6, "a"))
    assert ids_of(client, alias) == list(range(6))
    assert ids_of(client, name) == list(range(6))
    hits = client.search(alias, data=[[1.0, 1.0, 1.0, 0.5]], limit=3, output_fields=["tag"])
    assert len(hits[0]) == 3 and all(h["entity"]["tag"] == "a" for h in hits[0])
    client.delete(alias, filter="id in [0, 1]")
    assert ids_of(client, name) == [2, 3, 4, 5]
    client.upsert(alias, rows(2, 1, "b"))
    assert client.get(alias, ids=[2], output_fields=["tag"])[0]["tag"] == "b"
    assert count_rows(client, alias) == 4

    # Dropping the collection by its alias is refused, and so is dropping it while it has one.
    with raises_milvus(UNEXPECTED) as refused:
        client.drop_collection(alias)
    assert f"cannot drop the collection via alias = {alias}" in refused.value.message
    with raises_milvus(UNEXPECTED) as refused:
        client.drop_collection(name)
    assert f"unable to drop the collection [{name}] because it has associated aliases" in (
        refused.value.message
    )
    assert client.has_collection(name) and count_rows(client, name) == 4

    client.drop_alias(alias)
    aliases_dropped.remove(alias)
    with raises_milvus(ALIAS_NOT_FOUND) as missing:
        client.describe_alias(alias)
    assert f"alias not found[database=default][alias={alias}]" in missing.value.message
    assert not client.has_collection(alias)
    client.drop_alias(alias)  # dropping a missing alias succeeds, as in Milvus
    client.drop_collection(name)


def test_an_alias_never_shadows_a_collection_and_bad_inputs_change_nothing(
    client: MilvusClient,
    new_collection_name: Callable[[str], str],
    aliases_dropped: list[str],
) -> None:
    first, second = new_collection_name("first"), new_collection_name("second")
    client.create_collection(first, dimension=DIM)
    client.create_collection(second, dimension=DIM)
    alias = unique_name("alias")
    client.create_alias(first, alias)
    aliases_dropped.append(alias)
    client.create_alias(first, alias)  # again, to the same collection: nothing to do

    with raises_milvus(ALIAS_COLLECTION_CONFLICT) as refused:
        client.create_alias(first, second)
    assert f"alias and collection name conflict[database=default][alias={second}]" in (
        refused.value.message
    )
    with raises_milvus(ALIAS_ALREADY_EXIST) as refused:
        client.create_alias(second, alias)
    assert f"{alias} is alias to another collection: {first}" in refused.value.message
    assert f"alias already exist[database=default][alias={alias}]" in refused.value.message
    with raises_milvus(UNEXPECTED) as refused:
        client.create_collection(alias, dimension=DIM)
    assert f"collection name [{alias}] conflicts with an existing alias" in refused.value.message
    missing = unique_name("missing")
    with raises_milvus(ALIAS_NOT_FOUND):
        client.alter_alias(second, missing)
    with raises_milvus(COLLECTION_NOT_FOUND):
        client.create_alias(unique_name("nothing"), unique_name("alias"))
    for bad in ("12-s", "12 s", "(mn)", "中文"):
        with raises_milvus(INVALID_PARAMETER) as refused:
            client.create_alias(first, bad)
        assert f"Invalid collection alias: {bad}." in refused.value.message
    with raises_milvus(INVALID_PARAMETER) as refused:
        client.create_alias(first, "a" * 256)
    assert "the length of a collection alias must be less than 255 characters" in (
        refused.value.message
    )

    # Nothing changed: one alias, still on the first collection.
    assert client.list_aliases(first)["aliases"] == [alias]
    assert client.list_aliases(second)["aliases"] == []
    assert client.describe_alias(alias)["collection_name"] == first
    assert missing not in client.list_aliases()["aliases"]


def test_aliases_belong_to_their_database(
    server_uri: str, client: MilvusClient, new_database: Callable[[], str]
) -> None:
    db = new_database()
    inside = bound(server_uri, db)
    try:
        name, alias = unique_name("inner"), unique_name("alias")
        inside.create_collection(name, dimension=DIM)
        inside.create_alias(name, alias)
        assert inside.list_aliases()["aliases"] == [alias]
        assert alias not in client.list_aliases()["aliases"]
        assert not client.has_collection(alias)
        with raises_milvus(ALIAS_NOT_FOUND) as missing:
            client.describe_alias(alias)
        assert "[database=default]" in missing.value.message
        described = inside.describe_alias(alias)
        assert described["collection_name"] == name and described["db_name"] == db
    finally:
        inside.close()


def test_alter_alias_switches_under_a_search_load_with_no_failed_search(
    client: MilvusClient,
    new_collection_name: Callable[[str], str],
    aliases_dropped: list[str],
) -> None:
    old, new = new_collection_name("old"), new_collection_name("new")
    for name, first in ((old, 0), (new, 1000)):
        client.create_collection(name, dimension=DIM, consistency_level="Strong")
        client.insert(name, rows(first, 20, name))
        assert count_rows(client, name) == 20
    old_ids, new_ids = set(range(20)), set(range(1000, 1020))
    alias = unique_name("live")
    client.create_alias(old, alias)
    aliases_dropped.append(alias)

    failures: list[BaseException] = []
    seen: list[str] = []
    stop = threading.Event()

    def loop() -> None:
        # The test's own client, shared by the threads: pymilvus 2.5 shares a connection
        # among clients of one uri, so closing another client would close it too.
        while not stop.is_set():
            try:
                hits = client.search(alias, data=[[1.0, 1.0, 1.0, 0.5]], limit=5)
            except MilvusException as exc:
                failures.append(exc)
                continue
            found = {h["id"] for h in hits[0]}
            if found and found <= old_ids:
                seen.append("old")
            elif found and found <= new_ids:
                seen.append("new")
            else:
                failures.append(AssertionError(f"a result from neither or both: {found}"))

    searchers = [threading.Thread(target=loop) for _ in range(2)]
    for thread in searchers:
        thread.start()
    try:
        for target in (new, old, new, old, new):
            _wait_for_searches(seen, 5)
            client.alter_alias(target, alias)
        _wait_for_searches(seen, 5)
    finally:
        stop.set()
        for thread in searchers:
            thread.join(timeout=60)
    assert not failures, failures[:3]
    assert "old" in seen and "new" in seen
    assert client.describe_alias(alias)["collection_name"] == new
    assert (
        client.list_aliases(new)["aliases"] == [alias] and client.list_aliases(old)["aliases"] == []
    )


def _wait_for_searches(seen: list[str], more: int, timeout_s: float = 30.0) -> None:
    start, deadline = len(seen), time.monotonic() + timeout_s
    while len(seen) < start + more and time.monotonic() < deadline:
        time.sleep(0.02)


# --- restarts


def test_databases_and_aliases_survive_a_restart(own_server: ElanusServer) -> None:
    client = MilvusClient(uri=own_server.uri, timeout=60)
    db, name, alias = unique_name("db"), unique_name("kept"), unique_name("alias")
    client.create_database(db, properties={"database.replica.number": "1"})
    inside = bound(own_server.uri, db)
    inside.create_collection(name, dimension=DIM, consistency_level="Strong")
    inside.insert(name, rows(0, 4, "kept"))
    assert count_rows(inside, name) == 4
    inside.create_alias(name, alias)
    inside.close()
    client.close()

    own_server.kill()
    own_server.start()

    client = MilvusClient(uri=own_server.uri, timeout=60)
    inside = bound(own_server.uri, db)
    try:
        assert db in client.list_databases()
        assert client.describe_database(db)["database.replica.number"] == "1"
        assert inside.describe_alias(alias)["collection_name"] == name
        inside.load_collection(name)
        assert ids_of(inside, alias) == [0, 1, 2, 3]
        assert not client.has_collection(name)
    finally:
        inside.close()
        client.close()
