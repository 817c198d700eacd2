"""Collections: create, drop, alter properties, describe, list, statistics."""

from __future__ import annotations

from typing import Any

from elanus import errors, timestamps
from elanus.meta import DEFAULT_DB, CollectionInfo, ConsistencyLevel
from proto.public import common_pb2, milvus_pb2, schema_pb2
from proxy import convert, partition_key
from proxy.context import ProxyContext
from proxy.pipeline import Call

MAX_SHARD_NUM = 16  # Milvus's proxy.maxShardNum


def create_collection(ctx: ProxyContext, request: Any, call: Call) -> Any:
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
    if request.shards_num > MAX_SHARD_NUM:
        raise errors.OperationRefused(
            f"maximum shards's number should be limited to {MAX_SHARD_NUM}"
        )
    schema = convert.validate_new_schema(convert.schema_from_proto(pb))
    properties = convert.kv_pairs_to_dict(request.properties)
    num_partitions = partition_key.partitions_to_create(schema, request.num_partitions)
    partition_key.check_isolation_property(properties)
    ctx.coordinator.create_collection(
        call.db_name,
        schema,
        request.shards_num,
        ConsistencyLevel(request.consistency_level),
        properties,
        num_partitions,
    )


def drop_collection(ctx: ProxyContext, request: Any, call: Call) -> Any:
    try:
        ctx.collection(call.db_name, request.collection_name)
    except errors.CollectionNotFound:
        return None  # dropping what is not there succeeds, as in Milvus
    ctx.coordinator.drop_collection(call.db_name, request.collection_name)


def alter_collection(ctx: ProxyContext, request: Any, call: Call) -> Any:
    """Set (``properties``) or remove (``delete_keys``) collection properties; the
    coordinator refuses a key Elanus cannot honour, or a bad value, changing nothing."""
    info = ctx.collection(call.db_name, request.collection_name)
    properties = convert.kv_pairs_to_dict(request.properties)
    ctx.coordinator.alter_collection(
        info.db_name, info.name, properties, tuple(request.delete_keys)
    )


def rename_collection(
    ctx: ProxyContext, request: milvus_pb2.RenameCollectionRequest, call: Call
) -> Any:
    """A new name (in ``newDBName`` if given); the collection keeps its id, so its rows,
    indexes, load state and aliases stay with it. The coordinator applies Milvus's rules."""
    convert.validate_collection_name(request.oldName)
    convert.validate_collection_name(request.newName)
    new_db_name = request.newDBName or call.db_name
    if request.newDBName:
        ctx.require_database(request.newDBName)
    ctx.coordinator.rename_collection(call.db_name, request.oldName, new_db_name, request.newName)


def truncate_collection(
    ctx: ProxyContext, request: milvus_pb2.TruncateCollectionRequest, call: Call
) -> milvus_pb2.TruncateCollectionResponse:
    """Every row goes; the schema, indexes, properties, aliases and load state stay.
    The timestamp is drawn as a write's, so reads after it see no older row."""
    info = ctx.collection(call.db_name, request.collection_name)
    ctx.writer.truncate(
        info, lambda ts: ctx.coordinator.truncate_collection(info.collection_id, ts)
    )
    return milvus_pb2.TruncateCollectionResponse(status=convert.status())


def has_collection(ctx: ProxyContext, request: Any, call: Call) -> Any:
    try:
        ctx.collection(call.db_name, request.collection_name)
    except errors.CollectionNotFound:
        return milvus_pb2.BoolResponse(status=convert.status(), value=False)
    return milvus_pb2.BoolResponse(status=convert.status(), value=True)


def describe_collection(ctx: ProxyContext, request: Any, call: Call) -> Any:
    if request.collectionID and not request.collection_name:
        info = ctx.coordinator.describe_collection(call.db_name, collection_id=request.collectionID)
    else:
        try:
            info = ctx.collection(call.db_name, request.collection_name)
        except errors.CollectionNotFound:
            raise errors.CollectionNotFoundOnDescribe(
                errors.fields(
                    database=call.db_name or DEFAULT_DB, collection=request.collection_name
                )
            ) from None
    return _describe(info, ctx.coordinator.list_aliases(info.db_name, info.name))


def show_collections(ctx: ProxyContext, request: Any, call: Call) -> Any:
    infos = ctx.coordinator.list_collections(call.db_name)
    if request.collection_names:
        wanted = set(request.collection_names)
        missing = wanted - {i.name for i in infos}
        if missing:
            raise errors.collection_not_found(call.db_name or DEFAULT_DB, sorted(missing)[0])
        infos = [i for i in infos if i.name in wanted]
    response = milvus_pb2.ShowCollectionsResponse(status=convert.status())
    for info in infos:
        progress = ctx.coordinator.load_progress(info.collection_id)
        if request.type == milvus_pb2.InMemory and progress.state == "NotLoad":
            continue
        response.collection_names.append(info.name)
        response.collection_ids.append(info.collection_id)
        response.created_timestamps.append(info.created_ts)
        response.created_utc_timestamps.append(timestamps.physical_ms(info.created_ts))
        response.inMemory_percentages.append(progress.percent)
        response.query_service_available.append(progress.state == "Loaded")
        response.shards_num.append(info.shards_num)
    return response


def get_collection_statistics(ctx: ProxyContext, request: Any, call: Call) -> Any:
    info = ctx.collection(call.db_name, request.collection_name)
    stats = ctx.coordinator.collection_statistics(info.collection_id)
    return milvus_pb2.GetCollectionStatisticsResponse(
        status=convert.status(),
        stats=[common_pb2.KeyValuePair(key="row_count", value=str(stats.row_count))],
    )


def _describe(info: CollectionInfo, aliases: list[str]) -> milvus_pb2.DescribeCollectionResponse:
    return milvus_pb2.DescribeCollectionResponse(
        status=convert.status(),
        schema=convert.schema_to_proto(info.schema),
        collectionID=info.collection_id,
        virtual_channel_names=list(info.vchannels),
        physical_channel_names=list(info.pchannels),
        created_timestamp=info.created_ts,
        created_utc_timestamp=timestamps.physical_ms(info.created_ts),
        shards_num=info.shards_num,
        consistency_level=common_pb2.ConsistencyLevel.ValueType(info.consistency_level),
        collection_name=info.name,
        properties=[common_pb2.KeyValuePair(key=k, value=v) for k, v in info.properties.items()],
        db_name=info.db_name,
        num_partitions=len(info.partitions),
        aliases=aliases,
        update_timestamp=info.update_timestamp,
        update_timestamp_str=str(info.update_timestamp),
    )
