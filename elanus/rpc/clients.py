"""gRPC clients of the roles, each implementing its interface from :mod:`elanus.services`.

A role handed one of these instead of the callee's object behaves the same:
values convert through :mod:`elanus.rpc.codec`, the callee's ElanusErrors are
raised again as the same class, and a callee that cannot be reached within the
client's deadline raises ServiceUnavailable naming its address. Channels
connect lazily, so a client can be made before its server is up.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import grpc

from elanus import errors
from elanus.access.changes import AccessChange, AccessSnapshot
from elanus.meta import (
    ChannelCheckpoint,
    ChannelSnapshot,
    CollectionInfo,
    CompactionPlan,
    ConsistencyLevel,
    DatabaseInfo,
    DeltaLog,
    IndexBuildTask,
    IndexInfo,
    SegmentInfo,
    SegmentState,
    from_json,
)
from elanus.requests import QueryRequest, QueryResult, SearchRequest, SearchResult
from elanus.rpc import codec
from elanus.rpc.server import CHANNEL_OPTIONS, NODE_ID_HEADER
from elanus.rpc.status import raise_if_failed, transport_error
from elanus.schema import CollectionSchema, FieldSchema
from elanus.services import (
    ChannelLease,
    CollectionStats,
    CompactionMerge,
    CompactionProgress,
    CoordinatorApi,
    DataNodeClient,
    FlushResult,
    IndexNodeClient,
    IndexProgress,
    LoadedSegment,
    LoadProgress,
    NodeDescription,
    QueryNodeClient,
    Replica,
    SafeTsReport,
)
from proto.internal import roles_pb2 as pb
from proto.internal import roles_pb2_grpc as pb_grpc

DEFAULT_TIMEOUT_S = 30.0
COMPACT_WAIT_S = 600.0


class _RoleClient:
    """One channel to one peer; every call has the same deadline.

    ``node_id``: the node meant, for a client made from its session; the calls
    name it, so a new process at a dead node's address refuses them.
    """

    def __init__(
        self, address: str, stub_type: type, timeout_s: float, node_id: int | None = None
    ) -> None:
        self.address = address
        self.timeout_s = timeout_s
        self._metadata = ((NODE_ID_HEADER, str(node_id)),) if node_id is not None else ()
        self._channel = grpc.insecure_channel(address, options=list(CHANNEL_OPTIONS))
        self._stub = stub_type(self._channel)
        self._closed = threading.Event()

    def close(self) -> None:
        self._closed.set()
        self._channel.close()

    def _call(self, method: str, request: Any, waits_s: float = 0.0) -> Any:
        """Call ``method``; ``waits_s`` extends the deadline of a call that waits on purpose."""
        if self._closed.is_set():
            raise errors.ServiceUnavailable(f"{method} to {self.address}: the client is closed")
        try:
            stub_method = getattr(self._stub, method)
            response = stub_method(
                request, timeout=self.timeout_s + max(waits_s, 0.0), metadata=self._metadata
            )
        except grpc.RpcError as exc:
            raise transport_error(self.address, method, exc) from None
        raise_if_failed(response)
        return response


class CoordinatorGrpcClient(_RoleClient):
    """:class:`elanus.services.CoordinatorApi` over gRPC."""

    def __init__(self, address: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        super().__init__(address, pb_grpc.CoordinatorServiceStub, timeout_s)

    # --- root: time, ids, DDL

    def alloc_timestamp(self, count: int = 1) -> int:
        return int(self._call("AllocTimestamp", pb.AllocTimestampRequest(count=count)).timestamp)

    def alloc_ids(self, count: int) -> int:
        return int(self._call("AllocIds", pb.AllocIdsRequest(count=count)).first_id)

    # --- time ticks

    def register_proxy(self, proxy_id: int) -> int:
        request = pb.RegisterProxyRequest(proxy_id=proxy_id)
        return int(self._call("RegisterProxy", request).floor_ts)

    def unregister_proxy(self, proxy_id: int) -> None:
        self._call("UnregisterProxy", pb.UnregisterProxyRequest(proxy_id=proxy_id))

    def report_safe_ts(self, proxy_id: int, report: SafeTsReport, wait_s: float) -> int:
        request = pb.ReportSafeTsRequest(
            proxy_id=proxy_id, report=codec.safe_ts_report_to_pb(report), wait_s=wait_s
        )
        return int(self._call("ReportSafeTs", request, waits_s=wait_s).demand)

    def request_tick(
        self, proxy_id: int, report: SafeTsReport, pchannels: Sequence[str], at_least: int
    ) -> None:
        request = pb.RequestTickRequest(
            proxy_id=proxy_id,
            report=codec.safe_ts_report_to_pb(report),
            pchannels=pchannels,
            at_least=at_least,
        )
        self._call("RequestTick", request)

    def create_collection(
        self,
        db_name: str,
        schema: CollectionSchema,
        shards_num: int,
        consistency_level: ConsistencyLevel,
        properties: dict[str, str],
        num_partitions: int = 0,
    ) -> CollectionInfo:
        request = pb.CreateCollectionRequest(
            db_name=db_name,
            schema_json=codec.schema_to_json(schema),
            shards_num=shards_num,
            consistency_level=int(consistency_level),
            properties=properties,
            num_partitions=num_partitions,
        )
        response = self._call("CreateCollection", request)
        return codec.collection_from_json(response.collection_json)

    def drop_collection(self, db_name: str, name: str) -> None:
        self._call("DropCollection", pb.DropCollectionRequest(db_name=db_name, name=name))

    def truncate_collection(self, collection_id: int, truncate_ts: int) -> None:
        request = pb.TruncateCollectionRequest(collection_id=collection_id, truncate_ts=truncate_ts)
        self._call("TruncateCollection", request)

    def rename_collection(
        self, db_name: str, old_name: str, new_db_name: str, new_name: str
    ) -> None:
        request = pb.RenameCollectionRequest(
            db_name=db_name, old_name=old_name, new_db_name=new_db_name, new_name=new_name
        )
        self._call("RenameCollection", request)

    def describe_collection(
        self, db_name: str, name: str = "", collection_id: int = 0
    ) -> CollectionInfo:
        request = pb.DescribeCollectionRequest(
            db_name=db_name, name=name, collection_id=collection_id
        )
        return codec.collection_from_json(self._call("DescribeCollection", request).collection_json)

    def add_collection_field(self, db_name: str, name: str, added: FieldSchema) -> CollectionInfo:
        request = pb.AddCollectionFieldRequest(
            db_name=db_name, collection=name, field_json=codec.field_to_json(added)
        )
        return codec.collection_from_json(self._call("AddCollectionField", request).collection_json)

    def alter_collection(
        self, db_name: str, name: str, properties: dict[str, str], delete_keys: tuple[str, ...]
    ) -> CollectionInfo:
        request = pb.AlterCollectionRequest(
            db_name=db_name, collection=name, properties=properties, delete_keys=delete_keys
        )
        return codec.collection_from_json(self._call("AlterCollection", request).collection_json)

    def alter_collection_field(
        self,
        db_name: str,
        name: str,
        field_name: str,
        properties: dict[str, str],
        delete_keys: tuple[str, ...],
    ) -> CollectionInfo:
        request = pb.AlterCollectionFieldRequest(
            db_name=db_name,
            collection=name,
            field_name=field_name,
            properties=properties,
            delete_keys=delete_keys,
        )
        response = self._call("AlterCollectionField", request)
        return codec.collection_from_json(response.collection_json)

    def list_collections(self, db_name: str) -> list[CollectionInfo]:
        response = self._call("ListCollections", pb.ListCollectionsRequest(db_name=db_name))
        return [codec.collection_from_json(c) for c in response.collections_json]

    def access_version(self) -> int:
        return int(self._call("AccessVersion", pb.AccessVersionRequest()).version)

    def access_snapshot(self) -> AccessSnapshot:
        response = self._call("AccessSnapshot", pb.AccessSnapshotRequest())
        return AccessSnapshot.from_json(response.snapshot_json)

    def change_access(self, change: AccessChange) -> None:
        self._call("ChangeAccess", pb.ChangeAccessRequest(change_json=change.to_json()))

    def create_database(self, db_name: str, properties: dict[str, str]) -> None:
        request = pb.CreateDatabaseRequest(db_name=db_name, properties=properties)
        self._call("CreateDatabase", request)

    def drop_database(self, db_name: str) -> None:
        self._call("DropDatabase", pb.DropDatabaseRequest(db_name=db_name))

    def alter_database(
        self, db_name: str, properties: dict[str, str], delete_keys: Sequence[str]
    ) -> None:
        request = pb.AlterDatabaseRequest(
            db_name=db_name, properties=properties, delete_keys=delete_keys
        )
        self._call("AlterDatabase", request)

    def list_databases(self) -> list[DatabaseInfo]:
        response = self._call("ListDatabases", pb.ListDatabasesRequest())
        return [codec.database_from_json(d) for d in response.databases_json]

    def describe_database(self, db_name: str) -> DatabaseInfo:
        response = self._call("DescribeDatabase", pb.DescribeDatabaseRequest(db_name=db_name))
        return codec.database_from_json(response.database_json)

    def create_alias(self, db_name: str, alias: str, collection: str) -> None:
        request = pb.AliasRequest(db_name=db_name, alias=alias, collection=collection)
        self._call("CreateAlias", request)

    def alter_alias(self, db_name: str, alias: str, collection: str) -> None:
        request = pb.AliasRequest(db_name=db_name, alias=alias, collection=collection)
        self._call("AlterAlias", request)

    def drop_alias(self, db_name: str, alias: str) -> None:
        self._call("DropAlias", pb.DropAliasRequest(db_name=db_name, alias=alias))

    def describe_alias(self, db_name: str, alias: str) -> str:
        request = pb.DescribeAliasRequest(db_name=db_name, alias=alias)
        return str(self._call("DescribeAlias", request).collection)

    def list_aliases(self, db_name: str, collection: str) -> list[str]:
        request = pb.ListAliasesRequest(db_name=db_name, collection=collection)
        return list(self._call("ListAliases", request).aliases)

    def create_partition(self, db_name: str, collection: str, partition: str) -> None:
        request = pb.CreatePartitionRequest(
            db_name=db_name, collection=collection, partition=partition
        )
        self._call("CreatePartition", request)

    def drop_partition(self, db_name: str, collection: str, partition: str) -> None:
        request = pb.DropPartitionRequest(
            db_name=db_name, collection=collection, partition=partition
        )
        self._call("DropPartition", request)

    # --- data: segments, flush, checkpoints

    def assign_segment(
        self, collection_id: int, partition_id: int, vchannel: str, num_rows: int
    ) -> int:
        request = pb.AssignSegmentRequest(
            collection_id=collection_id,
            partition_id=partition_id,
            vchannel=vchannel,
            num_rows=num_rows,
        )
        return int(self._call("AssignSegment", request).segment_id)

    def flush(self, collection_id: int) -> FlushResult:
        response = self._call("Flush", pb.FlushRequest(collection_id=collection_id))
        return codec.flush_result_from_pb(response.result)

    def flush_state(self, collection_id: int, segment_ids: Sequence[int], flush_ts: int) -> bool:
        request = pb.FlushStateRequest(
            collection_id=collection_id, segment_ids=segment_ids, flush_ts=flush_ts
        )
        return bool(self._call("FlushState", request).flushed)

    def manual_compaction(self, collection_id: int) -> int:
        request = pb.ManualCompactionRequest(collection_id=collection_id)
        return int(self._call("ManualCompaction", request).compaction_id)

    def compaction_state(self, compaction_id: int) -> CompactionProgress:
        response = self._call(
            "CompactionState", pb.CompactionStateRequest(compaction_id=compaction_id)
        )
        merges = tuple(CompactionMerge(tuple(m.sources), m.target) for m in response.merges)
        return CompactionProgress(
            response.state, response.executing, response.completed, response.failed, merges
        )

    def collection_statistics(
        self, collection_id: int, partition_ids: Sequence[int] = ()
    ) -> CollectionStats:
        request = pb.CollectionStatisticsRequest(
            collection_id=collection_id, partition_ids=partition_ids
        )
        response = self._call("CollectionStatistics", request)
        return codec.collection_stats_from_pb(response.result)

    def channel_snapshot(self, vchannel: str) -> ChannelSnapshot:
        response = self._call("ChannelSnapshot", pb.ChannelSnapshotRequest(vchannel=vchannel))
        return codec.snapshot_from_pb(response.result)

    # A datanode's reports, each under its channel lease.

    def segment_flushed(self, segment: SegmentInfo, lease: ChannelLease) -> None:
        request = pb.SegmentFlushedRequest(
            segment_json=codec.to_json(segment), lease=codec.lease_to_pb(lease)
        )
        self._call("SegmentFlushed", request)

    def add_delta_log(self, log: DeltaLog, lease: ChannelLease) -> None:
        request = pb.AddDeltaLogRequest(
            delta_log_json=codec.to_json(log), lease=codec.lease_to_pb(lease)
        )
        self._call("AddDeltaLog", request)

    def update_checkpoint(self, checkpoint: ChannelCheckpoint, lease: ChannelLease) -> None:
        request = pb.UpdateCheckpointRequest(
            checkpoint_json=codec.to_json(checkpoint), lease=codec.lease_to_pb(lease)
        )
        self._call("UpdateCheckpoint", request)

    def channel_flushed(self, vchannel: str, flush_ts: int, lease: ChannelLease) -> None:
        request = pb.ChannelFlushedRequest(
            vchannel=vchannel, flush_ts=flush_ts, lease=codec.lease_to_pb(lease)
        )
        self._call("ChannelFlushed", request)

    # --- index

    def create_index(
        self,
        collection_id: int,
        field_name: str,
        index_name: str,
        index_type: str,
        metric_type: str,
        params: dict[str, Any],
        user_params: dict[str, str],
    ) -> IndexInfo:
        request = pb.CreateIndexRequest(
            collection_id=collection_id,
            field_name=field_name,
            index_name=index_name,
            index_type=index_type,
            metric_type=metric_type,
            params_json=codec.params_to_json(params),
            user_params=user_params,
        )
        return codec.index_from_json(self._call("CreateIndex", request).index_json)

    def describe_indexes(
        self, collection_id: int, field_name: str = "", index_name: str = ""
    ) -> list[IndexProgress]:
        request = pb.DescribeIndexesRequest(
            collection_id=collection_id, field_name=field_name, index_name=index_name
        )
        response = self._call("DescribeIndexes", request)
        return [codec.index_progress_from_pb(p) for p in response.result]

    def drop_index(self, collection_id: int, field_name: str, index_name: str) -> None:
        request = pb.DropIndexRequest(
            collection_id=collection_id, field_name=field_name, index_name=index_name
        )
        self._call("DropIndex", request)

    def alter_index(
        self,
        collection_id: int,
        index_name: str,
        properties: dict[str, str],
        delete_keys: tuple[str, ...],
    ) -> None:
        request = pb.AlterIndexRequest(
            collection_id=collection_id,
            index_name=index_name,
            properties=properties,
            delete_keys=delete_keys,
        )
        self._call("AlterIndex", request)

    def index_built(self, task: IndexBuildTask, key: str) -> None:
        request = pb.IndexBuiltRequest(task=codec.build_task_to_pb(task), key=key)
        self._call("IndexBuilt", request)

    def index_failed(self, task: IndexBuildTask, reason: str) -> None:
        request = pb.IndexFailedRequest(task=codec.build_task_to_pb(task), reason=reason)
        self._call("IndexFailed", request)

    # --- query: load state and shard leaders

    def load_collection(
        self, collection_id: int, partition_ids: Sequence[int] = (), replica_number: int = 1
    ) -> None:
        request = pb.LoadCollectionRequest(
            collection_id=collection_id, partition_ids=partition_ids, replica_number=replica_number
        )
        self._call("LoadCollection", request)

    def release_collection(self, collection_id: int) -> None:
        request = pb.ReleaseCollectionRequest(collection_id=collection_id)
        self._call("ReleaseCollection", request)

    def release_partitions(self, collection_id: int, partition_ids: Sequence[int]) -> None:
        request = pb.ReleasePartitionsRequest(
            collection_id=collection_id, partition_ids=partition_ids
        )
        self._call("ReleasePartitions", request)

    def load_progress(self, collection_id: int, partition_ids: Sequence[int] = ()) -> LoadProgress:
        request = pb.LoadProgressRequest(collection_id=collection_id, partition_ids=partition_ids)
        return codec.load_progress_from_pb(self._call("LoadProgress", request).result)

    def shard_leaders(self, collection_id: int) -> dict[str, int]:
        request = pb.ShardLeadersRequest(collection_id=collection_id)
        return dict(self._call("ShardLeaders", request).leaders)

    # --- administration reads

    def list_segments(
        self, collection_id: int, states: Sequence[SegmentState] = ()
    ) -> list[SegmentInfo]:
        request = pb.ListSegmentsRequest(
            collection_id=collection_id, states=[s.value for s in states]
        )
        response = self._call("ListSegments", request)
        return [codec.segment_from_json(raw) for raw in response.segments_json]

    def replicas(self, collection_id: int) -> list[Replica]:
        response = self._call("Replicas", pb.ReplicasRequest(collection_id=collection_id))
        return [from_json(Replica, raw) for raw in response.replicas_json]

    def loaded_segments(self, collection_id: int) -> list[LoadedSegment]:
        request = pb.LoadedSegmentsRequest(collection_id=collection_id)
        response = self._call("LoadedSegments", request)
        return [from_json(LoadedSegment, raw) for raw in response.segments_json]

    def cluster_nodes(self) -> list[NodeDescription]:
        response = self._call("ClusterNodes", pb.ClusterNodesRequest())
        return [from_json(NodeDescription, raw) for raw in response.nodes_json]


class DataNodeGrpcClient(_RoleClient):
    """:class:`elanus.services.DataNodeClient` over gRPC."""

    def __init__(
        self, address: str, timeout_s: float = DEFAULT_TIMEOUT_S, node_id: int | None = None
    ) -> None:
        super().__init__(address, pb_grpc.DataNodeServiceStub, timeout_s, node_id)

    def watch_channel(self, vchannel: str, epoch: int) -> None:
        self._call("WatchChannel", pb.WatchChannelRequest(vchannel=vchannel, epoch=epoch))

    def unwatch_channel(self, vchannel: str) -> None:
        self._call("UnwatchChannel", pb.UnwatchChannelRequest(vchannel=vchannel))

    def seal_segment(self, vchannel: str, segment_id: int, seal_ts: int) -> None:
        request = pb.SealSegmentRequest(vchannel=vchannel, segment_id=segment_id, seal_ts=seal_ts)
        self._call("SealSegment", request)

    def flush_channel(self, vchannel: str, flush_ts: int) -> None:
        self._call("FlushChannel", pb.FlushChannelRequest(vchannel=vchannel, flush_ts=flush_ts))

    def compact(self, plan: CompactionPlan) -> SegmentInfo:
        # A merge reads and writes whole segments: allow it more than a plain call.
        request = pb.CompactRequest(plan_json=codec.to_json(plan))
        response = self._call("Compact", request, waits_s=COMPACT_WAIT_S)
        return codec.segment_from_json(response.segment_json)


class QueryNodeGrpcClient(_RoleClient):
    """:class:`elanus.services.QueryNodeClient` over gRPC."""

    def __init__(
        self, address: str, timeout_s: float = DEFAULT_TIMEOUT_S, node_id: int | None = None
    ) -> None:
        super().__init__(address, pb_grpc.QueryNodeServiceStub, timeout_s, node_id)

    def load_channel(self, vchannel: str, partition_ids: Sequence[int]) -> None:
        request = pb.LoadChannelRequest(vchannel=vchannel, partition_ids=partition_ids)
        self._call("LoadChannel", request)

    def release_collection(self, collection_id: int) -> None:
        request = pb.ReleaseCollectionRequest(collection_id=collection_id)
        self._call("ReleaseCollection", request)

    def release_partitions(self, collection_id: int, partition_ids: Sequence[int]) -> None:
        request = pb.ReleasePartitionsRequest(
            collection_id=collection_id, partition_ids=partition_ids
        )
        self._call("ReleasePartitions", request)

    def segment_flushed(self, segment: SegmentInfo) -> None:
        self._call("SegmentFlushed", pb.SegmentRequest(segment_json=codec.to_json(segment)))

    def segment_indexed(self, segment: SegmentInfo, index: IndexInfo) -> None:
        request = pb.SegmentIndexedRequest(
            segment_json=codec.to_json(segment), index_json=codec.to_json(index)
        )
        self._call("SegmentIndexed", request)

    def segment_dropped(self, segment: SegmentInfo) -> None:
        self._call("SegmentDropped", pb.SegmentRequest(segment_json=codec.to_json(segment)))

    def search(self, request: SearchRequest) -> SearchResult:
        response = self._call("Search", codec.search_request_to_pb(request))
        return codec.search_result_from_pb(response.result)

    def query(self, request: QueryRequest) -> QueryResult:
        response = self._call("Query", codec.query_request_to_pb(request))
        return codec.query_result_from_pb(response.result)


class IndexNodeGrpcClient(_RoleClient):
    """:class:`elanus.services.IndexNodeClient` over gRPC."""

    def __init__(
        self, address: str, timeout_s: float = DEFAULT_TIMEOUT_S, node_id: int | None = None
    ) -> None:
        super().__init__(address, pb_grpc.IndexNodeServiceStub, timeout_s, node_id)

    def submit(self, task: IndexBuildTask) -> None:
        self._call("Submit", pb.SubmitRequest(task=codec.build_task_to_pb(task)))


if TYPE_CHECKING:
    # Checked by mypy only: each client implements its callee's whole interface.
    _coordinator_client: Callable[[str], CoordinatorApi] = CoordinatorGrpcClient
    _datanode_client: Callable[[str], DataNodeClient] = DataNodeGrpcClient
    _querynode_client: Callable[[str], QueryNodeClient] = QueryNodeGrpcClient
    _indexnode_client: Callable[[str], IndexNodeClient] = IndexNodeGrpcClient
