"""Authentication and RBAC through real pymilvus, on a server started with
``security.authorization_enabled`` (issue 15): who is refused, what a user with
CollectionReadOnly on one collection may do, and that a refused request changes
nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pymilvus import MilvusClient

from .helpers import ON_MILVUS_LITE, TARGET
from .server import ElanusServer, free_port

pytestmark = pytest.mark.skipif(
    ON_MILVUS_LITE or TARGET == "cluster",
    reason="needs a server of its own with authorization enabled (standalone only so far)",
)

ROOT_TOKEN = "root:Milvus"
VECTOR = [0.1, 0.2, 0.3, 0.4]


def _root_probe(uri: str) -> None:
    client = MilvusClient(uri=uri, token=ROOT_TOKEN, timeout=5)
    client.list_collections()
    client.close()


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ElanusServer]:
    base: Path = tmp_path_factory.mktemp("elanus-auth")
    server = ElanusServer(
        data_dir=base / "data",
        port=free_port(),
        log_path=base / "elanus.log",
        env={"ELANUS_SECURITY_AUTHORIZATION_ENABLED": "true"},
        ready_probe=_root_probe,
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def root(auth_server: ElanusServer) -> Iterator[MilvusClient]:
    client = MilvusClient(uri=auth_server.uri, token=ROOT_TOKEN)
    yield client
    for user in client.list_users():
        if user != "root":
            client.drop_user(user)
    for role in client.list_roles():
        if role not in ("admin", "public"):
            client.drop_role(role, force_drop=True)
    for name in client.list_collections():
        client.drop_collection(name)
    client.close()


def refused(call: Callable[[], Any]) -> bool:
    """Whether the call was refused (pymilvus raises a MilvusException, or the
    gRPC error itself for a PERMISSION_DENIED, as against Milvus)."""
    try:
        call()
    except Exception:  # noqa: BLE001 - any refusal counts; success is the failure here
        return True
    return False


def client_as(server: ElanusServer, token: str) -> MilvusClient:
    return MilvusClient(uri=server.uri, token=token, timeout=10)


def test_missing_or_wrong_credentials_are_refused(auth_server: ElanusServer) -> None:
    assert refused(lambda: MilvusClient(uri=auth_server.uri, timeout=5).list_collections())
    assert refused(lambda: client_as(auth_server, "root:wrong-one").list_collections())
    assert refused(lambda: client_as(auth_server, "nobody:whatever").list_collections())


def test_a_password_change_and_a_drop_lock_the_user_out(
    auth_server: ElanusServer, root: MilvusClient
) -> None:
    root.create_user("carol", "first-pass")
    carol = client_as(auth_server, "carol:first-pass")
    carol.list_collections()
    root.update_password("carol", "first-pass", "second-pass")
    assert refused(carol.list_collections)
    assert refused(lambda: client_as(auth_server, "carol:first-pass").list_collections())
    client_as(auth_server, "carol:second-pass").list_collections()
    root.drop_user("carol")
    assert refused(lambda: client_as(auth_server, "carol:second-pass").list_collections())
    assert "carol" not in root.list_users()


def test_root_cannot_be_dropped(root: MilvusClient) -> None:
    assert refused(lambda: root.drop_user("root"))
    assert refused(lambda: root.drop_role("admin"))
    assert "root" in root.list_users()


def test_collection_read_only_reads_one_collection_and_nothing_else(
    auth_server: ElanusServer, root: MilvusClient
) -> None:
    root.create_collection("books", dimension=4)
    root.create_collection("films", dimension=4)
    root.insert("books", [{"id": 1, "vector": VECTOR}])
    root.create_user("alice", "wonder-42")
    root.create_role("reader")
    root.grant_privilege_v2("reader", "CollectionReadOnly", "books", db_name="default")
    root.grant_role("alice", "reader")
    assert root.describe_user("alice")["roles"] == ("reader",)
    alice = client_as(auth_server, "alice:wonder-42")

    hits = alice.search("books", [VECTOR], limit=1, consistency_level="Strong")
    assert hits[0][0]["id"] == 1
    assert len(alice.query("books", filter="id >= 0", consistency_level="Strong")) == 1

    refusals = {
        "insert": lambda: alice.insert("books", [{"id": 2, "vector": VECTOR}]),
        "upsert": lambda: alice.upsert("books", [{"id": 1, "vector": [0.0] * 4}]),
        "delete": lambda: alice.delete("books", filter="id >= 0"),
        "drop": lambda: alice.drop_collection("books"),
        "release": lambda: alice.release_collection("books"),
        "create collection": lambda: alice.create_collection("mine", dimension=4),
        "another collection": lambda: alice.search("films", [VECTOR], limit=1),
        "another database": lambda: alice.create_database("elsewhere"),
        "grant itself admin": lambda: alice.grant_role("alice", "admin"),
        "create a user": lambda: alice.create_user("eve", "evil-pass"),
        "create a role": lambda: alice.create_role("mine"),
    }
    allowed = [what for what, call in refusals.items() if not refused(call)]
    assert not allowed, f"alice was allowed to: {allowed}"

    # Nothing changed.
    rows = root.query(
        "books", filter="id >= 0", output_fields=["vector"], consistency_level="Strong"
    )
    assert [row["id"] for row in rows] == [1]
    assert rows[0]["vector"] == pytest.approx(VECTOR)
    assert sorted(root.list_collections()) == ["books", "films"]
    assert "eve" not in root.list_users()
    assert root.describe_user("alice")["roles"] == ("reader",)

    # A revoke holds from the next request.
    root.revoke_privilege_v2("reader", "CollectionReadOnly", "books", db_name="default")
    assert refused(lambda: alice.search("books", [VECTOR], limit=1))


def test_v1_grants_and_custom_privilege_groups(
    auth_server: ElanusServer, root: MilvusClient
) -> None:
    root.create_collection("books", dimension=4)
    root.create_user("bob", "builder-1")
    root.create_role("writer")
    root.grant_role("bob", "writer")
    # pymilvus describes a collection before it writes to it (as against Milvus).
    root.grant_privilege("writer", "Global", "DescribeCollection", "*")
    bob = client_as(auth_server, "bob:builder-1")
    assert refused(lambda: bob.insert("books", [{"id": 5, "vector": VECTOR}]))

    root.grant_privilege("writer", "Collection", "Insert", "books")
    bob.insert("books", [{"id": 5, "vector": VECTOR}])
    grants = root.describe_role("writer")["privileges"]
    assert ("Collection", "books", "Insert") in [
        (g["object_type"], g["object_name"], g["privilege"]) for g in grants
    ]
    root.revoke_privilege("writer", "Collection", "Insert", "books")
    assert refused(lambda: bob.insert("books", [{"id": 6, "vector": VECTOR}]))

    root.create_privilege_group("searchers")
    root.add_privileges_to_group("searchers", ["Search", "Query"])
    root.grant_privilege_v2("writer", "searchers", "books", db_name="default")
    bob.query("books", filter="id >= 0", consistency_level="Strong")
    assert refused(lambda: bob.delete("books", filter="id >= 0"))
    groups = {g["privilege_group"]: g["privileges"] for g in root.list_privilege_groups()}
    assert set(groups["searchers"]) == {"Search", "Query"}
    assert "CollectionReadOnly" in groups
    assert refused(lambda: root.drop_privilege_group("searchers"))  # still granted
    root.revoke_privilege_v2("writer", "searchers", "books", db_name="default")
    root.drop_privilege_group("searchers")
    assert refused(lambda: bob.query("books", filter="id >= 0"))
