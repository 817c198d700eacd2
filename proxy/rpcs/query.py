"""Query: the rows a filter matches (or how many), with their output fields."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from elanus import errors
from elanus.meta import CollectionInfo
from elanus.schema import DataType
from proto.public import milvus_pb2, schema_pb2
from proxy import convert
from proxy.context import ProxyContext
from proxy.pipeline import Call
from proxy.reads import Consistency, ReadTimestamps
from proxy.rpcs.params import consistency, int_param, template_values

COUNT_STAR = "count(*)"


@dataclass(frozen=True)
class QueryPlan:
    info: CollectionInfo
    partitions: tuple[int, ...]
    filter: str
    templates: dict[str, Any]
    output_fields: list[str]
    columns: tuple[str, ...]
    limit: int | None
    offset: int
    count_only: bool
    consistency: Consistency
    read_ts: ReadTimestamps
    ignore_growing: bool = False


class Query:
    def plan(self, ctx: ProxyContext, request: Any, call: Call) -> QueryPlan:
        info = ctx.collection(call.db_name, request.collection_name)
        params = convert.kv_pairs_to_dict(request.query_params)
        requested = [f.strip() for f in request.output_fields]
        count_only = any(f.lower() == COUNT_STAR for f in requested)
        if count_only and len(requested) > 1:
            raise errors.ParameterInvalid("count(*) cannot be combined with other output fields")
        max_topk = ctx.reader.max_topk
        limit = int_param(params, "limit", None, 1, max_topk) if "limit" in params else None
        offset = int_param(params, "offset", 0, 0, max_topk)
        if limit is not None and limit + offset > max_topk:
            raise errors.ParameterInvalid(
                f"limit + offset ({limit + offset}) should be in range [1, {max_topk}]"
            )
        if count_only and limit is not None:
            raise errors.ParameterInvalid(cause="count entities with pagination is not allowed")
        if not request.expr.strip() and limit is None and not count_only:
            raise errors.ParameterInvalid("empty expression should be used with limit")
        templates = template_values(request.expr_template_values)
        partitions = ctx.reader.partitions_to_read(
            info, list(request.partition_names), request.expr, templates
        )
        primary = info.schema.primary_field
        output_fields = [] if count_only else convert.resolve_output_fields(info.schema, requested)
        if not count_only and primary.name not in output_fields:
            output_fields.insert(0, primary.name)
        columns = tuple(convert.output_columns(info.schema, output_fields))
        level = consistency(request, params)
        read_ts = ctx.reader.read_timestamps(info, level)
        return QueryPlan(
            info=info,
            partitions=partitions,
            filter=request.expr,
            templates=templates,
            output_fields=output_fields,
            columns=columns,
            limit=limit,
            offset=offset,
            count_only=count_only,
            consistency=level,
            read_ts=read_ts,
            # pymilvus sends it among the query params, as a search sends it among its own.
            ignore_growing=convert.flag(params, "ignore_growing"),
        )

    def execute(self, ctx: ProxyContext, plan: QueryPlan) -> Any:
        return ctx.reader.query(
            plan.info,
            plan.partitions,
            plan.filter,
            plan.templates,
            plan.columns,
            plan.limit,
            plan.offset,
            plan.count_only,
            plan.consistency,
            plan.read_ts,
            plan.ignore_growing,
        )

    def reply(self, plan: QueryPlan, result: Any) -> milvus_pb2.QueryResults:
        if plan.count_only:
            count = schema_pb2.FieldData(
                type=schema_pb2.DataType.ValueType(DataType.INT64),
                field_name=COUNT_STAR,
                scalars=schema_pb2.ScalarField(long_data=schema_pb2.LongArray(data=[result.count])),
            )
            return milvus_pb2.QueryResults(
                status=convert.status(),
                fields_data=[count],
                collection_name=plan.info.name,
                output_fields=[COUNT_STAR],
                session_ts=plan.read_ts.mvcc_ts,
            )
        return milvus_pb2.QueryResults(
            status=convert.status(),
            fields_data=convert.field_data_from_table(
                result.rows, plan.info.schema, plan.output_fields
            ),
            collection_name=plan.info.name,
            output_fields=plan.output_fields,
            session_ts=plan.read_ts.mvcc_ts,
        )
