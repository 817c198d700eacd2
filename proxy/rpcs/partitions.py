"""Partitions of a collection: create, drop, list, statistics."""

from __future__ import annotations

from typing import Any

from elanus import errors, timestamps
from proto.public import common_pb2, milvus_pb2
from proxy import convert, partition_key
from proxy.context import ProxyContext
from proxy.pipeline import Call


def create_partition(ctx: ProxyContext, request: Any, call: Call) -> Any:
    info = ctx.collection(call.db_name, request.collection_name)
    partition_key.refuse_in_key_mode(info, "create partition")
    convert.validate_partition_name(request.partition_name)
    # Creating a partition that exists succeeds and changes nothing, as in Milvus.
    ctx.coordinator.create_partition(info.db_name, info.name, request.partition_name)


def drop_partition(ctx: ProxyContext, request: Any, call: Call) -> Any:
    info = ctx.collection(call.db_name, request.collection_name)
    partition_key.refuse_in_key_mode(info, "drop partition")
    convert.validate_partition_name(request.partition_name)
    if request.partition_name == "_default":
        raise errors.ParameterInvalid("default partition cannot be deleted")
    ctx.coordinator.drop_partition(info.db_name, info.name, request.partition_name)


def has_partition(ctx: ProxyContext, request: Any, call: Call) -> Any:
    info = ctx.collection(call.db_name, request.collection_name)
    convert.validate_partition_name(request.partition_name)
    found = info.partition(request.partition_name) is not None
    return milvus_pb2.BoolResponse(status=convert.status(), value=found)


def show_partitions(ctx: ProxyContext, request: Any, call: Call) -> Any:
    info = ctx.collection(call.db_name, request.collection_name)
    progress = ctx.coordinator.load_progress(info.collection_id)
    loaded = set(progress.loaded_partitions)
    response = milvus_pb2.ShowPartitionsResponse(status=convert.status())
    for partition in info.partitions:
        if request.partition_names and partition.name not in request.partition_names:
            continue
        response.partition_names.append(partition.name)
        response.partitionIDs.append(partition.partition_id)
        response.created_timestamps.append(partition.created_ts)
        response.created_utc_timestamps.append(timestamps.physical_ms(partition.created_ts))
        in_memory = progress.percent if partition.partition_id in loaded else 0
        response.inMemory_percentages.append(in_memory)
    return response


def get_partition_statistics(ctx: ProxyContext, request: Any, call: Call) -> Any:
    info = ctx.collection(call.db_name, request.collection_name)
    partition_id = ctx.partition_id(info, request.partition_name)
    stats = ctx.coordinator.collection_statistics(info.collection_id, [partition_id])
    return milvus_pb2.GetPartitionStatisticsResponse(
        status=convert.status(),
        stats=[common_pb2.KeyValuePair(key="row_count", value=str(stats.row_count))],
    )


# --- loading
