"""Rows out: delete by primary keys or by a filter, scoped to a partition or not."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from elanus import errors, expr
from elanus.meta import CollectionInfo, ConsistencyLevel
from elanus.schema import DataType
from proto.public import milvus_pb2
from proxy import convert, partition_key
from proxy.context import ProxyContext
from proxy.pipeline import Call
from proxy.reads import Consistency
from proxy.rpcs.params import template_values


@dataclass(frozen=True)
class DeletePlan:
    info: CollectionInfo
    partition_id: int  # 0: every partition
    filter: str
    templates: dict[str, Any]
    # The keys when the filter names only primary keys (``pk in [...]``): no read needed.
    keys: list[Any] | None
    consistency: Consistency


class Delete:
    """A delete by filter reads the matching keys partition by partition, then
    deletes exactly those rows (a key may live in several partitions, and only
    its matching rows go), all under one timestamp."""

    def plan(self, ctx: ProxyContext, request: Any, call: Call) -> DeletePlan:
        info = ctx.collection(call.db_name, request.collection_name)
        partition_key.refuse_manual_partitions(info, [request.partition_name])
        if request.partition_name:
            convert.validate_partition_name(request.partition_name)
        partition_id = (
            ctx.partition_id(info, request.partition_name) if request.partition_name else 0
        )
        if not request.expr.strip():
            raise errors.ParameterInvalid("the delete expression must not be empty")
        templates = template_values(request.expr_template_values)
        parsed = expr.parse(request.expr, info.schema, templates)
        keys = expr.primary_keys_if_simple(parsed, info.schema.primary_field.name)
        consistency = Consistency(ConsistencyLevel(request.consistency_level), False, 0)
        return DeletePlan(info, partition_id, request.expr, templates, keys, consistency)

    def execute(self, ctx: ProxyContext, plan: DeletePlan) -> tuple[int, int]:
        primary = plan.info.schema.primary_field
        pk_type = pa.int64() if primary.data_type is DataType.INT64 else pa.string()
        if plan.keys is not None:
            scopes = {plan.partition_id: pa.array(list(dict.fromkeys(plan.keys)), type=pk_type)}
        else:
            read_ts = ctx.reader.read_timestamps(plan.info, plan.consistency)
            partitions = (
                (plan.partition_id,)
                if plan.partition_id
                else ctx.reader.partitions_to_read(plan.info, [], plan.filter, plan.templates)
            )
            scopes = {}
            for partition in partitions:
                found = ctx.reader.query(
                    plan.info,
                    (partition,),
                    plan.filter,
                    plan.templates,
                    (primary.name,),
                    None,
                    0,
                    False,
                    plan.consistency,
                    read_ts,
                )
                matched = found.rows.column(primary.name).combine_chunks().cast(pk_type)
                if len(matched):
                    scopes[partition] = matched
        count = sum(len(pks) for pks in scopes.values())
        timestamp = ctx.writer.delete_scoped(plan.info, scopes).timestamp if count else 0
        return count, timestamp

    def reply(self, plan: DeletePlan, result: tuple[int, int]) -> milvus_pb2.MutationResult:
        count, timestamp = result
        # Like Milvus since 2.3.2, a delete answers with its count, not the keys:
        # pymilvus returns the key list instead of {"delete_count": n} if given one.
        return milvus_pb2.MutationResult(
            status=convert.status(), delete_cnt=count, timestamp=timestamp
        )
