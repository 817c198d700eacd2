"""Loading collections and partitions into the querynodes, and their load state."""

from __future__ import annotations

from typing import Any

from elanus import errors
from proto.public import common_pb2, milvus_pb2
from proxy import convert, partition_key
from proxy.context import ProxyContext
from proxy.pipeline import Call

LOAD_STATES = {
    "NotExist": common_pb2.LoadStateNotExist,
    "NotLoad": common_pb2.LoadStateNotLoad,
    "Loading": common_pb2.LoadStateLoading,
    "Loaded": common_pb2.LoadStateLoaded,
}


def load_collection(ctx: ProxyContext, request: Any, call: Call) -> Any:
    info = ctx.collection(call.db_name, request.collection_name)
    ctx.coordinator.load_collection(info.collection_id, (), request.replica_number or 1)


def release_collection(ctx: ProxyContext, request: Any, call: Call) -> Any:
    info = ctx.collection(call.db_name, request.collection_name)
    ctx.coordinator.release_collection(info.collection_id)


def load_partitions(ctx: ProxyContext, request: Any, call: Call) -> Any:
    info = ctx.collection(call.db_name, request.collection_name)
    partition_key.refuse_in_key_mode(info, "load partitions")
    if not request.partition_names:
        raise errors.ParameterInvalid("no partition is given to load")
    ids = [ctx.partition_id(info, name) for name in request.partition_names]
    ctx.coordinator.load_collection(info.collection_id, ids, request.replica_number or 1)


def release_partitions(ctx: ProxyContext, request: Any, call: Call) -> Any:
    info = ctx.collection(call.db_name, request.collection_name)
    partition_key.refuse_in_key_mode(info, "release partitions")
    if not request.partition_names:
        raise errors.ParameterInvalid(
            errors.fields(expected="any partition", actual="empty partition list")
        )
    ids = [ctx.partition_id(info, name) for name in request.partition_names]
    ctx.coordinator.release_partitions(info.collection_id, ids)


def get_loading_progress(ctx: ProxyContext, request: Any, call: Call) -> Any:
    info = ctx.collection(call.db_name, request.collection_name)
    ids = [ctx.partition_id(info, name) for name in request.partition_names]
    progress = ctx.coordinator.load_progress(info.collection_id, ids)
    if progress.state == "NotLoad":
        raise errors.CollectionNotLoaded(f"collection={info.name}")
    return milvus_pb2.GetLoadingProgressResponse(
        status=convert.status(), progress=progress.percent, refresh_progress=progress.percent
    )


def get_load_state(ctx: ProxyContext, request: Any, call: Call) -> Any:
    # A missing collection or partition is a state, not an error, as in Milvus.
    try:
        info = ctx.collection(call.db_name, request.collection_name)
        ids = [ctx.partition_id(info, name) for name in request.partition_names]
    except (errors.CollectionNotFound, errors.PartitionNotFound):
        return milvus_pb2.GetLoadStateResponse(
            status=convert.status(), state=common_pb2.LoadStateNotExist
        )
    progress = ctx.coordinator.load_progress(info.collection_id, ids)
    return milvus_pb2.GetLoadStateResponse(
        status=convert.status(), state=LOAD_STATES[progress.state]
    )


# --- indexes
