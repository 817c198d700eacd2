"""Administration reads: segments, replicas and compaction plans, in Milvus's messages
(pymilvus's utility and MilvusClient, and Attu, call them)."""

from __future__ import annotations

from elanus import errors
from elanus.meta import SegmentInfo, SegmentState
from proto.public import common_pb2, milvus_pb2
from proxy import convert
from proxy.context import ProxyContext
from proxy.pipeline import Call

# Milvus's SegmentState names for Elanus's states: a sealed segment is Sealed until
# its files are written (Milvus also says Flushing meanwhile), then Flushed.
MILVUS_STATES = {
    SegmentState.GROWING: common_pb2.Growing,
    SegmentState.SEALED: common_pb2.Sealed,
    SegmentState.FLUSHED: common_pb2.Flushed,
    SegmentState.DROPPED: common_pb2.Dropped,
}
# A state a client may ask for -> the Elanus state it selects (none: NotExist, Importing).
REQUESTED_STATES = {
    common_pb2.Growing: SegmentState.GROWING,
    common_pb2.Sealed: SegmentState.SEALED,
    common_pb2.Flushing: SegmentState.SEALED,
    common_pb2.Flushed: SegmentState.FLUSHED,
    common_pb2.Dropped: SegmentState.DROPPED,
}
# Elanus has no resource groups: every querynode is in Milvus's default one.
DEFAULT_RESOURCE_GROUP = "__default_resource_group"
COMPACTION_STATES = {"Executing": common_pb2.Executing, "Completed": common_pb2.Completed}


def get_persistent_segment_info(
    ctx: ProxyContext, request: milvus_pb2.GetPersistentSegmentInfoRequest, call: Call
) -> milvus_pb2.GetPersistentSegmentInfoResponse:
    info = ctx.collection(request.dbName or call.db_name, request.collectionName)
    response = milvus_pb2.GetPersistentSegmentInfoResponse(status=convert.status())
    # Without states, Milvus's list: sealed and flushed. The states pymilvus 3 may send
    # select among them; states that select nothing here (Importing) list nothing.
    wanted = sorted(
        {REQUESTED_STATES[s] for s in request.states if s in REQUESTED_STATES},
        key=lambda s: s.value,
    )
    if request.states and not wanted:
        return response
    for segment in ctx.coordinator.list_segments(info.collection_id, wanted):
        response.infos.append(_persistent_info(segment))
    return response


def get_query_segment_info(
    ctx: ProxyContext, request: milvus_pb2.GetQuerySegmentInfoRequest, call: Call
) -> milvus_pb2.GetQuerySegmentInfoResponse:
    info = ctx.collection(request.dbName or call.db_name, request.collectionName)
    response = milvus_pb2.GetQuerySegmentInfoResponse(status=convert.status())
    for segment in ctx.coordinator.loaded_segments(info.collection_id):
        response.infos.append(
            milvus_pb2.QuerySegmentInfo(
                segmentID=segment.segment_id,
                collectionID=segment.collection_id,
                partitionID=segment.partition_id,
                mem_size=segment.size_bytes,
                num_rows=segment.num_rows,
                index_name=segment.index_name,
                indexID=segment.index_id,
                nodeID=segment.node_ids[0] if segment.node_ids else 0,
                # Milvus reports every segment a querynode serves as Sealed.
                state=common_pb2.Sealed,
                nodeIds=segment.node_ids,
                level=common_pb2.L1,
            )
        )
    return response


def get_replicas(
    ctx: ProxyContext, request: milvus_pb2.GetReplicasRequest, call: Call
) -> milvus_pb2.GetReplicasResponse:
    if request.collection_name:
        collection_id = ctx.collection(call.db_name, request.collection_name).collection_id
    else:
        collection_id = request.collectionID
    response = milvus_pb2.GetReplicasResponse(status=convert.status())
    try:
        replicas = ctx.coordinator.replicas(collection_id)
    except errors.CollectionNotFound:
        # Milvus's query coordinator answers an unknown id with no replicas.
        return response
    for replica in replicas:
        shards = [
            milvus_pb2.ShardReplica(
                leaderID=shard.leader_id,
                leader_addr=shard.leader_address,
                dm_channel_name=shard.vchannel,
                # Milvus: the leader only, unless the nodes holding segments are asked for.
                node_ids=shard.node_ids if request.with_shard_nodes else [shard.leader_id],
            )
            for shard in replica.shards
        ]
        response.replicas.append(
            milvus_pb2.ReplicaInfo(
                replicaID=replica.replica_id,
                collectionID=replica.collection_id,
                partition_ids=replica.partition_ids,
                shard_replicas=shards,
                node_ids=replica.node_ids,
                resource_group_name=DEFAULT_RESOURCE_GROUP,
            )
        )
    return response


def get_compaction_state_with_plans(
    ctx: ProxyContext, request: milvus_pb2.GetCompactionPlansRequest, call: Call
) -> milvus_pb2.GetCompactionPlansResponse:
    progress = ctx.coordinator.compaction_state(request.compactionID)
    return milvus_pb2.GetCompactionPlansResponse(
        status=convert.status(),
        state=COMPACTION_STATES[progress.state],
        mergeInfos=[
            milvus_pb2.CompactionMergeInfo(sources=m.sources, target=m.target)
            for m in progress.merges
        ],
    )


def _persistent_info(segment: SegmentInfo) -> milvus_pb2.PersistentSegmentInfo:
    return milvus_pb2.PersistentSegmentInfo(
        segmentID=segment.segment_id,
        collectionID=segment.collection_id,
        partitionID=segment.partition_id,
        num_rows=segment.num_rows,
        state=MILVUS_STATES[segment.state],
        level=common_pb2.L1,
    )
