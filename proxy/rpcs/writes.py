"""Rows in: insert and upsert."""

from __future__ import annotations

from typing import Any

import numpy as np

from elanus.meta import CollectionInfo
from proto.public import milvus_pb2
from proxy import convert
from proxy.context import ProxyContext
from proxy.pipeline import Call


def _target_partition(ctx: ProxyContext, info: CollectionInfo, name: str) -> int:
    """The partition a write goes to; a malformed name is refused first, as Milvus's
    strict check of writes does (reads only look the name up)."""
    if name:
        convert.validate_partition_name(name)
    return ctx.partition_id(info, name)


def insert(ctx: ProxyContext, request: Any, call: Call) -> Any:
    info = ctx.collection(call.db_name, request.collection_name)
    partition_id = _target_partition(ctx, info, request.partition_name)
    schema = info.schema
    rows = convert.table_from_field_data(request.fields_data, request.num_rows, schema)
    primary = schema.primary_field
    if primary.auto_id:
        first = ctx.coordinator.alloc_ids(rows.num_rows)
        pks = np.arange(first, first + rows.num_rows, dtype=np.int64)
        rows = convert.with_primary_keys(rows, schema, pks)
    outcome = ctx.writer.insert(info, partition_id, rows)
    return milvus_pb2.MutationResult(
        status=convert.status(),
        IDs=convert.ids_to_proto(rows.column(primary.name).combine_chunks(), primary.data_type),
        succ_index=range(rows.num_rows),
        insert_cnt=rows.num_rows,
        timestamp=outcome.timestamp,
    )


def upsert(ctx: ProxyContext, request: Any, call: Call) -> Any:
    info = ctx.collection(call.db_name, request.collection_name)
    partition_id = _target_partition(ctx, info, request.partition_name)
    schema = info.schema
    rows = convert.table_from_field_data(
        request.fields_data, request.num_rows, schema, for_upsert=True
    )
    primary = schema.primary_field
    outcome = ctx.writer.upsert(info, partition_id, rows)
    return milvus_pb2.MutationResult(
        status=convert.status(),
        IDs=convert.ids_to_proto(rows.column(primary.name).combine_chunks(), primary.data_type),
        succ_index=range(rows.num_rows),
        upsert_cnt=rows.num_rows,
        timestamp=outcome.timestamp,
    )
