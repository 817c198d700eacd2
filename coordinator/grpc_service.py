"""The coordinator over gRPC: every RPC is one call of the core, converted by the codec.

No logic lives here; :func:`elanus.rpc.answers` turns what the core raises into
the response's ErrorInfo.
"""

from __future__ import annotations

import grpc

from elanus.access.changes import AccessChange
from elanus.meta import ConsistencyLevel, SegmentState
from elanus.rpc import answers, codec
from elanus.services import CoordinatorApi
from proto.internal import roles_pb2 as pb
from proto.internal import roles_pb2_grpc as pb_grpc

Context = grpc.ServicerContext


class CoordinatorServicer(pb_grpc.CoordinatorServiceServicer):
    def __init__(self, core: CoordinatorApi) -> None:
        self._core = core

    # --- root: time, ids, DDL

    @answers(pb.AllocTimestampResponse)
    def AllocTimestamp(
        self, request: pb.AllocTimestampRequest, context: Context
    ) -> pb.AllocTimestampResponse:
        return pb.AllocTimestampResponse(timestamp=self._core.alloc_timestamp(request.count))

    @answers(pb.AllocIdsResponse)
    def AllocIds(self, request: pb.AllocIdsRequest, context: Context) -> pb.AllocIdsResponse:
        return pb.AllocIdsResponse(first_id=self._core.alloc_ids(request.count))

    # --- time ticks

    @answers(pb.RegisterProxyResponse)
    def RegisterProxy(
        self, request: pb.RegisterProxyRequest, context: Context
    ) -> pb.RegisterProxyResponse:
        return pb.RegisterProxyResponse(floor_ts=self._core.register_proxy(request.proxy_id))

    @answers(pb.Ack)
    def UnregisterProxy(self, request: pb.UnregisterProxyRequest, context: Context) -> pb.Ack:
        self._core.unregister_proxy(request.proxy_id)
        return pb.Ack()

    @answers(pb.ReportSafeTsResponse)
    def ReportSafeTs(
        self, request: pb.ReportSafeTsRequest, context: Context
    ) -> pb.ReportSafeTsResponse:
        demand = self._core.report_safe_ts(
            request.proxy_id, codec.safe_ts_report_from_pb(request.report), request.wait_s
        )
        return pb.ReportSafeTsResponse(demand=demand)

    @answers(pb.Ack)
    def RequestTick(self, request: pb.RequestTickRequest, context: Context) -> pb.Ack:
        self._core.request_tick(
            request.proxy_id,
            codec.safe_ts_report_from_pb(request.report),
            tuple(request.pchannels),
            request.at_least,
        )
        return pb.Ack()

    @answers(pb.CollectionResponse)
    def CreateCollection(
        self, request: pb.CreateCollectionRequest, context: Context
    ) -> pb.CollectionResponse:
        info = self._core.create_collection(
            request.db_name,
            codec.schema_from_json(request.schema_json),
            request.shards_num,
            ConsistencyLevel(request.consistency_level),
            dict(request.properties),
            request.num_partitions,
        )
        return pb.CollectionResponse(collection_json=codec.to_json(info))

    @answers(pb.Ack)
    def DropCollection(self, request: pb.DropCollectionRequest, context: Context) -> pb.Ack:
        self._core.drop_collection(request.db_name, request.name)
        return pb.Ack()

    @answers(pb.Ack)
    def TruncateCollection(self, request: pb.TruncateCollectionRequest, context: Context) -> pb.Ack:
        self._core.truncate_collection(request.collection_id, request.truncate_ts)
        return pb.Ack()

    @answers(pb.Ack)
    def RenameCollection(self, request: pb.RenameCollectionRequest, context: Context) -> pb.Ack:
        self._core.rename_collection(
            request.db_name, request.old_name, request.new_db_name, request.new_name
        )
        return pb.Ack()

    @answers(pb.CollectionResponse)
    def DescribeCollection(
        self, request: pb.DescribeCollectionRequest, context: Context
    ) -> pb.CollectionResponse:
        info = self._core.describe_collection(request.db_name, request.name, request.collection_id)
        return pb.CollectionResponse(collection_json=codec.to_json(info))

    @answers(pb.CollectionResponse)
    def AddCollectionField(
        self, request: pb.AddCollectionFieldRequest, context: Context
    ) -> pb.CollectionResponse:
        added = codec.field_from_json(request.field_json)
        info = self._core.add_collection_field(request.db_name, request.collection, added)
        return pb.CollectionResponse(collection_json=codec.to_json(info))

    @answers(pb.CollectionResponse)
    def AlterCollection(
        self, request: pb.AlterCollectionRequest, context: Context
    ) -> pb.CollectionResponse:
        info = self._core.alter_collection(
            request.db_name,
            request.collection,
            dict(request.properties),
            tuple(request.delete_keys),
        )
        return pb.CollectionResponse(collection_json=codec.to_json(info))

    @answers(pb.CollectionResponse)
    def AlterCollectionField(
        self, request: pb.AlterCollectionFieldRequest, context: Context
    ) -> pb.CollectionResponse:
        info = self._core.alter_collection_field(
            request.db_name,
            request.collection,
            request.field_name,
            dict(request.properties),
            tuple(request.delete_keys),
        )
        return pb.CollectionResponse(collection_json=codec.to_json(info))

    @answers(pb.ListCollectionsResponse)
    def ListCollections(
        self, request: pb.ListCollectionsRequest, context: Context
    ) -> pb.ListCollectionsResponse:
        infos = self._core.list_collections(request.db_name)
        return pb.ListCollectionsResponse(collections_json=[codec.to_json(i) for i in infos])

    # --- users and RBAC

    @answers(pb.AccessVersionResponse)
    def AccessVersion(
        self, request: pb.AccessVersionRequest, context: Context
    ) -> pb.AccessVersionResponse:
        return pb.AccessVersionResponse(version=self._core.access_version())

    @answers(pb.AccessSnapshotResponse)
    def AccessSnapshot(
        self, request: pb.AccessSnapshotRequest, context: Context
    ) -> pb.AccessSnapshotResponse:
        return pb.AccessSnapshotResponse(snapshot_json=self._core.access_snapshot().to_json())

    @answers(pb.Ack)
    def ChangeAccess(self, request: pb.ChangeAccessRequest, context: Context) -> pb.Ack:
        self._core.change_access(AccessChange.from_json(request.change_json))
        return pb.Ack()

    # --- databases

    @answers(pb.Ack)
    def CreateDatabase(self, request: pb.CreateDatabaseRequest, context: Context) -> pb.Ack:
        self._core.create_database(request.db_name, dict(request.properties))
        return pb.Ack()

    @answers(pb.Ack)
    def DropDatabase(self, request: pb.DropDatabaseRequest, context: Context) -> pb.Ack:
        self._core.drop_database(request.db_name)
        return pb.Ack()

    @answers(pb.Ack)
    def AlterDatabase(self, request: pb.AlterDatabaseRequest, context: Context) -> pb.Ack:
        self._core.alter_database(
            request.db_name, dict(request.properties), tuple(request.delete_keys)
        )
        return pb.Ack()

    @answers(pb.ListDatabasesResponse)
    def ListDatabases(
        self, request: pb.ListDatabasesRequest, context: Context
    ) -> pb.ListDatabasesResponse:
        databases = self._core.list_databases()
        return pb.ListDatabasesResponse(databases_json=[codec.to_json(d) for d in databases])

    @answers(pb.DatabaseResponse)
    def DescribeDatabase(
        self, request: pb.DescribeDatabaseRequest, context: Context
    ) -> pb.DatabaseResponse:
        database = self._core.describe_database(request.db_name)
        return pb.DatabaseResponse(database_json=codec.to_json(database))

    # --- aliases

    @answers(pb.Ack)
    def CreateAlias(self, request: pb.AliasRequest, context: Context) -> pb.Ack:
        self._core.create_alias(request.db_name, request.alias, request.collection)
        return pb.Ack()

    @answers(pb.Ack)
    def AlterAlias(self, request: pb.AliasRequest, context: Context) -> pb.Ack:
        self._core.alter_alias(request.db_name, request.alias, request.collection)
        return pb.Ack()

    @answers(pb.Ack)
    def DropAlias(self, request: pb.DropAliasRequest, context: Context) -> pb.Ack:
        self._core.drop_alias(request.db_name, request.alias)
        return pb.Ack()

    @answers(pb.DescribeAliasResponse)
    def DescribeAlias(
        self, request: pb.DescribeAliasRequest, context: Context
    ) -> pb.DescribeAliasResponse:
        collection = self._core.describe_alias(request.db_name, request.alias)
        return pb.DescribeAliasResponse(collection=collection)

    @answers(pb.ListAliasesResponse)
    def ListAliases(
        self, request: pb.ListAliasesRequest, context: Context
    ) -> pb.ListAliasesResponse:
        aliases = self._core.list_aliases(request.db_name, request.collection)
        return pb.ListAliasesResponse(aliases=aliases)

    @answers(pb.Ack)
    def CreatePartition(self, request: pb.CreatePartitionRequest, context: Context) -> pb.Ack:
        self._core.create_partition(request.db_name, request.collection, request.partition)
        return pb.Ack()

    @answers(pb.Ack)
    def DropPartition(self, request: pb.DropPartitionRequest, context: Context) -> pb.Ack:
        self._core.drop_partition(request.db_name, request.collection, request.partition)
        return pb.Ack()

    # --- data: segments, flush, checkpoints

    @answers(pb.AssignSegmentResponse)
    def AssignSegment(
        self, request: pb.AssignSegmentRequest, context: Context
    ) -> pb.AssignSegmentResponse:
        segment_id = self._core.assign_segment(
            request.collection_id, request.partition_id, request.vchannel, request.num_rows
        )
        return pb.AssignSegmentResponse(segment_id=segment_id)

    @answers(pb.FlushResponse)
    def Flush(self, request: pb.FlushRequest, context: Context) -> pb.FlushResponse:
        result = self._core.flush(request.collection_id)
        return pb.FlushResponse(result=codec.flush_result_to_pb(result))

    @answers(pb.FlushStateResponse)
    def FlushState(self, request: pb.FlushStateRequest, context: Context) -> pb.FlushStateResponse:
        flushed = self._core.flush_state(
            request.collection_id, tuple(request.segment_ids), request.flush_ts
        )
        return pb.FlushStateResponse(flushed=flushed)

    @answers(pb.ManualCompactionResponse)
    def ManualCompaction(
        self, request: pb.ManualCompactionRequest, context: Context
    ) -> pb.ManualCompactionResponse:
        compaction_id = self._core.manual_compaction(request.collection_id)
        return pb.ManualCompactionResponse(compaction_id=compaction_id)

    @answers(pb.CompactionStateResponse)
    def CompactionState(
        self, request: pb.CompactionStateRequest, context: Context
    ) -> pb.CompactionStateResponse:
        progress = self._core.compaction_state(request.compaction_id)
        merges = [pb.CompactionMerge(sources=m.sources, target=m.target) for m in progress.merges]
        return pb.CompactionStateResponse(
            state=progress.state,
            executing=progress.executing,
            completed=progress.completed,
            failed=progress.failed,
            merges=merges,
        )

    @answers(pb.CollectionStatisticsResponse)
    def CollectionStatistics(
        self, request: pb.CollectionStatisticsRequest, context: Context
    ) -> pb.CollectionStatisticsResponse:
        stats = self._core.collection_statistics(
            request.collection_id, tuple(request.partition_ids)
        )
        return pb.CollectionStatisticsResponse(result=codec.collection_stats_to_pb(stats))

    @answers(pb.ChannelSnapshotResponse)
    def ChannelSnapshot(
        self, request: pb.ChannelSnapshotRequest, context: Context
    ) -> pb.ChannelSnapshotResponse:
        snapshot = self._core.channel_snapshot(request.vchannel)
        return pb.ChannelSnapshotResponse(result=codec.snapshot_to_pb(snapshot))

    @answers(pb.Ack)
    def SegmentFlushed(self, request: pb.SegmentFlushedRequest, context: Context) -> pb.Ack:
        segment = codec.segment_from_json(request.segment_json)
        self._core.segment_flushed(segment, codec.lease_from_pb(request.lease))
        return pb.Ack()

    @answers(pb.Ack)
    def AddDeltaLog(self, request: pb.AddDeltaLogRequest, context: Context) -> pb.Ack:
        delta = codec.delta_log_from_json(request.delta_log_json)
        self._core.add_delta_log(delta, codec.lease_from_pb(request.lease))
        return pb.Ack()

    @answers(pb.Ack)
    def UpdateCheckpoint(self, request: pb.UpdateCheckpointRequest, context: Context) -> pb.Ack:
        checkpoint = codec.checkpoint_from_json(request.checkpoint_json)
        self._core.update_checkpoint(checkpoint, codec.lease_from_pb(request.lease))
        return pb.Ack()

    @answers(pb.Ack)
    def ChannelFlushed(self, request: pb.ChannelFlushedRequest, context: Context) -> pb.Ack:
        lease = codec.lease_from_pb(request.lease)
        self._core.channel_flushed(request.vchannel, request.flush_ts, lease)
        return pb.Ack()

    # --- index

    @answers(pb.CreateIndexResponse)
    def CreateIndex(
        self, request: pb.CreateIndexRequest, context: Context
    ) -> pb.CreateIndexResponse:
        info = self._core.create_index(
            request.collection_id,
            request.field_name,
            request.index_name,
            request.index_type,
            request.metric_type,
            codec.params_from_json(request.params_json),
            dict(request.user_params),
        )
        return pb.CreateIndexResponse(index_json=codec.to_json(info))

    @answers(pb.DescribeIndexesResponse)
    def DescribeIndexes(
        self, request: pb.DescribeIndexesRequest, context: Context
    ) -> pb.DescribeIndexesResponse:
        progress = self._core.describe_indexes(
            request.collection_id, request.field_name, request.index_name
        )
        return pb.DescribeIndexesResponse(result=[codec.index_progress_to_pb(p) for p in progress])

    @answers(pb.Ack)
    def DropIndex(self, request: pb.DropIndexRequest, context: Context) -> pb.Ack:
        self._core.drop_index(request.collection_id, request.field_name, request.index_name)
        return pb.Ack()

    @answers(pb.Ack)
    def AlterIndex(self, request: pb.AlterIndexRequest, context: Context) -> pb.Ack:
        self._core.alter_index(
            request.collection_id,
            request.index_name,
            dict(request.properties),
            tuple(request.delete_keys),
        )
        return pb.Ack()

    @answers(pb.Ack)
    def IndexBuilt(self, request: pb.IndexBuiltRequest, context: Context) -> pb.Ack:
        self._core.index_built(codec.build_task_from_pb(request.task), request.key)
        return pb.Ack()

    @answers(pb.Ack)
    def IndexFailed(self, request: pb.IndexFailedRequest, context: Context) -> pb.Ack:
        self._core.index_failed(codec.build_task_from_pb(request.task), request.reason)
        return pb.Ack()

    # --- query: load state and shard leaders

    @answers(pb.Ack)
    def LoadCollection(self, request: pb.LoadCollectionRequest, context: Context) -> pb.Ack:
        self._core.load_collection(
            request.collection_id, tuple(request.partition_ids), request.replica_number or 1
        )
        return pb.Ack()

    @answers(pb.Ack)
    def ReleaseCollection(self, request: pb.ReleaseCollectionRequest, context: Context) -> pb.Ack:
        self._core.release_collection(request.collection_id)
        return pb.Ack()

    @answers(pb.Ack)
    def ReleasePartitions(self, request: pb.ReleasePartitionsRequest, context: Context) -> pb.Ack:
        self._core.release_partitions(request.collection_id, tuple(request.partition_ids))
        return pb.Ack()

    @answers(pb.LoadProgressResponse)
    def LoadProgress(
        self, request: pb.LoadProgressRequest, context: Context
    ) -> pb.LoadProgressResponse:
        progress = self._core.load_progress(request.collection_id, tuple(request.partition_ids))
        return pb.LoadProgressResponse(result=codec.load_progress_to_pb(progress))

    @answers(pb.ShardLeadersResponse)
    def ShardLeaders(
        self, request: pb.ShardLeadersRequest, context: Context
    ) -> pb.ShardLeadersResponse:
        return pb.ShardLeadersResponse(leaders=self._core.shard_leaders(request.collection_id))

    # --- administration reads

    @answers(pb.ListSegmentsResponse)
    def ListSegments(
        self, request: pb.ListSegmentsRequest, context: Context
    ) -> pb.ListSegmentsResponse:
        states = tuple(SegmentState(s) for s in request.states)
        segments = self._core.list_segments(request.collection_id, states)
        return pb.ListSegmentsResponse(segments_json=[codec.to_json(s) for s in segments])

    @answers(pb.ReplicasResponse)
    def Replicas(self, request: pb.ReplicasRequest, context: Context) -> pb.ReplicasResponse:
        replicas = self._core.replicas(request.collection_id)
        return pb.ReplicasResponse(replicas_json=[codec.to_json(r) for r in replicas])

    @answers(pb.LoadedSegmentsResponse)
    def LoadedSegments(
        self, request: pb.LoadedSegmentsRequest, context: Context
    ) -> pb.LoadedSegmentsResponse:
        segments = self._core.loaded_segments(request.collection_id)
        return pb.LoadedSegmentsResponse(segments_json=[codec.to_json(s) for s in segments])

    @answers(pb.ClusterNodesResponse)
    def ClusterNodes(
        self, request: pb.ClusterNodesRequest, context: Context
    ) -> pb.ClusterNodesResponse:
        nodes = self._core.cluster_nodes()
        return pb.ClusterNodesResponse(nodes_json=[codec.to_json(n) for n in nodes])
