"""AddCollectionField and AlterCollectionField: schema evolution of a collection that
may be loaded and serving."""

from __future__ import annotations

from typing import Any

from elanus import errors
from proto.public import schema_pb2
from proxy import convert
from proxy.context import ProxyContext
from proxy.pipeline import Call


def add_collection_field(ctx: ProxyContext, request: Any, call: Call) -> Any:
    """Check the field as Milvus's proxy does, then have the coordinator add it.

    Nothing is reloaded: rows already written read the field as its default value
    or null, and the nodes adopt the new schema on the first request or row that
    carries it.
    """
    info = ctx.collection(call.db_name, request.collection_name)
    pb = schema_pb2.FieldSchema()
    try:
        pb.ParseFromString(request.schema)
    except Exception:
        raise errors.ParameterInvalid(cause="the field schema cannot be parsed") from None
    added = convert.added_field_from_proto(pb, info.schema)
    ctx.coordinator.add_collection_field(info.db_name, info.name, added)


def alter_collection_field(ctx: ProxyContext, request: Any, call: Call) -> Any:
    """Set or remove one field's properties: ``max_length`` of a VarChar field (later
    inserts are held to it) and ``mmap.enabled``; the coordinator refuses the rest."""
    info = ctx.collection(call.db_name, request.collection_name)
    properties = convert.kv_pairs_to_dict(request.properties)
    ctx.coordinator.alter_collection_field(
        info.db_name, info.name, request.field_name, properties, tuple(request.delete_keys)
    )
