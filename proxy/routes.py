"""The MilvusService RPCs Elanus serves: one line each, and the privilege Milvus
checks for it (the one privilege table; RBAC, issue 15, enforces it).

The privilege is the ``common.privilege_ext_obj`` option of the RPC's request
message in Milvus's proto; an RPC whose request has none is PUBLIC (Milvus lets
any authenticated user call it; it filters ShowCollections and ListDatabases
by privilege inside the handler). tests/unit/proxy/test_route_privileges.py
holds every line to that.

An RPC missing here answers UNIMPLEMENTED. Adding one is a handler in
proxy/rpcs/ and a line below.
"""

from __future__ import annotations

from proto.public import milvus_pb2 as pb
from proxy.pipeline import PUBLIC, Route, on_collection, on_global, on_user, staged
from proxy.rpcs import (
    access,
    admin,
    aliases,
    collections,
    databases,
    delete,
    fields,
    flush_all,
    indexes,
    loading,
    maintenance,
    metrics,
    partitions,
    query,
    search,
    server,
    writes,
)

ROUTES: tuple[Route, ...] = (
    # the server
    Route("Connect", server.connect, pb.ConnectResponse, PUBLIC),
    Route("GetVersion", server.get_version, pb.GetVersionResponse, PUBLIC, in_database=False),
    Route("CheckHealth", server.check_health, pb.CheckHealthResponse, PUBLIC, in_database=False),
    Route(
        "GetComponentStates",
        server.get_component_states,
        pb.ComponentStates,
        PUBLIC,
        in_database=False,
    ),
    Route(
        "AllocTimestamp",
        server.alloc_timestamp,
        pb.AllocTimestampResponse,
        PUBLIC,
        in_database=False,
    ),
    Route("GetMetrics", metrics.get_metrics, pb.GetMetricsResponse, PUBLIC, in_database=False),
    # databases
    Route(
        "CreateDatabase",
        databases.create_database,
        None,
        on_global("CreateDatabase"),
        in_database=False,
    ),
    Route(
        "DropDatabase",
        databases.drop_database,
        None,
        on_global("DropDatabase"),
        in_database=False,
    ),
    Route(
        "AlterDatabase",
        databases.alter_database,
        None,
        on_global("AlterDatabase"),
    ),
    Route(
        "ListDatabases",
        databases.list_databases,
        pb.ListDatabasesResponse,
        PUBLIC,
        in_database=False,
    ),
    Route(
        "DescribeDatabase",
        databases.describe_database,
        pb.DescribeDatabaseResponse,
        on_global("DescribeDatabase"),
    ),
    # collections
    Route("CreateCollection", collections.create_collection, None, on_global("CreateCollection")),
    Route("DropCollection", collections.drop_collection, None, on_global("DropCollection")),
    Route(
        "TruncateCollection",
        collections.truncate_collection,
        pb.TruncateCollectionResponse,
        on_global("DropCollection"),
    ),
    Route(
        "RenameCollection",
        collections.rename_collection,
        None,
        on_global("RenameCollection"),
    ),
    Route(
        "HasCollection",
        collections.has_collection,
        pb.BoolResponse,
        PUBLIC,
    ),
    Route(
        "DescribeCollection",
        collections.describe_collection,
        pb.DescribeCollectionResponse,
        on_global("DescribeCollection"),
    ),
    Route(
        "ShowCollections",
        collections.show_collections,
        pb.ShowCollectionsResponse,
        PUBLIC,
    ),
    Route(
        "GetCollectionStatistics",
        collections.get_collection_statistics,
        pb.GetCollectionStatisticsResponse,
        on_collection("GetStatistics"),
    ),
    Route(
        "AlterCollection",
        collections.alter_collection,
        None,
        on_global("CreateCollection"),
    ),
    Route(
        "AlterCollectionField",
        fields.alter_collection_field,
        None,
        on_global("CreateCollection"),
    ),
    Route(
        "AddCollectionField",
        fields.add_collection_field,
        None,
        on_collection("AddCollectionField"),
    ),
    # aliases
    Route("CreateAlias", aliases.create_alias, None, on_global("CreateAlias")),
    Route("AlterAlias", aliases.alter_alias, None, on_global("CreateAlias")),
    Route("DropAlias", aliases.drop_alias, None, on_global("DropAlias")),
    Route(
        "DescribeAlias",
        aliases.describe_alias,
        pb.DescribeAliasResponse,
        on_global("DescribeAlias"),
    ),
    Route(
        "ListAliases",
        aliases.list_aliases,
        pb.ListAliasesResponse,
        on_global("ListAliases"),
    ),
    # partitions
    Route("CreatePartition", partitions.create_partition, None, on_collection("CreatePartition")),
    Route("DropPartition", partitions.drop_partition, None, on_collection("DropPartition")),
    Route("HasPartition", partitions.has_partition, pb.BoolResponse, on_collection("HasPartition")),
    Route(
        "ShowPartitions",
        partitions.show_partitions,
        pb.ShowPartitionsResponse,
        on_collection("ShowPartitions"),
    ),
    Route(
        "GetPartitionStatistics",
        partitions.get_partition_statistics,
        pb.GetPartitionStatisticsResponse,
        on_collection("GetStatistics"),
    ),
    # loading
    Route("LoadCollection", loading.load_collection, None, on_collection("Load")),
    Route("ReleaseCollection", loading.release_collection, None, on_collection("Release")),
    Route("LoadPartitions", loading.load_partitions, None, on_collection("Load")),
    Route("ReleasePartitions", loading.release_partitions, None, on_collection("Release")),
    Route(
        "GetLoadingProgress",
        loading.get_loading_progress,
        pb.GetLoadingProgressResponse,
        on_collection("GetLoadState"),
    ),
    Route(
        "GetLoadState",
        loading.get_load_state,
        pb.GetLoadStateResponse,
        on_collection("GetLoadState"),
    ),
    # indexes
    Route("CreateIndex", indexes.create_index, None, on_collection("CreateIndex")),
    Route(
        "DescribeIndex",
        indexes.describe_index,
        pb.DescribeIndexResponse,
        on_collection("IndexDetail"),
    ),
    Route(
        "GetIndexState",
        indexes.get_index_state,
        pb.GetIndexStateResponse,
        on_collection("IndexDetail"),
    ),
    Route(
        "GetIndexBuildProgress",
        indexes.get_index_build_progress,
        pb.GetIndexBuildProgressResponse,
        on_collection("IndexDetail"),
    ),
    Route("DropIndex", indexes.drop_index, None, on_collection("DropIndex")),
    Route("AlterIndex", indexes.alter_index, None, on_collection("CreateIndex")),
    # flushing and compaction
    Route("Flush", maintenance.flush, pb.FlushResponse, on_collection("Flush")),
    Route(
        "GetFlushState",
        maintenance.get_flush_state,
        pb.GetFlushStateResponse,
        on_collection("GetFlushState"),
    ),
    Route("FlushAll", flush_all.flush_all, pb.FlushAllResponse, on_global("FlushAll")),
    Route(
        "GetFlushAllState",
        flush_all.get_flush_all_state,
        pb.GetFlushAllStateResponse,
        PUBLIC,
    ),
    Route(
        "ManualCompaction",
        maintenance.manual_compaction,
        pb.ManualCompactionResponse,
        on_collection("Compaction"),
    ),
    Route(
        "GetCompactionState",
        maintenance.get_compaction_state,
        pb.GetCompactionStateResponse,
        PUBLIC,
    ),
    # administration reads (Milvus checks no privilege for them)
    Route(
        "GetPersistentSegmentInfo",
        admin.get_persistent_segment_info,
        pb.GetPersistentSegmentInfoResponse,
        PUBLIC,
    ),
    Route(
        "GetQuerySegmentInfo",
        admin.get_query_segment_info,
        pb.GetQuerySegmentInfoResponse,
        PUBLIC,
    ),
    Route("GetReplicas", admin.get_replicas, pb.GetReplicasResponse, PUBLIC),
    Route(
        "GetCompactionStateWithPlans",
        admin.get_compaction_state_with_plans,
        pb.GetCompactionPlansResponse,
        PUBLIC,
    ),
    # users, roles and privileges
    Route(
        "CreateCredential",
        access.create_credential,
        None,
        on_global("CreateOwnership"),
        in_database=False,
    ),
    Route(
        "UpdateCredential",
        access.update_credential,
        None,
        on_user("UpdateUser"),
        in_database=False,
    ),
    Route(
        "DeleteCredential",
        access.delete_credential,
        None,
        on_global("DropOwnership"),
        in_database=False,
    ),
    Route(
        "ListCredUsers",
        access.list_cred_users,
        pb.ListCredUsersResponse,
        on_global("SelectOwnership"),
        in_database=False,
    ),
    Route(
        "SelectUser",
        access.select_user,
        pb.SelectUserResponse,
        on_user("SelectUser"),
        in_database=False,
    ),
    Route("CreateRole", access.create_role, None, on_global("CreateOwnership"), in_database=False),
    Route("DropRole", access.drop_role, None, on_global("DropOwnership"), in_database=False),
    Route(
        "OperateUserRole",
        access.operate_user_role,
        None,
        on_global("ManageOwnership"),
        in_database=False,
    ),
    Route(
        "SelectRole",
        access.select_role,
        pb.SelectRoleResponse,
        on_global("SelectOwnership"),
        in_database=False,
    ),
    Route(
        "OperatePrivilege",
        access.operate_privilege,
        None,
        on_global("ManageOwnership"),
        in_database=False,
    ),
    Route(
        "OperatePrivilegeV2",
        access.operate_privilege_v2,
        None,
        on_global("ManageOwnership"),
        in_database=False,
    ),
    Route(
        "SelectGrant",
        access.select_grant,
        pb.SelectGrantResponse,
        on_global("SelectOwnership"),
        in_database=False,
    ),
    Route(
        "CreatePrivilegeGroup",
        access.create_privilege_group,
        None,
        on_global("CreatePrivilegeGroup"),
        in_database=False,
    ),
    Route(
        "DropPrivilegeGroup",
        access.drop_privilege_group,
        None,
        on_global("DropPrivilegeGroup"),
        in_database=False,
    ),
    Route(
        "OperatePrivilegeGroup",
        access.operate_privilege_group,
        None,
        on_global("OperatePrivilegeGroup"),
        in_database=False,
    ),
    Route(
        "ListPrivilegeGroups",
        access.list_privilege_groups,
        pb.ListPrivilegeGroupsResponse,
        on_global("ListPrivilegeGroups"),
        in_database=False,
    ),
    # rows
    Route("Insert", writes.insert, pb.MutationResult, on_collection("Insert")),
    Route("Upsert", writes.upsert, pb.MutationResult, on_collection("Upsert")),
    Route("Delete", staged(delete.Delete()), pb.MutationResult, on_collection("Delete")),
    Route("Search", staged(search.Search()), pb.SearchResults, on_collection("Search")),
    Route("Query", staged(query.Query()), pb.QueryResults, on_collection("Query")),
)
