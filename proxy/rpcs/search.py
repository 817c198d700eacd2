"""Vector search: top-k nearest rows per query vector, filtered, grouped or paged."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from elanus import errors
from elanus.columns import vectors_from_column
from elanus.meta import CollectionInfo, ConsistencyLevel
from elanus.schema import CollectionSchema, DataType, FieldSchema
from proto.public import milvus_pb2, schema_pb2
from proxy import convert
from proxy.context import ProxyContext
from proxy.pipeline import Call
from proxy.reads import Consistency, ReadTimestamps, SearchPlan
from proxy.rpcs.params import consistency, int_param, template_values


@dataclass(frozen=True)
class PlannedSearch:
    plan: SearchPlan
    consistency: Consistency
    read_ts: ReadTimestamps
    output_fields: list[str]
    page: Any  # the search iterator's page (convert.iterator_page_from_params), or None


class Search:
    def plan(self, ctx: ProxyContext, request: Any, call: Call) -> PlannedSearch:
        info = ctx.collection(call.db_name, request.collection_name)
        params = convert.kv_pairs_to_dict(request.search_params)
        field = anns_field(info.schema, params.get("anns_field", ""))
        page = convert.iterator_page_from_params(params)
        max_topk = ctx.reader.max_topk
        topk = int_param(params, "topk", None, 1, max_topk)
        offset = int_param(params, "offset", 0, 0, max_topk)
        if topk + offset > max_topk:
            raise errors.ParameterInvalid(
                f"topk + offset ({topk + offset}) should be in range [1, {max_topk}]"
            )
        metric = indexed_metric(ctx, info.collection_id, field.name, params.get("metric_type", ""))
        search_params = convert.json_object(params.get("params", ""), "search params")
        grouping = convert.grouping_from_params(params, info.schema)
        if grouping is not None and offset:
            raise errors.ParameterInvalid("offset is not supported together with group_by_field")
        output_fields = convert.resolve_output_fields(info.schema, list(request.output_fields))
        columns = convert.output_columns(info.schema, output_fields)
        if grouping is not None and grouping.field not in columns:
            columns.append(grouping.field)
        level = consistency(request, params)
        read_ts = ctx.reader.read_timestamps(info, level)
        templates = template_values(request.expr_template_values)
        partition_ids = ctx.reader.partitions_to_read(
            info, list(request.partition_names), request.dsl, templates
        )
        queries = _query_vectors(ctx, request, info, field, partition_ids, read_ts)
        if page is not None and len(queries) != 1:
            raise errors.ParameterInvalid("a search iterator takes exactly one query vector")
        plan = SearchPlan(
            info=info,
            partition_ids=partition_ids,
            field=field,
            metric_type=metric,
            queries=queries,
            topk=topk,
            offset=offset,
            round_decimal=int_param(params, "round_decimal", -1, -1, 6),
            search_params=search_params,
            filter=request.dsl,
            template_values=templates,
            output_columns=tuple(columns),
            ignore_growing=convert.flag(params, "ignore_growing"),
            window=convert.window_from_params(metric, search_params, page),
            grouping=grouping,
        )
        return PlannedSearch(plan, level, read_ts, output_fields, page)

    def execute(self, ctx: ProxyContext, planned: PlannedSearch) -> Any:
        return ctx.reader.search(planned.plan, planned.consistency, planned.read_ts)

    def reply(self, planned: PlannedSearch, result: Any) -> milvus_pb2.SearchResults:
        plan = planned.plan
        schema = plan.info.schema
        primary = schema.primary_field
        nq = len(plan.queries)
        data = schema_pb2.SearchResultData(
            num_queries=nq,
            top_k=plan.topk,
            scores=result.scores.tolist(),
            ids=_result_ids(result.pks, primary.data_type),
            topks=np.bincount(result.query_index, minlength=nq).tolist(),
            output_fields=planned.output_fields,
            fields_data=convert.field_data_from_table(result.fields, schema, planned.output_fields),
            # Clients key each hit by this name (Milvus 2.6 sets it; "id" without it).
            primary_field_name=primary.name,
        )
        if plan.grouping is not None:
            values = convert.field_data_from_table(result.fields, schema, [plan.grouping.field])
            data.group_by_field_value.CopyFrom(values[0])
        page = planned.page
        if page is not None:
            last = float(result.scores[-1]) if result.num_hits else page.last_bound
            data.search_iterator_v2_results.token = page.token
            data.search_iterator_v2_results.last_bound = 0.0 if last is None else last
        return milvus_pb2.SearchResults(
            status=convert.status(),
            results=data,
            collection_name=plan.info.name,
            session_ts=planned.read_ts.mvcc_ts,
        )


def _query_vectors(
    ctx: ProxyContext,
    request: Any,
    info: CollectionInfo,
    field: FieldSchema,
    partition_ids: tuple[int, ...],
    read_ts: ReadTimestamps,
) -> np.ndarray:
    """The query vectors: sent by the client, or the stored vectors of the given ids."""
    kind = request.WhichOneof("search_input")
    if kind == "placeholder_group":
        if request.search_by_primary_keys:
            raise errors.Unimplemented(
                "search_by_primary_keys with a placeholder group is not supported; "
                "send the primary keys as ids"
            )
        return convert.vectors_from_placeholder_group(request.placeholder_group, field)
    if kind != "ids":
        raise errors.ParameterInvalid("the search request has no query vectors and no ids")
    wanted = convert.ids_from_proto(request.ids)
    if not wanted:
        raise errors.ParameterInvalid("search by primary keys needs at least one id")
    primary = info.schema.primary_field
    found = ctx.reader.query(
        info,
        partition_ids,
        f"{primary.name} in {{ids}}",
        {"ids": list(dict.fromkeys(wanted))},
        (primary.name, field.name),
        None,
        0,
        False,
        Consistency(ConsistencyLevel.STRONG, False, 0),
        read_ts,
    )
    keys = found.rows.column(primary.name).to_pylist()
    missing = [k for k in wanted if k not in set(keys)]
    if missing:
        raise errors.ParameterInvalid(
            f"search by primary keys: {len(missing)} id(s) not found, e.g. {missing[0]!r}"
        )
    stored = vectors_from_column(found.rows.column(field.name), field)
    position = {key: row for row, key in enumerate(keys)}
    return np.ascontiguousarray(stored[[position[k] for k in wanted]])


def _result_ids(pks: pa.Array, pk_type: DataType) -> schema_pb2.IDs:
    """The hits' keys for the reply; Int64 keys go through one ``tolist`` (5x faster for a
    batch than converting key by key). Protobuf takes a numpy array too, but iterates it
    element by element, which is slower still."""
    if pk_type is DataType.INT64 and pa.types.is_int64(pks.type):
        ids = schema_pb2.IDs()
        ids.int_id.SetInParent()  # set even with no hits, as the client reads the oneof
        ids.int_id.data.extend(pks.to_numpy(zero_copy_only=False).tolist())
        return ids
    return convert.ids_to_proto(pks, pk_type)


def anns_field(schema: CollectionSchema, name: str) -> FieldSchema:
    """The vector field searched: the one named, or the collection's only one."""
    name = name.strip().strip('"')
    if name:
        field = schema.field(name)
        if field is None:
            raise errors.FieldNotFound(f"field={name}")
        if not field.data_type.is_vector:
            raise errors.ParameterInvalid(f"field '{name}' is not a vector field")
        return field
    fields = schema.vector_fields
    if len(fields) != 1:
        raise errors.ParameterInvalid(
            "anns_field must be given when a collection has several vector fields"
        )
    return fields[0]


def indexed_metric(ctx: ProxyContext, collection_id: int, field_name: str, requested: str) -> str:
    """The metric of the field's index; a search naming another one is refused."""
    indexes = ctx.coordinator.describe_indexes(collection_id, field_name)
    if not indexes:
        raise errors.IndexNotFound(f"there is no vector index on field: [{field_name}]")
    indexed = indexes[0].index.metric_type
    requested = requested.strip().strip('"').upper()
    if requested and requested != indexed:
        raise errors.ParameterInvalid(
            f"metric type not match: invalid parameter[expected={indexed}][actual={requested}]"
        )
    return indexed
