"""The decision whether a user's roles permit a request, against Milvus's rules."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from elanus.access.grants import (
    ADMIN_ROLE,
    Grant,
    Wanted,
    expand,
    groups_with_builtins,
    permits,
)
from elanus.access.privileges import (
    BUILTIN_GROUPS,
    COLLECTION,
    COLLECTION_READ_ONLY,
    GLOBAL,
    SINGLE_PRIVILEGES,
    group_level,
    is_defined,
    object_type_of,
)

GROUPS = groups_with_builtins({"my_readers": ["Search", "Query"]})


def on_collection(privilege: str, name: str, db: str = "default") -> Wanted:
    return Wanted(privilege, COLLECTION, name, db)


def on_global(privilege: str, db: str = "default") -> Wanted:
    return Wanted(privilege, GLOBAL, "*", db)


def test_a_collection_read_only_grant_reads_that_collection_and_writes_nothing() -> None:
    grants = [Grant("reader", GLOBAL, "books", "default", "CollectionReadOnly")]
    assert permits(["reader"], on_collection("Search", "books"), grants, GROUPS)
    assert permits(["reader"], on_collection("Query", "books"), grants, GROUPS)
    for refused in ("Insert", "Delete", "Upsert", "Load", "Release", "CreateIndex", "DropIndex"):
        assert not permits(["reader"], on_collection(refused, "books"), grants, GROUPS)
    assert not permits(["reader"], on_collection("Search", "films"), grants, GROUPS)
    assert not permits(["reader"], on_collection("Search", "books", db="other"), grants, GROUPS)
    for refused in ("CreateCollection", "DropCollection", "CreateOwnership", "ManageOwnership"):
        assert not permits(["reader"], on_global(refused), grants, GROUPS)


def test_a_global_privilege_of_a_collection_group_covers_its_database_as_in_milvus() -> None:
    grants = [Grant("reader", GLOBAL, "books", "default", "CollectionReadOnly")]
    assert permits(["reader"], on_global("DescribeCollection"), grants, GROUPS)
    assert not permits(["reader"], on_global("DescribeCollection", db="other"), grants, GROUPS)


def test_a_v1_grant_is_exact_and_a_star_name_covers_every_collection() -> None:
    grants = [
        Grant("writer", COLLECTION, "books", "default", "Insert"),
        Grant("searcher", COLLECTION, "*", "default", "Search"),
        Grant("anywhere", COLLECTION, "*", "*", "Query"),
    ]
    assert permits(["writer"], on_collection("Insert", "books"), grants, GROUPS)
    assert not permits(["writer"], on_collection("Delete", "books"), grants, GROUPS)
    assert permits(["searcher"], on_collection("Search", "anything"), grants, GROUPS)
    assert not permits(["searcher"], on_collection("Search", "anything", "db2"), grants, GROUPS)
    assert permits(["anywhere"], on_collection("Query", "c", "db2"), grants, GROUPS)


def test_admin_may_do_anything_and_nobody_else_without_a_grant() -> None:
    assert permits([ADMIN_ROLE], on_global("DropDatabase", "x"), [], GROUPS)
    assert not permits(["nobody"], on_collection("Search", "books"), [], GROUPS)


def test_public_grants_count_for_every_user() -> None:
    grants = [Grant("public", COLLECTION, "*", "default", "Search")]
    assert permits([], on_collection("Search", "books"), grants, GROUPS)


def test_all_covers_every_privilege_of_the_database() -> None:
    grants = [Grant("owner", GLOBAL, "*", "default", "All")]
    assert permits(["owner"], on_collection("Delete", "books"), grants, GROUPS)
    assert permits(["owner"], on_global("CreateCollection"), grants, GROUPS)
    assert not permits(["owner"], on_global("CreateCollection", "db2"), grants, GROUPS)


def test_a_custom_group_expands_to_its_members() -> None:
    grants = [Grant("r", GLOBAL, "books", "default", "my_readers")]
    assert permits(["r"], on_collection("Search", "books"), grants, GROUPS)
    assert not permits(["r"], on_collection("Insert", "books"), grants, GROUPS)
    assert {g.privilege for g in expand(grants[0], GROUPS)} == {"Search", "Query"}


def test_the_catalog_is_consistent() -> None:
    for name, members in BUILTIN_GROUPS.items():
        assert is_defined(name)
        assert all(member in SINGLE_PRIVILEGES for member in members), name
    assert object_type_of("Search") == COLLECTION
    assert object_type_of("UpdateUser") == "User"
    assert object_type_of("CreateDatabase") == GLOBAL
    assert group_level(list(BUILTIN_GROUPS["ClusterReadOnly"])) == "Cluster"
    assert group_level(list(BUILTIN_GROUPS["DatabaseAdmin"])) == "Database"
    assert group_level(list(COLLECTION_READ_ONLY)) == "Collection"
    assert not is_defined("Fly")


names = st.sampled_from(["books", "films", "*"])
dbs = st.sampled_from(["default", "db2", "*"])
privileges = st.sampled_from(sorted(SINGLE_PRIVILEGES) + sorted(BUILTIN_GROUPS) + ["*", "All"])
roles = st.sampled_from(["r1", "r2", "public"])
object_types = st.sampled_from([GLOBAL, COLLECTION])
grant_strategy = st.builds(Grant, roles, object_types, names, dbs, privileges)
wanted_strategy = st.builds(
    Wanted,
    st.sampled_from(sorted(SINGLE_PRIVILEGES)),
    st.sampled_from([GLOBAL, COLLECTION]),
    st.sampled_from(["books", "films"]),
    st.sampled_from(["default", "db2"]),
)


@settings(max_examples=300, derandomize=True)
@given(st.lists(grant_strategy, max_size=6), grant_strategy, wanted_strategy)
def test_grants_only_add_and_stay_with_their_role(
    grants: list[Grant], extra: Grant, wanted: Wanted
) -> None:
    """Granting never takes a permission away, an exact grant of the wanted
    privilege always permits it, and other roles' grants never count."""
    before = permits(["r1"], wanted, grants, GROUPS)
    with_extra = permits(["r1"], wanted, [*grants, extra], GROUPS)
    assert with_extra or not before
    exact = Grant("r1", wanted.object_type, wanted.object_name, wanted.db_name, wanted.privilege)
    assert permits(["r1"], wanted, [*grants, exact], GROUPS)
    other_roles_only = [g for g in [*grants, extra] if g.role == "r2"]
    assert not permits(["r1"], wanted, other_roles_only, GROUPS)
