"""Rows in: insert and upsert."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from elanus import errors
from elanus.meta import CollectionInfo
from proto.public import milvus_pb2
from proxy import convert, partition_key
from proxy.context import ProxyContext
from proxy.pipeline import Call
from proxy.writer import Placement


def _placement(
    ctx: ProxyContext, info: CollectionInfo, partition_name: str, rows: pa.Table
) -> Placement:
    """The named partition (``_default`` if none), or per row its partition key's."""
    if info.partition_key is not None:
        return partition_key.row_partitions(info, rows)
    return _target_partition(ctx, info, partition_name)


def _target_partition(ctx: ProxyContext, info: CollectionInfo, name: str) -> int:
    """The partition a write goes to; a malformed name is refused first, as Milvus's
    strict check of writes does (reads only look the name up)."""
    if name:
        convert.validate_partition_name(name)
    return ctx.partition_id(info, name)


def insert(ctx: ProxyContext, request: Any, call: Call) -> Any:
    info = ctx.collection(call.db_name, request.collection_name)
    _check_schema_timestamp(info, request.schema_timestamp)
    partition_key.refuse_manual_partition_write(info, request.partition_name)
    schema = info.schema
    rows = convert.table_from_field_data(request.fields_data, request.num_rows, schema)
    primary = schema.primary_field
    if primary.auto_id:
        first = ctx.coordinator.alloc_ids(rows.num_rows)
        pks = np.arange(first, first + rows.num_rows, dtype=np.int64)
        rows = convert.with_primary_keys(rows, schema, pks)
    outcome = ctx.writer.insert(info, _placement(ctx, info, request.partition_name, rows), rows)
    return milvus_pb2.MutationResult(
        status=convert.status(),
        IDs=convert.ids_to_proto(rows.column(primary.name).combine_chunks(), primary.data_type),
        succ_index=range(rows.num_rows),
        insert_cnt=rows.num_rows,
        timestamp=outcome.timestamp,
    )


def upsert(ctx: ProxyContext, request: Any, call: Call) -> Any:
    info = ctx.collection(call.db_name, request.collection_name)
    _check_schema_timestamp(info, request.schema_timestamp)
    partition_key.refuse_manual_partition_write(info, request.partition_name)
    schema = info.schema
    rows = convert.table_from_field_data(
        request.fields_data, request.num_rows, schema, for_upsert=True
    )
    primary = schema.primary_field
    outcome = ctx.writer.upsert(info, _placement(ctx, info, request.partition_name, rows), rows)
    return milvus_pb2.MutationResult(
        status=convert.status(),
        IDs=convert.ids_to_proto(rows.column(primary.name).combine_chunks(), primary.data_type),
        succ_index=range(rows.num_rows),
        upsert_cnt=rows.num_rows,
        timestamp=outcome.timestamp,
    )


def _check_schema_timestamp(info: CollectionInfo, schema_timestamp: int) -> None:
    """Refuse rows built from a cached schema the collection has since changed, as
    Milvus does: the client (pymilvus) then refreshes its schema and sends them again.
    0 means the client does not say which schema it used."""
    if schema_timestamp and schema_timestamp != info.update_timestamp:
        raise errors.CollectionSchemaMismatch(f"collection={info.name}")
