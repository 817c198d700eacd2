"""Flushing growing data to storage and compacting segments."""

from __future__ import annotations

from typing import Any

from elanus import timestamps
from proto.public import common_pb2, milvus_pb2
from proxy import convert
from proxy.context import ProxyContext
from proxy.pipeline import Call


def flush(ctx: ProxyContext, request: Any, call: Call) -> Any:
    response = milvus_pb2.FlushResponse(status=convert.status(), db_name=call.db_name)
    infos = [ctx.collection(call.db_name, n) for n in request.collection_names]
    for info in infos:
        result = ctx.coordinator.flush(info.collection_id)
        response.coll_segIDs[info.name].data.extend(result.segment_ids)
        response.flush_coll_segIDs[info.name].data.extend(result.flushed_segment_ids)
        response.coll_seal_times[info.name] = timestamps.physical_ms(result.seal_ts) // 1000
        response.coll_flush_ts[info.name] = result.flush_ts
    return response


def get_flush_state(ctx: ProxyContext, request: Any, call: Call) -> Any:
    collection_id = 0
    if request.collection_name:
        collection_id = ctx.collection(call.db_name, request.collection_name).collection_id
    flushed = ctx.coordinator.flush_state(collection_id, list(request.segmentIDs), request.flush_ts)
    return milvus_pb2.GetFlushStateResponse(status=convert.status(), flushed=flushed)


# --- compaction


def manual_compaction(ctx: ProxyContext, request: Any, call: Call) -> Any:
    if request.collection_name:
        collection_id = ctx.collection(call.db_name, request.collection_name).collection_id
    else:
        collection_id = request.collectionID
    compaction_id = ctx.coordinator.manual_compaction(collection_id)
    progress = ctx.coordinator.compaction_state(compaction_id)
    return milvus_pb2.ManualCompactionResponse(
        status=convert.status(),
        compactionID=compaction_id,
        compactionPlanCount=progress.executing + progress.completed + progress.failed,
    )


def get_compaction_state(ctx: ProxyContext, request: Any, call: Call) -> Any:
    progress = ctx.coordinator.compaction_state(request.compactionID)
    state = common_pb2.Executing if progress.state == "Executing" else common_pb2.Completed
    return milvus_pb2.GetCompactionStateResponse(
        status=convert.status(),
        state=state,
        executingPlanNo=progress.executing,
        completedPlanNo=progress.completed,
        failedPlanNo=progress.failed,
    )
