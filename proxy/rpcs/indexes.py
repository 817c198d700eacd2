"""Vector indexes: create, describe, build state, alter properties, drop."""

from __future__ import annotations

import json
from typing import Any

from elanus import errors, properties, scalar_index, vectors
from elanus.schema import DataType
from elanus.services import IndexProgress
from proto.public import common_pb2, milvus_pb2
from proxy import convert
from proxy.context import ProxyContext
from proxy.pipeline import Call

INDEX_STATES = {
    "Finished": common_pb2.Finished,
    "InProgress": common_pb2.InProgress,
    "Failed": common_pb2.Failed,
}
# Milvus's names of the vector types, as its messages print them.
_VECTOR_TYPE_NAMES = {
    DataType.BINARY_VECTOR: "BinaryVector",
    DataType.FLOAT_VECTOR: "FloatVector",
    DataType.FLOAT16_VECTOR: "Float16Vector",
    DataType.BFLOAT16_VECTOR: "BFloat16Vector",
    DataType.SPARSE_FLOAT_VECTOR: "SparseFloatVector",
}
_VECTOR_INDEX_TYPES = {
    vectors.FLAT,
    vectors.IVF_FLAT,
    vectors.IVF_SQ8,
    vectors.IVF_PQ,
    vectors.HNSW,
    vectors.SCANN,
    vectors.HNSW_SQ,
    vectors.HNSW_PQ,
    vectors.HNSW_PRQ,
    vectors.IVF_RABITQ,
    vectors.BIN_FLAT,
    vectors.BIN_IVF_FLAT,
    "DISKANN",
    "SPARSE_INVERTED_INDEX",
    "SPARSE_WAND",
}
# Keys some clients send among the index params that are not build parameters.
_IGNORED_INDEX_KEYS = {"index_name", "field_name"}


def create_index(ctx: ProxyContext, request: Any, call: Call) -> Any:
    info = ctx.collection(call.db_name, request.collection_name)
    field = info.schema.field(request.field_name)
    if field is None:
        raise errors.FieldNotFound(f"field={request.field_name}")
    pairs = convert.kv_pairs_to_dict(request.extra_params)
    build_params = convert.json_object(pairs.pop("params", ""), "index params")
    requested_type = pairs.pop("index_type", "")
    metric_type = pairs.pop("metric_type", "")
    # pymilvus 3 sends it flat among the pairs, 2.5 inside the params' JSON
    mmap = pairs.pop(properties.MMAP_ENABLED, None)
    if properties.MMAP_ENABLED in build_params:
        nested = build_params.pop(properties.MMAP_ENABLED)
        mmap = mmap if mmap is not None else str(nested)
    if mmap is not None:
        properties.parse_bool(properties.MMAP_ENABLED, mmap)
    build_params.update({k: v for k, v in pairs.items() if k not in _IGNORED_INDEX_KEYS})
    if not field.data_type.is_vector:
        _create_scalar_index(ctx, info, field, request, requested_type, build_params, mmap)
        return
    if scalar_index.is_scalar_index_type(requested_type):
        raise errors.ParameterInvalid(
            "expected=valid index params][actual=invalid index params",
            cause=f"data type {_VECTOR_TYPE_NAMES.get(field.data_type, field.data_type.name)} "
            f"can't build with this index {requested_type.strip().upper()}",
        )
    spec = vectors.parse_index_spec(requested_type, metric_type, build_params, field)
    # DescribeIndex echoes the parameters flat, as Milvus does: {"nlist": "8", ...}.
    user_params = {
        "index_type": spec.requested_type,
        "metric_type": spec.metric_type,
        **{k: v if isinstance(v, str) else json.dumps(v) for k, v in build_params.items()},
    }
    if mmap is not None:  # kept and shown, as AlterIndex keeps it (elanus/properties.py)
        user_params[properties.MMAP_ENABLED] = mmap
    ctx.coordinator.create_index(
        info.collection_id,
        field.name,
        request.index_name or field.name,
        spec.index_type,
        spec.metric_type,
        spec.params,
        user_params,
    )


def _create_scalar_index(
    ctx: ProxyContext,
    info: Any,
    field: Any,
    request: Any,
    requested_type: str,
    build_params: dict[str, Any],
    mmap: str | None,
) -> None:
    """A scalar index (INVERTED, STL_SORT, BITMAP, TRIE, AUTOINDEX) with Milvus's checks."""
    if requested_type.strip().upper() in _VECTOR_INDEX_TYPES:
        raise errors.ParameterInvalid(
            "expected=valid index params][actual=invalid index params",
            cause=f"index {requested_type.strip().upper()} only supports vector data type",
        )
    index_type, params = scalar_index.check_scalar_index(requested_type, field, build_params)
    user_params = {
        "index_type": requested_type.strip().upper() or scalar_index.AUTOINDEX,
        **{k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()},
    }
    if mmap is not None:
        user_params[properties.MMAP_ENABLED] = mmap
    ctx.coordinator.create_index(
        info.collection_id,
        field.name,
        request.index_name or field.name,
        index_type,
        "",
        params,
        user_params,
    )


def describe_index(ctx: ProxyContext, request: Any, call: Call) -> Any:
    found = _indexes(ctx, request, call)
    response = milvus_pb2.DescribeIndexResponse(status=convert.status())
    for progress in found:
        index = progress.index
        response.index_descriptions.append(
            milvus_pb2.IndexDescription(
                index_name=index.index_name,
                indexID=index.index_id,
                params=[
                    common_pb2.KeyValuePair(key=k, value=v) for k, v in index.user_params.items()
                ],
                field_name=index.field_name,
                indexed_rows=progress.indexed_rows,
                total_rows=progress.total_rows,
                pending_index_rows=progress.pending_rows,
                state=INDEX_STATES[progress.state],
                index_state_fail_reason=progress.fail_reason,
            )
        )
    return response


def get_index_state(ctx: ProxyContext, request: Any, call: Call) -> Any:
    progress = _one_index(ctx, request, call)
    return milvus_pb2.GetIndexStateResponse(
        status=convert.status(),
        state=INDEX_STATES[progress.state],
        fail_reason=progress.fail_reason,
    )


def get_index_build_progress(ctx: ProxyContext, request: Any, call: Call) -> Any:
    progress = _one_index(ctx, request, call)
    return milvus_pb2.GetIndexBuildProgressResponse(
        status=convert.status(),
        indexed_rows=progress.indexed_rows,
        total_rows=progress.total_rows,
    )


def drop_index(ctx: ProxyContext, request: Any, call: Call) -> Any:
    info = ctx.collection(call.db_name, request.collection_name)
    ctx.coordinator.drop_index(info.collection_id, request.field_name, request.index_name)


def alter_index(ctx: ProxyContext, request: Any, call: Call) -> Any:
    """Set (``extra_params``) or remove (``delete_keys``) an index's ``mmap.enabled``;
    DescribeIndex shows it among the index's params."""
    info = ctx.collection(call.db_name, request.collection_name)
    if not request.index_name:
        raise errors.ParameterInvalid(cause="index name is required to alter an index")
    properties = convert.kv_pairs_to_dict(request.extra_params)
    ctx.coordinator.alter_index(
        info.collection_id, request.index_name, properties, tuple(request.delete_keys)
    )


def _indexes(ctx: ProxyContext, request: Any, call: Call) -> list[IndexProgress]:
    """The indexes the request names (by field, by name, or all); at least one."""
    info = ctx.collection(call.db_name, request.collection_name)
    found = ctx.coordinator.describe_indexes(
        info.collection_id, request.field_name, request.index_name
    )
    if not found:
        raise errors.IndexNotFound(f"collection={info.name}")
    return list(found)


def _one_index(ctx: ProxyContext, request: Any, call: Call) -> IndexProgress:
    return _indexes(ctx, request, call)[0]
