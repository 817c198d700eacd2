"""The proxy's guard: who is let in, what they may do, and that a change made
through the coordinator holds from the very next request."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from coordinator.access import AccessService
from elanus import errors
from elanus.access.changes import AccessChange, AccessOp, AccessSnapshot
from elanus.access.grants import Grant
from elanus.kv.embedded import EmbeddedKV
from proto.public import milvus_pb2 as pb
from proxy.guard import AuthGuard, object_names
from proxy.pipeline import Call, on_collection, on_global, on_user


class CountingSource:
    """The coordinator's access calls, counted."""

    def __init__(self, service: AccessService) -> None:
        self.service = service
        self.snapshots = 0

    def access_version(self) -> int:
        return self.service.version()

    def access_snapshot(self) -> AccessSnapshot:
        self.snapshots += 1
        return self.service.snapshot()


@pytest.fixture
def service(tmp_path: Path) -> AccessService:
    access = AccessService(EmbeddedKV(tmp_path / "kv.sqlite"), "Milvus")
    access.change(AccessChange(AccessOp.CREATE_USER, user="alice", password="wonder-42"))
    access.change(AccessChange(AccessOp.CREATE_ROLE, role="reader"))
    access.change(AccessChange(AccessOp.BIND_ROLE, user="alice", role="reader"))
    return access


def call_as(user: str, password: str, method: str = "Search") -> Call:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return Call(method, collection_name="books", metadata={"authorization": token})


def search_request() -> pb.SearchRequest:
    return pb.SearchRequest(collection_name="books")


def test_credentials_are_required_and_checked(service: AccessService) -> None:
    guard = AuthGuard(CountingSource(service))
    with pytest.raises(errors.Unauthenticated, match="missing authorization"):
        guard.admit(Call("Search"), None, search_request())
    with pytest.raises(errors.Unauthenticated, match="auth check failure"):
        guard.admit(call_as("alice", "wrong-one"), None, search_request())
    with pytest.raises(errors.Unauthenticated):
        guard.admit(Call("Search", metadata={"authorization": "%%%"}), None, search_request())
    call = call_as("alice", "wonder-42")
    guard.admit(call, None, search_request())
    assert call.user == "alice"


def test_a_grant_and_a_revoke_hold_from_the_next_request(service: AccessService) -> None:
    source = CountingSource(service)
    guard = AuthGuard(source)
    search = on_collection("Search")
    with pytest.raises(errors.PermissionDenied, match="PrivilegeSearch: permission deny to alice"):
        guard.admit(call_as("alice", "wonder-42"), search, search_request())
    grant = Grant("reader", "", "books", "default", "CollectionReadOnly", "root")
    service.change(AccessChange(AccessOp.GRANT_V2, grant=grant))
    guard.admit(call_as("alice", "wonder-42"), search, search_request())
    fetched = source.snapshots
    guard.admit(call_as("alice", "wonder-42"), search, search_request())
    assert source.snapshots == fetched  # unchanged version: the copy is reused
    service.change(AccessChange(AccessOp.GRANT_V2, grant=grant, add=False))
    with pytest.raises(errors.PermissionDenied):
        guard.admit(call_as("alice", "wonder-42"), search, search_request())


def test_a_new_password_or_a_dropped_user_is_refused_at_once(service: AccessService) -> None:
    guard = AuthGuard(CountingSource(service))
    guard.admit(call_as("alice", "wonder-42"), None, search_request())  # cached
    service.change(AccessChange(AccessOp.UPDATE_PASSWORD, user="alice", password="wonder-43"))
    with pytest.raises(errors.Unauthenticated):
        guard.admit(call_as("alice", "wonder-42"), None, search_request())
    guard.admit(call_as("alice", "wonder-43"), None, search_request())
    service.change(AccessChange(AccessOp.DELETE_USER, user="alice"))
    with pytest.raises(errors.Unauthenticated):
        guard.admit(call_as("alice", "wonder-43"), None, search_request())


def test_root_may_do_anything_and_a_user_may_change_its_own_password(
    service: AccessService,
) -> None:
    guard = AuthGuard(CountingSource(service))
    guard.admit(call_as("root", "Milvus"), on_global("DropDatabase"), pb.DropDatabaseRequest())
    own = pb.UpdateCredentialRequest(username="alice")
    guard.admit(call_as("alice", "wonder-42"), on_user("UpdateUser"), own)
    other = pb.UpdateCredentialRequest(username="root")
    with pytest.raises(errors.PermissionDenied):
        guard.admit(call_as("alice", "wonder-42"), on_user("UpdateUser"), other)


def test_object_names_follow_the_field_milvus_reads() -> None:
    assert object_names(on_collection("Search"), search_request()) == ["books"]
    flush = pb.FlushRequest(collection_names=["a", "b"])
    assert object_names(on_collection("Flush"), flush) == ["a", "b"]
    assert object_names(
        on_user("SelectUser"), pb.SelectUserRequest(user=pb.UserEntity(name="u"))
    ) == ["u"]
    assert object_names(on_global("CreateCollection"), pb.CreateCollectionRequest()) == ["*"]


def test_every_rpc_with_a_privilege_is_refused_to_a_user_without_it(
    service: AccessService,
) -> None:
    """Walks the whole route table: a route added without its privilege, or a
    privilege the guard does not enforce, fails here. The refusal comes before
    the handler (the context given cannot serve anything)."""
    from typing import Any, cast

    from google.protobuf import symbol_database

    from proxy.pipeline import PUBLIC, Pipeline
    from proxy.routes import ROUTES

    service.change(AccessChange(AccessOp.CREATE_USER, user="nobody", password="nothing-1"))
    pipeline = Pipeline(cast(Any, object()), ROUTES, guard=AuthGuard(CountingSource(service)))
    methods = pb.DESCRIPTOR.services_by_name["MilvusService"].methods_by_name
    database = symbol_database.Default()
    token = base64.b64encode(b"nobody:nothing-1").decode()
    checked = []
    for route in ROUTES:
        if route.privilege is PUBLIC:
            continue
        request_type = database.GetSymbol(methods[route.method].input_type.full_name)
        request = request_type()  # a User object left empty names every user, not one's own
        with pytest.raises(errors.PermissionDenied):
            pipeline.serve(route.method, request, {"authorization": token})
        checked.append(route.method)
    assert {"Search", "Insert", "CreateCollection", "CreateCredential"} <= set(checked)
