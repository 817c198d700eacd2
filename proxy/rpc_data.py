"""MilvusService RPCs that write and read rows: insert, delete, upsert, search, query."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pyarrow as pa

from elanus import errors, expr
from elanus.columns import vectors_from_column
from elanus.meta import ConsistencyLevel
from elanus.schema import DataType
from proto.public import milvus_pb2, schema_pb2
from proxy import convert
from proxy.context import ProxyContext
from proxy.handling import rpc
from proxy.reads import Consistency, ReadTimestamps, SearchPlan

COUNT_STAR = "count(*)"


class DataRpcs:
    ctx: ProxyContext

    # --- writes

    @rpc(milvus_pb2.MutationResult)
    def Insert(self, request: Any, context: Any) -> Any:
        info = self.ctx.collection(request.db_name, request.collection_name)
        partition_id = self.ctx.partition_id(info, request.partition_name)
        schema = info.schema
        rows = convert.table_from_field_data(request.fields_data, request.num_rows, schema)
        primary = schema.primary_field
        if primary.auto_id:
            first = self.ctx.coordinator.alloc_ids(rows.num_rows)
            pks = np.arange(first, first + rows.num_rows, dtype=np.int64)
            rows = convert.with_primary_keys(rows, schema, pks)
        outcome = self.ctx.writer.insert(info, partition_id, rows)
        return milvus_pb2.MutationResult(
            status=convert.status(),
            IDs=convert.ids_to_proto(rows.column(primary.name).combine_chunks(), primary.data_type),
            succ_index=range(rows.num_rows),
            insert_cnt=rows.num_rows,
            timestamp=outcome.timestamp,
        )

    @rpc(milvus_pb2.MutationResult)
    def Upsert(self, request: Any, context: Any) -> Any:
        info = self.ctx.collection(request.db_name, request.collection_name)
        partition_id = self.ctx.partition_id(info, request.partition_name)
        schema = info.schema
        rows = convert.table_from_field_data(
            request.fields_data, request.num_rows, schema, for_upsert=True
        )
        primary = schema.primary_field
        outcome = self.ctx.writer.upsert(info, partition_id, rows)
        return milvus_pb2.MutationResult(
            status=convert.status(),
            IDs=convert.ids_to_proto(rows.column(primary.name).combine_chunks(), primary.data_type),
            succ_index=range(rows.num_rows),
            upsert_cnt=rows.num_rows,
            timestamp=outcome.timestamp,
        )

    @rpc(milvus_pb2.MutationResult)
    def Delete(self, request: Any, context: Any) -> Any:
        info = self.ctx.collection(request.db_name, request.collection_name)
        partition_id = (
            self.ctx.partition_id(info, request.partition_name) if request.partition_name else 0
        )
        if not request.expr.strip():
            raise errors.ParameterInvalid("the delete expression must not be empty")
        templates = template_values(request.expr_template_values)
        primary = info.schema.primary_field
        pk_type = pa.int64() if primary.data_type is DataType.INT64 else pa.string()
        parsed = expr.parse(request.expr, info.schema, templates)
        keys = expr.primary_keys_if_simple(parsed, primary.name)
        if keys is not None:
            scopes = {partition_id: pa.array(list(dict.fromkeys(keys)), type=pk_type)}
        else:
            # The rows the expression matches, partition by partition: a key may live in
            # several partitions, and only its matching rows are deleted.
            consistency = Consistency(ConsistencyLevel(request.consistency_level), False, 0)
            read_ts = self.ctx.reader.read_timestamps(info, consistency)
            partitions = (
                (partition_id,) if partition_id else self.ctx.reader.loaded_partitions(info, [])
            )
            scopes = {}
            for partition in partitions:
                found = self.ctx.reader.query(
                    info,
                    (partition,),
                    request.expr,
                    templates,
                    (primary.name,),
                    None,
                    0,
                    False,
                    consistency,
                    read_ts,
                )
                matched = found.rows.column(primary.name).combine_chunks().cast(pk_type)
                if len(matched):
                    scopes[partition] = matched
        count = sum(len(pks) for pks in scopes.values())
        timestamp = self.ctx.writer.delete_scoped(info, scopes).timestamp if count else 0
        # Like Milvus since 2.3.2, a delete answers with its count, not the keys:
        # pymilvus returns the key list instead of {"delete_count": n} if given one.
        return milvus_pb2.MutationResult(
            status=convert.status(),
            delete_cnt=count,
            timestamp=timestamp,
        )

    # --- reads

    @rpc(milvus_pb2.SearchResults)
    def Search(self, request: Any, context: Any) -> Any:
        info = self.ctx.collection(request.db_name, request.collection_name)
        params = convert.kv_pairs_to_dict(request.search_params)
        field = _anns_field(info.schema, params.get("anns_field", ""))
        page = convert.iterator_page_from_params(params)
        max_topk = self.ctx.reader.max_topk
        topk = _int_param(params, "topk", None, 1, max_topk)
        offset = _int_param(params, "offset", 0, 0, max_topk)
        if topk + offset > max_topk:
            raise errors.ParameterInvalid(
                f"topk + offset ({topk + offset}) should be in range [1, {max_topk}]"
            )
        metric = _search_metric(self, info.collection_id, field.name, params.get("metric_type", ""))
        search_params = convert.json_object(params.get("params", ""), "search params")
        grouping = convert.grouping_from_params(params, info.schema)
        if grouping is not None and offset:
            raise errors.ParameterInvalid("offset is not supported together with group_by_field")
        output_fields = convert.resolve_output_fields(info.schema, list(request.output_fields))
        columns = convert.output_columns(info.schema, output_fields)
        if grouping is not None and grouping.field not in columns:
            columns.append(grouping.field)
        consistency = _consistency(request, params)
        read_ts = self.ctx.reader.read_timestamps(info, consistency)
        partition_ids = self.ctx.reader.loaded_partitions(info, list(request.partition_names))
        templates = template_values(request.expr_template_values)
        queries = self._query_vectors(request, info, field, partition_ids, read_ts)
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
            round_decimal=_int_param(params, "round_decimal", -1, -1, 6),
            search_params=search_params,
            filter=request.dsl,
            template_values=templates,
            output_columns=tuple(columns),
            ignore_growing=convert.flag(params, "ignore_growing"),
            window=convert.window_from_params(metric, search_params, page),
            grouping=grouping,
        )
        result = self.ctx.reader.search(plan, consistency, read_ts)
        primary = info.schema.primary_field
        data = schema_pb2.SearchResultData(
            num_queries=len(queries),
            top_k=topk,
            scores=result.scores.tolist(),
            ids=_result_ids(result.pks, primary.data_type),
            topks=np.bincount(result.query_index, minlength=len(queries)).tolist(),
            output_fields=output_fields,
            fields_data=convert.field_data_from_table(result.fields, info.schema, output_fields),
            # Clients key each hit by this name (Milvus 2.6 sets it; "id" without it).
            primary_field_name=primary.name,
        )
        if grouping is not None:
            values = convert.field_data_from_table(result.fields, info.schema, [grouping.field])
            data.group_by_field_value.CopyFrom(values[0])
        if page is not None:
            last = float(result.scores[-1]) if result.num_hits else page.last_bound
            data.search_iterator_v2_results.token = page.token
            data.search_iterator_v2_results.last_bound = 0.0 if last is None else last
        return milvus_pb2.SearchResults(
            status=convert.status(),
            results=data,
            collection_name=info.name,
            session_ts=read_ts.mvcc_ts,
        )

    def _query_vectors(
        self,
        request: Any,
        info: Any,
        field: Any,
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
        found = self.ctx.reader.query(
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

    @rpc(milvus_pb2.QueryResults)
    def Query(self, request: Any, context: Any) -> Any:
        info = self.ctx.collection(request.db_name, request.collection_name)
        params = convert.kv_pairs_to_dict(request.query_params)
        requested = [f.strip() for f in request.output_fields]
        count_only = any(f.lower() == COUNT_STAR for f in requested)
        if count_only and len(requested) > 1:
            raise errors.ParameterInvalid("count(*) cannot be combined with other output fields")
        limit = (
            _int_param(params, "limit", None, 1, self.ctx.reader.max_topk)
            if "limit" in params
            else None
        )
        offset = _int_param(params, "offset", 0, 0, self.ctx.reader.max_topk)
        max_topk = self.ctx.reader.max_topk
        if limit is not None and limit + offset > max_topk:
            raise errors.ParameterInvalid(
                f"limit + offset ({limit + offset}) should be in range [1, {max_topk}]"
            )
        if not request.expr.strip() and limit is None and not count_only:
            raise errors.ParameterInvalid("empty expression should be used with limit")
        partitions = self.ctx.reader.loaded_partitions(info, list(request.partition_names))
        primary = info.schema.primary_field
        output_fields = [] if count_only else convert.resolve_output_fields(info.schema, requested)
        if not count_only and primary.name not in output_fields:
            output_fields.insert(0, primary.name)
        columns = tuple(convert.output_columns(info.schema, output_fields))
        consistency = _consistency(request, params)
        read_ts = self.ctx.reader.read_timestamps(info, consistency)
        result = self.ctx.reader.query(
            info,
            partitions,
            request.expr,
            template_values(request.expr_template_values),
            columns,
            limit,
            offset,
            count_only,
            consistency,
            read_ts,
        )
        if count_only:
            count = schema_pb2.FieldData(
                type=int(DataType.INT64),
                field_name=COUNT_STAR,
                scalars=schema_pb2.ScalarField(long_data=schema_pb2.LongArray(data=[result.count])),
            )
            return milvus_pb2.QueryResults(
                status=convert.status(),
                fields_data=[count],
                collection_name=info.name,
                output_fields=[COUNT_STAR],
                session_ts=read_ts.mvcc_ts,
            )
        return milvus_pb2.QueryResults(
            status=convert.status(),
            fields_data=convert.field_data_from_table(result.rows, info.schema, output_fields),
            collection_name=info.name,
            output_fields=output_fields,
            session_ts=read_ts.mvcc_ts,
        )


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


def _consistency(request: Any, params: dict[str, str] | None = None) -> Consistency:
    """The request's consistency; an iterator's later pages read the first page's snapshot."""
    iterating = params is not None and convert.flag(params, "iterator")
    return Consistency(
        level=ConsistencyLevel(request.consistency_level),
        use_default=request.use_default_consistency,
        client_guarantee_ts=request.guarantee_timestamp,
        snapshot_ts=request.guarantee_timestamp if iterating else 0,
    )


def _anns_field(schema: Any, name: str) -> Any:
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


def _search_metric(rpcs: DataRpcs, collection_id: int, field_name: str, requested: str) -> str:
    indexes = rpcs.ctx.coordinator.describe_indexes(collection_id, field_name)
    if not indexes:
        raise errors.IndexNotFound(f"there is no vector index on field: [{field_name}]")
    indexed = indexes[0].index.metric_type
    requested = requested.strip().strip('"').upper()
    if requested and requested != indexed:
        raise errors.ParameterInvalid(
            f"metric type not match: invalid parameter[expected={indexed}][actual={requested}]"
        )
    return indexed


def _int_param(params: dict[str, str], key: str, default: int | None, low: int, high: int) -> int:
    raw = params.get(key)
    if raw is None or raw == "":
        if default is None:
            raise errors.ParameterMissing(f"{key} is not given")
        return default
    try:
        value = int(str(raw).strip().strip('"'))
    except ValueError:
        raise errors.ParameterInvalid(f"{key} [{raw}] is not an integer") from None
    if not low <= value <= high:
        raise errors.ParameterInvalid(
            f"{key} [{value}] is invalid, it should be in range [{low}, {high}]"
        )
    return value


def template_values(values: Any) -> dict[str, Any]:
    """Template values of a filter (``{name}`` placeholders) as plain Python values."""
    return {name: _template_value(value) for name, value in values.items()}


def _template_value(value: schema_pb2.TemplateValue) -> Any:
    kind = value.WhichOneof("val")
    if kind == "array_val":
        return _template_array(value.array_val)
    if kind == "bytes_val":
        return json.loads(value.bytes_val)
    if kind is None:
        raise errors.ParameterInvalid("a template value is empty")
    return getattr(value, kind)


def _template_array(array: schema_pb2.TemplateArrayValue) -> list[Any]:
    kind = array.WhichOneof("data")
    if kind is None:
        return []
    if kind == "array_data":
        return [_template_array(a) for a in array.array_data.data]
    if kind == "json_data":
        return [json.loads(v) for v in array.json_data.data]
    return list(getattr(array, kind).data)
