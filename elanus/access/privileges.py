"""Milvus 2.6's privileges, by the object type they apply to, and its nine
built-in privilege groups.

Names are the API spellings (``Search``, not the metastore's ``PrivilegeSearch``).
A grant names a privilege, a group (built-in or custom), or ``*``/``All``.
"""

from __future__ import annotations

from collections.abc import Mapping

ANY = "*"
ALL = "All"

GLOBAL = "Global"
COLLECTION = "Collection"
USER = "User"
OBJECT_TYPES = (GLOBAL, COLLECTION, USER)

COLLECTION_READ_ONLY = (
    "Query",
    "Search",
    "IndexDetail",
    "GetFlushState",
    "GetLoadState",
    "GetLoadingProgress",
    "HasPartition",
    "ShowPartitions",
    "DescribeCollection",
    "DescribeAlias",
    "GetStatistics",
    "ListAliases",
    "GetImportProgress",
    "ListImport",
)
COLLECTION_READ_WRITE = COLLECTION_READ_ONLY + (
    "Load",
    "Release",
    "Insert",
    "Delete",
    "Upsert",
    "Import",
    "Flush",
    "Compaction",
    "LoadBalance",
    "CreateIndex",
    "DropIndex",
    "CreatePartition",
    "DropPartition",
    "AddCollectionField",
)
COLLECTION_ADMIN = COLLECTION_READ_WRITE + ("CreateAlias", "DropAlias")
DATABASE_READ_ONLY = ("ShowCollections", "DescribeDatabase")
DATABASE_READ_WRITE = DATABASE_READ_ONLY + ("AlterDatabase",)
DATABASE_ADMIN = DATABASE_READ_WRITE + ("CreateCollection", "DropCollection")
CLUSTER_READ_ONLY = (
    "ListDatabases",
    "SelectOwnership",
    "SelectUser",
    "DescribeResourceGroup",
    "ListResourceGroups",
    "ListPrivilegeGroups",
)
CLUSTER_READ_WRITE = CLUSTER_READ_ONLY + (
    "FlushAll",
    "TransferNode",
    "TransferReplica",
    "UpdateResourceGroups",
)
CLUSTER_ADMIN = CLUSTER_READ_WRITE + (
    "BackupRBAC",
    "RestoreRBAC",
    "CreateDatabase",
    "DropDatabase",
    "CreateOwnership",
    "DropOwnership",
    "ManageOwnership",
    "CreateResourceGroup",
    "DropResourceGroup",
    "UpdateUser",
    "RenameCollection",
    "CreatePrivilegeGroup",
    "DropPrivilegeGroup",
    "OperatePrivilegeGroup",
)

BUILTIN_GROUPS: Mapping[str, tuple[str, ...]] = {
    "CollectionReadOnly": COLLECTION_READ_ONLY,
    "CollectionReadWrite": COLLECTION_READ_WRITE,
    "CollectionAdmin": COLLECTION_ADMIN,
    "DatabaseReadOnly": DATABASE_READ_ONLY,
    "DatabaseReadWrite": DATABASE_READ_WRITE,
    "DatabaseAdmin": DATABASE_ADMIN,
    "ClusterReadOnly": CLUSTER_READ_ONLY,
    "ClusterReadWrite": CLUSTER_READ_WRITE,
    "ClusterAdmin": CLUSTER_ADMIN,
}

# The privileges each object type takes in a v1 grant (OperatePrivilege). A
# privilege of no list here is checked on the Global object.
OBJECT_PRIVILEGES: Mapping[str, frozenset[str]] = {
    COLLECTION: frozenset(
        {
            "Load",
            "Release",
            "Compaction",
            "Insert",
            "Delete",
            "Upsert",
            "GetStatistics",
            "CreateIndex",
            "IndexDetail",
            "DropIndex",
            "Search",
            "Flush",
            "Query",
            "LoadBalance",
            "Import",
            "GetLoadingProgress",
            "GetLoadState",
            "CreatePartition",
            "DropPartition",
            "ShowPartitions",
            "HasPartition",
            "GetFlushState",
            "GetImportProgress",
            "ListImport",
            "AddCollectionField",
        }
    ),
    GLOBAL: frozenset(
        {
            ALL,
            "CreateCollection",
            "DropCollection",
            "DescribeCollection",
            "ShowCollections",
            "RenameCollection",
            "CreateOwnership",
            "DropOwnership",
            "SelectOwnership",
            "ManageOwnership",
            "BackupRBAC",
            "RestoreRBAC",
            "CreateResourceGroup",
            "UpdateResourceGroups",
            "DropResourceGroup",
            "DescribeResourceGroup",
            "ListResourceGroups",
            "TransferReplica",
            "TransferNode",
            "FlushAll",
            "CreateDatabase",
            "DropDatabase",
            "ListDatabases",
            "AlterDatabase",
            "DescribeDatabase",
            "CreateAlias",
            "DropAlias",
            "DescribeAlias",
            "ListAliases",
            "CreatePrivilegeGroup",
            "DropPrivilegeGroup",
            "ListPrivilegeGroups",
            "OperatePrivilegeGroup",
            *BUILTIN_GROUPS,
        }
    ),
    USER: frozenset({"UpdateUser", "SelectUser"}),
}

# Granting (or revoking) the key grants (or revokes) these too, as Milvus does:
# a user who may load a collection may watch it load.
RELATED_PRIVILEGES: Mapping[str, tuple[str, ...]] = {
    "Load": ("GetLoadState", "GetLoadingProgress"),
    "Flush": ("GetFlushState",),
}

SINGLE_PRIVILEGES = frozenset().union(*OBJECT_PRIVILEGES.values()) - set(BUILTIN_GROUPS) - {ALL}


def object_type_of(privilege: str) -> str:
    """The object a single privilege is checked on (Global for anything else)."""
    for object_type in (COLLECTION, USER):
        if privilege in OBJECT_PRIVILEGES[object_type]:
            return object_type
    return GLOBAL


def is_defined(name: str) -> bool:
    """A single privilege, a built-in group or ``All``: a name Milvus knows."""
    return name in SINGLE_PRIVILEGES or name in BUILTIN_GROUPS or name == ALL


def group_level(privileges: tuple[str, ...] | list[str]) -> str:
    """Cluster, Database or Collection: the widest level of a group's first
    privilege, which fixes the scope a v2 grant of that group may name."""
    if not privileges:
        return ""
    first = privileges[0]
    if first in CLUSTER_ADMIN:
        return "Cluster"
    if first in DATABASE_ADMIN:
        return "Database"
    if first in COLLECTION_ADMIN:
        return "Collection"
    return ""
