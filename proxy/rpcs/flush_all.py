"""FlushAll and GetFlushAllState: flush every collection of a database (or the
named targets) and tell when all the data acknowledged before it is in storage."""

from __future__ import annotations

from typing import Any

from elanus import errors, timestamps
from elanus.meta import CollectionInfo
from proto.public import milvus_pb2, schema_pb2
from proxy import convert
from proxy.context import ProxyContext
from proxy.pipeline import Call


def flush_all(
    ctx: ProxyContext, request: milvus_pb2.FlushAllRequest, call: Call
) -> milvus_pb2.FlushAllResponse:
    results: list[milvus_pb2.FlushAllResult] = []
    flush_timestamps: list[int] = []
    for db_name, infos in _targets(ctx, request, call).items():
        result = milvus_pb2.FlushAllResult(db_name=db_name)
        for info in infos:
            flushed = ctx.coordinator.flush(info.collection_id)
            flush_timestamps.append(flushed.flush_ts)
            result.collection_results.append(
                milvus_pb2.FlushCollectionResult(
                    collection_name=info.name,
                    segment_ids=schema_pb2.LongArray(data=flushed.segment_ids),
                    flush_segment_ids=schema_pb2.LongArray(data=flushed.flushed_segment_ids),
                    seal_time=timestamps.physical_ms(flushed.seal_ts) // 1000,
                    flush_ts=flushed.flush_ts,
                )
            )
        results.append(result)
    # Every write acknowledged before this call is older than each collection's
    # flush timestamp, so the oldest of them covers them all.
    flush_all_ts = min(flush_timestamps) if flush_timestamps else ctx.coordinator.alloc_timestamp()
    return milvus_pb2.FlushAllResponse(
        status=convert.status(), flush_all_ts=flush_all_ts, flush_results=results
    )


def get_flush_all_state(
    ctx: ProxyContext, request: milvus_pb2.GetFlushAllStateRequest, call: Call
) -> milvus_pb2.GetFlushAllStateResponse:
    if request.flush_all_tss:
        raise errors.ParameterInvalid(
            "flush_all_tss is not supported; send the flush_all_ts that FlushAll answered"
        )
    if not request.flush_all_ts:
        raise errors.ParameterInvalid("flush_all_ts is not given")
    states: list[milvus_pb2.FlushAllState] = []
    for db_name, infos in _targets(ctx, request, call).items():
        state = milvus_pb2.FlushAllState(db_name=db_name)
        for info in infos:
            # A collection created after the flush had nothing to flush for it.
            done = info.created_ts > request.flush_all_ts or ctx.coordinator.flush_state(
                info.collection_id, [], request.flush_all_ts
            )
            state.collection_flush_states[info.name] = done
        states.append(state)
    flushed = all(all(s.collection_flush_states.values()) for s in states)
    return milvus_pb2.GetFlushAllStateResponse(
        status=convert.status(), flushed=flushed, flush_states=states
    )


def _targets(ctx: ProxyContext, request: Any, call: Call) -> dict[str, list[CollectionInfo]]:
    """The collections a request covers, by database: its targets, or all of the call's."""
    if not request.flush_targets:
        return {call.db_name: ctx.coordinator.list_collections(call.db_name)}
    chosen: dict[str, list[CollectionInfo]] = {}
    for target in request.flush_targets:
        db_name = target.db_name or call.db_name
        ctx.require_database(db_name)
        if target.collection_names:
            infos = [ctx.collection(db_name, name) for name in target.collection_names]
        else:
            infos = ctx.coordinator.list_collections(db_name)
        chosen.setdefault(db_name, []).extend(infos)
    return chosen
