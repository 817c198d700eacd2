"""RBAC changes with Milvus's checks: a refused change leaves the state as it was."""

from __future__ import annotations

import pytest

from elanus import errors
from elanus.access.grants import Grant, Wanted, permits
from elanus.access.privileges import COLLECTION, GLOBAL
from elanus.access.rbac import ROOT_USER, RbacState, validate_group_name, validate_role_name


def state_with_reader() -> RbacState:
    state = RbacState()
    state.create_role("reader")
    state.bind("alice", "reader", add=True, user_exists=True)
    return state


def may(state: RbacState, user: str, wanted: Wanted) -> bool:
    return permits(state.roles_of(user), wanted, state.grants, state.all_groups())


def search(collection: str, db: str = "default") -> Wanted:
    return Wanted("Search", COLLECTION, collection, db)


def test_builtin_roles_exist_and_cannot_be_dropped() -> None:
    state = RbacState()
    assert set(state.roles) == {"admin", "public"}
    for role in ("admin", "public"):
        with pytest.raises(errors.PrivilegeNotPermitted, match="default role"):
            state.drop_role(role)


def test_root_always_holds_admin_and_cannot_lose_it() -> None:
    state = RbacState()
    assert "admin" in state.roles_of(ROOT_USER)
    with pytest.raises(errors.PrivilegeNotPermitted):
        state.bind(ROOT_USER, "admin", add=False, user_exists=True)
    assert may(state, ROOT_USER, Wanted("DropDatabase", GLOBAL, "*", "x"))


def test_a_role_with_grants_drops_only_when_forced() -> None:
    state = state_with_reader()
    state.grant_v2(Grant("reader", "", "books", "default", "CollectionReadOnly"), add=True)
    before = state.to_json()
    with pytest.raises(errors.OperationRefused, match="Use REVOKE API"):
        state.drop_role("reader")
    assert state.to_json() == before
    state.drop_role("reader", force=True)
    assert "reader" not in state.roles and not state.grants
    assert state.roles_of("alice") == set()


def test_binding_needs_the_role_and_on_add_the_user() -> None:
    state = RbacState()
    with pytest.raises(errors.OperationRefused, match="not found the role"):
        state.bind("alice", "ghost", add=True, user_exists=True)
    state.create_role("r")
    with pytest.raises(errors.OperationRefused, match="not found the user"):
        state.bind("ghost", "r", add=True, user_exists=False)
    with pytest.raises(errors.OperationRefused, match="already exists"):
        state.create_role("r")


def test_grant_and_revoke_v2_of_a_group_on_one_collection() -> None:
    state = state_with_reader()
    grant = Grant("reader", "", "books", "default", "CollectionReadOnly", "root")
    state.grant_v2(grant, add=True)
    assert may(state, "alice", search("books"))
    assert not may(state, "alice", search("films"))
    assert not may(state, "alice", Wanted("Insert", COLLECTION, "books", "default"))
    state.grant_v2(grant, add=False)
    assert not may(state, "alice", search("books"))


def test_v1_refuses_groups_and_privileges_of_another_object() -> None:
    state = state_with_reader()
    with pytest.raises(errors.OperationRefused, match="built-in privilege group"):
        state.grant_v1(Grant("reader", GLOBAL, "*", "default", "CollectionReadOnly"), add=True)
    with pytest.raises(errors.OperationRefused, match=r"not found the privilege name\[Search\]"):
        state.grant_v1(Grant("reader", GLOBAL, "*", "default", "Search"), add=True)
    state.grant_v1(Grant("reader", COLLECTION, "books", "default", "Search"), add=True)
    assert may(state, "alice", search("books"))


def test_granting_load_grants_watching_it_load() -> None:
    state = state_with_reader()
    state.grant_v1(Grant("reader", COLLECTION, "books", "default", "Load"), add=True)
    assert may(state, "alice", Wanted("GetLoadState", COLLECTION, "books", "default"))
    state.grant_v1(Grant("reader", COLLECTION, "books", "default", "Load"), add=False)
    assert not state.grants


def test_group_scope_rules_of_v2() -> None:
    state = state_with_reader()
    with pytest.raises(errors.ParameterInvalid, match="cluster level"):
        state.grant_v2(Grant("reader", "", "*", "default", "ClusterReadOnly"), add=True)
    with pytest.raises(errors.ParameterInvalid, match="database level"):
        state.grant_v2(Grant("reader", "", "books", "default", "DatabaseReadOnly"), add=True)
    with pytest.raises(errors.ParameterInvalid, match="specify database name"):
        state.grant_v2(Grant("reader", "", "books", "*", "CollectionReadOnly"), add=True)
    assert not state.grants


def test_custom_groups_are_granted_and_cannot_be_dropped_while_granted() -> None:
    state = state_with_reader()
    state.create_group("searchers")
    state.operate_group("searchers", ["Search", "Query"], add=True)
    with pytest.raises(errors.OperationRefused, match="not valid"):
        state.operate_group("searchers", ["Fly"], add=True)
    state.grant_v2(Grant("reader", "", "books", "default", "searchers"), add=True)
    assert may(state, "alice", search("books"))
    with pytest.raises(errors.OperationRefused, match="is used by role"):
        state.drop_group("searchers")
    state.operate_group("searchers", ["Search"], add=False)
    assert not may(state, "alice", search("books"))
    with pytest.raises(errors.OperationRefused, match="already exists"):
        state.create_group("CollectionReadOnly")


def test_names_follow_milvus_rules() -> None:
    assert validate_role_name("  ok_role$1 ") == "ok_role$1"
    with pytest.raises(errors.ParameterInvalid, match="first character"):
        validate_role_name("1abc")
    with pytest.raises(errors.ParameterInvalid, match="can only contain"):
        validate_role_name("a-b")
    with pytest.raises(errors.PrivilegeGroupInvalidName):
        validate_group_name("")
    with pytest.raises(errors.ParameterInvalid):
        validate_group_name("a b")


def test_the_state_survives_its_json() -> None:
    state = state_with_reader()
    state.create_group("g")
    state.operate_group("g", ["Query"], add=True)
    state.grant_v2(Grant("reader", "", "books", "default", "g", "root"), add=True)
    again = RbacState.from_json(state.to_json())
    assert again == state
