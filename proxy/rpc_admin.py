"""MilvusService RPCs for the server itself, collections, partitions, indexes,
loading and flushing: protobuf in, a coordinator call, protobuf out."""

from __future__ import annotations

import json
import time
from typing import Any

from elanus import errors, timestamps, vectors
from elanus.meta import DEFAULT_DB, CollectionInfo, ConsistencyLevel
from proto.public import common_pb2, milvus_pb2, schema_pb2
from proxy import convert
from proxy.context import ProxyContext
from proxy.handling import rpc

LOAD_STATES = {
    "NotExist": common_pb2.LoadStateNotExist,
    "NotLoad": common_pb2.LoadStateNotLoad,
    "Loading": common_pb2.LoadStateLoading,
    "Loaded": common_pb2.LoadStateLoaded,
}
INDEX_STATES = {
    "Finished": common_pb2.Finished,
    "InProgress": common_pb2.InProgress,
    "Failed": common_pb2.Failed,
}


def _utc_ms(ts: int) -> int:
    return timestamps.physical_ms(ts)


class AdminRpcs:
    ctx: ProxyContext

    # --- the server

    @rpc(milvus_pb2.ConnectResponse)
    def Connect(self, request: Any, context: Any) -> Any:
        info = common_pb2.ServerInfo(build_tags=self.ctx.version, deploy_mode="STANDALONE")
        return milvus_pb2.ConnectResponse(
            status=convert.status(), server_info=info, identifier=int(time.time_ns() % 2**62)
        )

    @rpc(milvus_pb2.GetVersionResponse)
    def GetVersion(self, request: Any, context: Any) -> Any:
        return milvus_pb2.GetVersionResponse(status=convert.status(), version=self.ctx.version)

    @rpc(milvus_pb2.CheckHealthResponse)
    def CheckHealth(self, request: Any, context: Any) -> Any:
        return milvus_pb2.CheckHealthResponse(status=convert.status(), isHealthy=True)

    @rpc(milvus_pb2.ComponentStates)
    def GetComponentStates(self, request: Any, context: Any) -> Any:
        state = milvus_pb2.ComponentInfo(
            nodeID=self.ctx.node_id, role="proxy", state_code=common_pb2.Healthy
        )
        return milvus_pb2.ComponentStates(state=state, status=convert.status())

    @rpc(milvus_pb2.AllocTimestampResponse)
    def AllocTimestamp(self, request: Any, context: Any) -> Any:
        ts = self.ctx.coordinator.alloc_timestamp()
        return milvus_pb2.AllocTimestampResponse(status=convert.status(), timestamp=ts)

    @rpc(milvus_pb2.ListDatabasesResponse)
    def ListDatabases(self, request: Any, context: Any) -> Any:
        return milvus_pb2.ListDatabasesResponse(
            status=convert.status(), db_names=[DEFAULT_DB], db_ids=[1], created_timestamp=[0]
        )

    @rpc(milvus_pb2.DescribeDatabaseResponse)
    def DescribeDatabase(self, request: Any, context: Any) -> Any:
        if request.db_name not in ("", DEFAULT_DB):
            raise errors.DatabaseNotFound(f"database={request.db_name}")
        return milvus_pb2.DescribeDatabaseResponse(
            status=convert.status(), db_name=DEFAULT_DB, dbID=1
        )

    # --- collections

    @rpc()
    def CreateCollection(self, request: Any, context: Any) -> Any:
        pb = schema_pb2.CollectionSchema()
        try:
            pb.ParseFromString(request.schema)
        except Exception:
            raise errors.IllegalSchema("the schema cannot be parsed") from None
        if not pb.name:
            pb.name = request.collection_name
        if pb.name != request.collection_name:
            raise errors.ParameterInvalid(
                f"collection name ({request.collection_name}) and schema name ({pb.name}) differ"
            )
        schema = convert.validate_new_schema(convert.schema_from_proto(pb))
        properties = convert.kv_pairs_to_dict(request.properties)
        self.ctx.coordinator.create_collection(
            request.db_name or DEFAULT_DB,
            schema,
            request.shards_num,
            ConsistencyLevel(request.consistency_level),
            properties,
        )

    @rpc()
    def DropCollection(self, request: Any, context: Any) -> Any:
        try:
            self.ctx.collection(request.db_name, request.collection_name)
        except errors.CollectionNotFound:
            return None  # dropping what is not there succeeds, as in Milvus
        self.ctx.coordinator.drop_collection(request.db_name or DEFAULT_DB, request.collection_name)

    @rpc(milvus_pb2.BoolResponse)
    def HasCollection(self, request: Any, context: Any) -> Any:
        try:
            self.ctx.collection(request.db_name, request.collection_name)
        except errors.CollectionNotFound:
            return milvus_pb2.BoolResponse(status=convert.status(), value=False)
        return milvus_pb2.BoolResponse(status=convert.status(), value=True)

    @rpc(milvus_pb2.DescribeCollectionResponse)
    def DescribeCollection(self, request: Any, context: Any) -> Any:
        if request.collectionID and not request.collection_name:
            info = self.ctx.coordinator.describe_collection(
                request.db_name or DEFAULT_DB, collection_id=request.collectionID
            )
        else:
            info = self.ctx.collection(request.db_name, request.collection_name)
        return _describe(info)

    @rpc(milvus_pb2.ShowCollectionsResponse)
    def ShowCollections(self, request: Any, context: Any) -> Any:
        infos = self.ctx.coordinator.list_collections(request.db_name or DEFAULT_DB)
        if request.collection_names:
            wanted = set(request.collection_names)
            missing = wanted - {i.name for i in infos}
            if missing:
                raise errors.CollectionNotFound(f"collection={sorted(missing)[0]}")
            infos = [i for i in infos if i.name in wanted]
        response = milvus_pb2.ShowCollectionsResponse(status=convert.status())
        for info in infos:
            progress = self.ctx.coordinator.load_progress(info.collection_id)
            if request.type == milvus_pb2.InMemory and progress.state == "NotLoad":
                continue
            response.collection_names.append(info.name)
            response.collection_ids.append(info.collection_id)
            response.created_timestamps.append(info.created_ts)
            response.created_utc_timestamps.append(_utc_ms(info.created_ts))
            response.inMemory_percentages.append(progress.percent)
            response.query_service_available.append(progress.state == "Loaded")
            response.shards_num.append(info.shards_num)
        return response

    @rpc(milvus_pb2.GetCollectionStatisticsResponse)
    def GetCollectionStatistics(self, request: Any, context: Any) -> Any:
        info = self.ctx.collection(request.db_name, request.collection_name)
        stats = self.ctx.coordinator.collection_statistics(info.collection_id)
        return milvus_pb2.GetCollectionStatisticsResponse(
            status=convert.status(),
            stats=[common_pb2.KeyValuePair(key="row_count", value=str(stats.row_count))],
        )

    @rpc()
    def AlterCollection(self, request: Any, context: Any) -> Any:
        raise errors.Unimplemented("AlterCollection is not supported yet")

    # --- partitions

    @rpc()
    def CreatePartition(self, request: Any, context: Any) -> Any:
        info = self.ctx.collection(request.db_name, request.collection_name)
        convert.validate_partition_name(request.partition_name)
        if info.partition(request.partition_name) is not None:
            raise errors.ParameterInvalid(
                f"partition already exists, partition: {request.partition_name}"
            )
        self.ctx.coordinator.create_partition(info.db_name, info.name, request.partition_name)

    @rpc()
    def DropPartition(self, request: Any, context: Any) -> Any:
        info = self.ctx.collection(request.db_name, request.collection_name)
        if request.partition_name == "_default":
            raise errors.ParameterInvalid("default partition cannot be deleted")
        self.ctx.coordinator.drop_partition(info.db_name, info.name, request.partition_name)

    @rpc(milvus_pb2.BoolResponse)
    def HasPartition(self, request: Any, context: Any) -> Any:
        info = self.ctx.collection(request.db_name, request.collection_name)
        found = info.partition(request.partition_name) is not None
        return milvus_pb2.BoolResponse(status=convert.status(), value=found)

    @rpc(milvus_pb2.ShowPartitionsResponse)
    def ShowPartitions(self, request: Any, context: Any) -> Any:
        info = self.ctx.collection(request.db_name, request.collection_name)
        progress = self.ctx.coordinator.load_progress(info.collection_id)
        loaded = set(progress.loaded_partitions)
        response = milvus_pb2.ShowPartitionsResponse(status=convert.status())
        for partition in info.partitions:
            if request.partition_names and partition.name not in request.partition_names:
                continue
            response.partition_names.append(partition.name)
            response.partitionIDs.append(partition.partition_id)
            response.created_timestamps.append(partition.created_ts)
            response.created_utc_timestamps.append(_utc_ms(partition.created_ts))
            in_memory = progress.percent if partition.partition_id in loaded else 0
            response.inMemory_percentages.append(in_memory)
        return response

    @rpc(milvus_pb2.GetPartitionStatisticsResponse)
    def GetPartitionStatistics(self, request: Any, context: Any) -> Any:
        info = self.ctx.collection(request.db_name, request.collection_name)
        partition_id = self.ctx.partition_id(info, request.partition_name)
        stats = self.ctx.coordinator.collection_statistics(info.collection_id, [partition_id])
        return milvus_pb2.GetPartitionStatisticsResponse(
            status=convert.status(),
            stats=[common_pb2.KeyValuePair(key="row_count", value=str(stats.row_count))],
        )

    # --- loading

    @rpc()
    def LoadCollection(self, request: Any, context: Any) -> Any:
        info = self.ctx.collection(request.db_name, request.collection_name)
        self.ctx.coordinator.load_collection(info.collection_id)

    @rpc()
    def ReleaseCollection(self, request: Any, context: Any) -> Any:
        info = self.ctx.collection(request.db_name, request.collection_name)
        self.ctx.coordinator.release_collection(info.collection_id)

    @rpc()
    def LoadPartitions(self, request: Any, context: Any) -> Any:
        info = self.ctx.collection(request.db_name, request.collection_name)
        if not request.partition_names:
            raise errors.ParameterInvalid("no partition is given to load")
        ids = [self.ctx.partition_id(info, name) for name in request.partition_names]
        self.ctx.coordinator.load_collection(info.collection_id, ids)

    @rpc()
    def ReleasePartitions(self, request: Any, context: Any) -> Any:
        info = self.ctx.collection(request.db_name, request.collection_name)
        ids = [self.ctx.partition_id(info, name) for name in request.partition_names]
        self.ctx.coordinator.release_partitions(info.collection_id, ids)

    @rpc(milvus_pb2.GetLoadingProgressResponse)
    def GetLoadingProgress(self, request: Any, context: Any) -> Any:
        info = self.ctx.collection(request.db_name, request.collection_name)
        ids = [self.ctx.partition_id(info, name) for name in request.partition_names]
        progress = self.ctx.coordinator.load_progress(info.collection_id, ids)
        if progress.state == "NotLoad":
            raise errors.CollectionNotLoaded(f"collection={info.name}")
        return milvus_pb2.GetLoadingProgressResponse(
            status=convert.status(), progress=progress.percent, refresh_progress=progress.percent
        )

    @rpc(milvus_pb2.GetLoadStateResponse)
    def GetLoadState(self, request: Any, context: Any) -> Any:
        # A missing collection or partition is a state, not an error, as in Milvus.
        try:
            info = self.ctx.collection(request.db_name, request.collection_name)
            ids = [self.ctx.partition_id(info, name) for name in request.partition_names]
        except (errors.CollectionNotFound, errors.PartitionNotFound):
            return milvus_pb2.GetLoadStateResponse(
                status=convert.status(), state=common_pb2.LoadStateNotExist
            )
        progress = self.ctx.coordinator.load_progress(info.collection_id, ids)
        return milvus_pb2.GetLoadStateResponse(
            status=convert.status(), state=LOAD_STATES[progress.state]
        )

    # --- indexes

    @rpc()
    def CreateIndex(self, request: Any, context: Any) -> Any:
        info = self.ctx.collection(request.db_name, request.collection_name)
        field = info.schema.field(request.field_name)
        if field is None:
            raise errors.FieldNotFound(f"field={request.field_name}")
        pairs = convert.kv_pairs_to_dict(request.extra_params)
        build_params = convert.json_object(pairs.pop("params", ""), "index params")
        requested_type = pairs.pop("index_type", "")
        metric_type = pairs.pop("metric_type", "")
        build_params.update({k: v for k, v in pairs.items() if k not in _IGNORED_INDEX_KEYS})
        if not field.data_type.is_vector:
            raise errors.IndexNotSupported(
                f"indexes on scalar field '{field.name}' are not supported yet; "
                "filters on it work without one"
            )
        spec = vectors.parse_index_spec(requested_type, metric_type, build_params, field)
        # DescribeIndex echoes the parameters flat, as Milvus does: {"nlist": "8", ...}.
        user_params = {
            "index_type": spec.requested_type,
            "metric_type": spec.metric_type,
            **{k: v if isinstance(v, str) else json.dumps(v) for k, v in build_params.items()},
        }
        self.ctx.coordinator.create_index(
            info.collection_id,
            field.name,
            request.index_name or field.name,
            spec.index_type,
            spec.metric_type,
            spec.params,
            user_params,
        )

    @rpc(milvus_pb2.DescribeIndexResponse)
    def DescribeIndex(self, request: Any, context: Any) -> Any:
        info = self.ctx.collection(request.db_name, request.collection_name)
        found = self.ctx.coordinator.describe_indexes(
            info.collection_id, request.field_name, request.index_name
        )
        if not found:
            raise errors.IndexNotFound(f"collection={info.name}")
        response = milvus_pb2.DescribeIndexResponse(status=convert.status())
        for progress in found:
            index = progress.index
            response.index_descriptions.append(
                milvus_pb2.IndexDescription(
                    index_name=index.index_name,
                    indexID=index.index_id,
                    params=[
                        common_pb2.KeyValuePair(key=k, value=v)
                        for k, v in index.user_params.items()
                    ],
                    field_name=index.field_name,
                    indexed_rows=progress.indexed_rows,
                    total_rows=progress.total_rows,
                    pending_index_rows=progress.pending_rows,
                    state=INDEX_STATES[progress.state],
                    index_state_fail_reason=progress.fail_reason,
                )
            )
        return response

    @rpc(milvus_pb2.GetIndexStateResponse)
    def GetIndexState(self, request: Any, context: Any) -> Any:
        progress = self._one_index(request)
        return milvus_pb2.GetIndexStateResponse(
            status=convert.status(),
            state=INDEX_STATES[progress.state],
            fail_reason=progress.fail_reason,
        )

    @rpc(milvus_pb2.GetIndexBuildProgressResponse)
    def GetIndexBuildProgress(self, request: Any, context: Any) -> Any:
        progress = self._one_index(request)
        return milvus_pb2.GetIndexBuildProgressResponse(
            status=convert.status(),
            indexed_rows=progress.indexed_rows,
            total_rows=progress.total_rows,
        )

    @rpc()
    def DropIndex(self, request: Any, context: Any) -> Any:
        info = self.ctx.collection(request.db_name, request.collection_name)
        self.ctx.coordinator.drop_index(info.collection_id, request.field_name, request.index_name)

    def _one_index(self, request: Any) -> Any:
        info = self.ctx.collection(request.db_name, request.collection_name)
        found = self.ctx.coordinator.describe_indexes(
            info.collection_id, request.field_name, request.index_name
        )
        if not found:
            raise errors.IndexNotFound(f"collection={info.name}")
        return found[0]

    # --- flushing and segments

    @rpc(milvus_pb2.FlushResponse)
    def Flush(self, request: Any, context: Any) -> Any:
        response = milvus_pb2.FlushResponse(status=convert.status(), db_name=request.db_name)
        infos = [self.ctx.collection(request.db_name, n) for n in request.collection_names]
        for info in infos:
            result = self.ctx.coordinator.flush(info.collection_id)
            response.coll_segIDs[info.name].data.extend(result.segment_ids)
            response.flush_coll_segIDs[info.name].data.extend(result.flushed_segment_ids)
            response.coll_seal_times[info.name] = _utc_ms(result.seal_ts) // 1000
            response.coll_flush_ts[info.name] = result.flush_ts
        return response

    @rpc(milvus_pb2.GetFlushStateResponse)
    def GetFlushState(self, request: Any, context: Any) -> Any:
        collection_id = 0
        if request.collection_name:
            collection_id = self.ctx.collection(
                request.db_name, request.collection_name
            ).collection_id
        flushed = self.ctx.coordinator.flush_state(
            collection_id, list(request.segmentIDs), request.flush_ts
        )
        return milvus_pb2.GetFlushStateResponse(status=convert.status(), flushed=flushed)

    # --- compaction

    @rpc(milvus_pb2.ManualCompactionResponse)
    def ManualCompaction(self, request: Any, context: Any) -> Any:
        if request.collection_name:
            collection_id = self.ctx.collection(
                request.db_name, request.collection_name
            ).collection_id
        else:
            collection_id = request.collectionID
        compaction_id = self.ctx.coordinator.manual_compaction(collection_id)
        progress = self.ctx.coordinator.compaction_state(compaction_id)
        return milvus_pb2.ManualCompactionResponse(
            status=convert.status(),
            compactionID=compaction_id,
            compactionPlanCount=progress.executing + progress.completed + progress.failed,
        )

    @rpc(milvus_pb2.GetCompactionStateResponse)
    def GetCompactionState(self, request: Any, context: Any) -> Any:
        progress = self.ctx.coordinator.compaction_state(request.compactionID)
        state = common_pb2.Executing if progress.state == "Executing" else common_pb2.Completed
        return milvus_pb2.GetCompactionStateResponse(
            status=convert.status(),
            state=state,
            executingPlanNo=progress.executing,
            completedPlanNo=progress.completed,
            failedPlanNo=progress.failed,
        )


_IGNORED_INDEX_KEYS = {"mmap.enabled", "index_name", "field_name"}


def _describe(info: CollectionInfo) -> Any:
    return milvus_pb2.DescribeCollectionResponse(
        status=convert.status(),
        schema=convert.schema_to_proto(info.schema),
        collectionID=info.collection_id,
        virtual_channel_names=list(info.vchannels),
        physical_channel_names=list(info.pchannels),
        created_timestamp=info.created_ts,
        created_utc_timestamp=_utc_ms(info.created_ts),
        shards_num=info.shards_num,
        consistency_level=int(info.consistency_level),
        collection_name=info.name,
        properties=[common_pb2.KeyValuePair(key=k, value=v) for k, v in info.properties.items()],
        db_name=info.db_name,
        num_partitions=len(info.partitions),
    )
