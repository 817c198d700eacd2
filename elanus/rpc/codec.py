"""Dataclasses <-> ``proto/internal/roles.proto`` messages: the one place that knows both.

Clients and servicers call these and nothing else to cross the wire, so each
value has exactly one serialised form. Metadata values travel as the JSON the
coordinator stores in the KV (:func:`elanus.meta.to_json`); numpy arrays as
:class:`Tensor`; Arrow arrays and tables as Arrow IPC streams. Every decoder
returns the same types the in-process roles exchange (tuples, not lists), so a
value that crossed the wire compares equal to the one that did not.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pyarrow as pa

from elanus.meta import (
    ChannelCheckpoint,
    ChannelSnapshot,
    CollectionInfo,
    DatabaseInfo,
    DeltaLog,
    IndexBuildTask,
    IndexInfo,
    SegmentInfo,
    from_json,
    to_json,
)
from elanus.requests import QueryRequest, QueryResult, SearchRequest, SearchResult
from elanus.schema import CollectionSchema, FieldSchema
from elanus.services import (
    ChannelLease,
    CollectionStats,
    FlushResult,
    IndexProgress,
    LoadProgress,
    SafeTsReport,
)
from proto.internal import roles_pb2 as pb

__all__ = [
    "arrow_array_from_ipc",
    "arrow_array_to_ipc",
    "arrow_table_from_ipc",
    "arrow_table_to_ipc",
    "build_task_from_pb",
    "build_task_to_pb",
    "checkpoint_from_json",
    "lease_from_pb",
    "lease_to_pb",
    "collection_from_json",
    "collection_stats_from_pb",
    "collection_stats_to_pb",
    "delta_log_from_json",
    "flush_result_from_pb",
    "flush_result_to_pb",
    "index_from_json",
    "index_progress_from_pb",
    "index_progress_to_pb",
    "load_progress_from_pb",
    "load_progress_to_pb",
    "params_from_json",
    "params_to_json",
    "query_request_from_pb",
    "query_request_to_pb",
    "query_result_from_pb",
    "query_result_to_pb",
    "safe_ts_report_from_pb",
    "safe_ts_report_to_pb",
    "schema_from_json",
    "schema_to_json",
    "search_request_from_pb",
    "search_request_to_pb",
    "search_result_from_pb",
    "search_result_to_pb",
    "segment_from_json",
    "snapshot_from_pb",
    "snapshot_to_pb",
    "tensor_from_pb",
    "tensor_to_pb",
    "to_json",
]

_PKS_COLUMN = "pks"

# --- generic pieces


def tensor_to_pb(array: np.ndarray) -> pb.Tensor:
    """A dense array of a fixed-size dtype; object arrays have no byte form and are refused."""
    if array.dtype.hasobject:
        raise TypeError(f"cannot send a numpy array of dtype {array.dtype} over the wire")
    return pb.Tensor(
        dtype=array.dtype.str,
        shape=list(array.shape),
        data=np.ascontiguousarray(array).tobytes(),
    )


def tensor_from_pb(tensor: pb.Tensor) -> np.ndarray:
    # frombuffer is read-only over the message's bytes; a copy is what a local caller gets.
    flat = np.frombuffer(tensor.data, dtype=np.dtype(tensor.dtype))
    result: np.ndarray = flat.reshape(tuple(tensor.shape)).copy()
    return result


def arrow_table_to_ipc(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    result: bytes = sink.getvalue().to_pybytes()
    return result


def arrow_table_from_ipc(data: bytes) -> pa.Table:
    with pa.ipc.open_stream(data) as reader:
        return reader.read_all()


def arrow_array_to_ipc(array: pa.Array | pa.ChunkedArray) -> bytes:
    return arrow_table_to_ipc(pa.table({_PKS_COLUMN: array}))


def arrow_array_from_ipc(data: bytes) -> pa.Array:
    return arrow_table_from_ipc(data).column(0).combine_chunks()


def params_to_json(params: dict[str, Any]) -> bytes:
    """Free-form parameters (search params, template values, index params) as JSON."""
    return json.dumps(params, separators=(",", ":")).encode()


def params_from_json(data: bytes) -> dict[str, Any]:
    return json.loads(data) if data else {}


def schema_to_json(schema: CollectionSchema) -> bytes:
    return params_to_json(schema.to_dict())


def schema_from_json(data: bytes) -> CollectionSchema:
    return CollectionSchema.from_dict(json.loads(data))


def field_to_json(field: FieldSchema) -> bytes:
    return params_to_json(field.to_dict())


def field_from_json(data: bytes) -> FieldSchema:
    return FieldSchema.from_dict(json.loads(data))


def collection_from_json(data: bytes) -> CollectionInfo:
    return from_json(CollectionInfo, data)


def database_from_json(data: bytes) -> DatabaseInfo:
    return from_json(DatabaseInfo, data)


def segment_from_json(data: bytes) -> SegmentInfo:
    return from_json(SegmentInfo, data)


def index_from_json(data: bytes) -> IndexInfo:
    return from_json(IndexInfo, data)


def delta_log_from_json(data: bytes) -> DeltaLog:
    return from_json(DeltaLog, data)


def checkpoint_from_json(data: bytes) -> ChannelCheckpoint:
    return from_json(ChannelCheckpoint, data)


def lease_to_pb(lease: ChannelLease) -> pb.ChannelLease:
    return pb.ChannelLease(node_id=lease.node_id, epoch=lease.epoch)


def lease_from_pb(message: pb.ChannelLease) -> ChannelLease:
    """A request without a lease decodes to node 0, epoch 0, which no channel has:
    an old datanode's report is refused, never applied unfenced."""
    return ChannelLease(node_id=message.node_id, epoch=message.epoch)


# --- composite metadata values


def snapshot_to_pb(snapshot: ChannelSnapshot) -> pb.ChannelSnapshot:
    return pb.ChannelSnapshot(
        collection_json=to_json(snapshot.collection),
        checkpoint_json=to_json(snapshot.checkpoint),
        segments_json=[to_json(s) for s in snapshot.segments],
        delta_logs_json=[to_json(d) for d in snapshot.delta_logs],
        indexes_json=[to_json(i) for i in snapshot.indexes],
        pending_flush_ts=snapshot.pending_flush_ts,
    )


def snapshot_from_pb(message: pb.ChannelSnapshot) -> ChannelSnapshot:
    return ChannelSnapshot(
        collection=collection_from_json(message.collection_json),
        checkpoint=checkpoint_from_json(message.checkpoint_json),
        segments=tuple(segment_from_json(s) for s in message.segments_json),
        delta_logs=tuple(delta_log_from_json(d) for d in message.delta_logs_json),
        indexes=tuple(index_from_json(i) for i in message.indexes_json),
        pending_flush_ts=message.pending_flush_ts,
    )


def build_task_to_pb(task: IndexBuildTask) -> pb.IndexBuildTask:
    return pb.IndexBuildTask(
        build_id=task.build_id,
        index_json=to_json(task.index),
        segment_json=to_json(task.segment),
        dim=task.dim,
    )


def build_task_from_pb(message: pb.IndexBuildTask) -> IndexBuildTask:
    return IndexBuildTask(
        build_id=message.build_id,
        index=index_from_json(message.index_json),
        segment=segment_from_json(message.segment_json),
        dim=message.dim,
    )


# --- service results


def flush_result_to_pb(result: FlushResult) -> pb.FlushResult:
    return pb.FlushResult(
        segment_ids=result.segment_ids,
        flushed_segment_ids=result.flushed_segment_ids,
        seal_ts=result.seal_ts,
        flush_ts=result.flush_ts,
    )


def flush_result_from_pb(message: pb.FlushResult) -> FlushResult:
    return FlushResult(
        segment_ids=tuple(message.segment_ids),
        flushed_segment_ids=tuple(message.flushed_segment_ids),
        seal_ts=message.seal_ts,
        flush_ts=message.flush_ts,
    )


def index_progress_to_pb(progress: IndexProgress) -> pb.IndexProgress:
    return pb.IndexProgress(
        index_json=to_json(progress.index),
        total_rows=progress.total_rows,
        indexed_rows=progress.indexed_rows,
        pending_rows=progress.pending_rows,
        state=progress.state,
        fail_reason=progress.fail_reason,
    )


def index_progress_from_pb(message: pb.IndexProgress) -> IndexProgress:
    return IndexProgress(
        index=index_from_json(message.index_json),
        total_rows=message.total_rows,
        indexed_rows=message.indexed_rows,
        pending_rows=message.pending_rows,
        state=message.state,
        fail_reason=message.fail_reason,
    )


def load_progress_to_pb(progress: LoadProgress) -> pb.LoadProgress:
    return pb.LoadProgress(
        state=progress.state,
        percent=progress.percent,
        loaded_partitions=progress.loaded_partitions,
    )


def load_progress_from_pb(message: pb.LoadProgress) -> LoadProgress:
    return LoadProgress(
        state=message.state,
        percent=message.percent,
        loaded_partitions=tuple(message.loaded_partitions),
    )


def collection_stats_to_pb(stats: CollectionStats) -> pb.CollectionStats:
    return pb.CollectionStats(row_count=stats.row_count, extra_json=params_to_json(stats.extra))


def collection_stats_from_pb(message: pb.CollectionStats) -> CollectionStats:
    return CollectionStats(row_count=message.row_count, extra=params_from_json(message.extra_json))


def safe_ts_report_to_pb(report: SafeTsReport) -> pb.SafeTsReport:
    return pb.SafeTsReport(safe_ts=report.safe_ts, held=report.held, demand=report.demand)


def safe_ts_report_from_pb(message: pb.SafeTsReport) -> SafeTsReport:
    return SafeTsReport(safe_ts=message.safe_ts, held=dict(message.held), demand=message.demand)


# --- search and query


def search_request_to_pb(request: SearchRequest) -> pb.SearchRequest:
    return pb.SearchRequest(
        collection_id=request.collection_id,
        vchannel=request.vchannel,
        partition_ids=request.partition_ids,
        anns_field=request.anns_field,
        metric_type=request.metric_type,
        queries=tensor_to_pb(request.queries),
        limit=request.limit,
        search_params_json=params_to_json(request.search_params),
        filter=request.filter,
        output_fields=request.output_fields,
        mvcc_ts=request.mvcc_ts,
        guarantee_ts=request.guarantee_ts,
        template_values_json=params_to_json(request.template_values),
        ignore_growing=request.ignore_growing,
        schema_version=request.schema_version,
        ttl_s=request.ttl_s,
    )


def search_request_from_pb(message: pb.SearchRequest) -> SearchRequest:
    return SearchRequest(
        collection_id=message.collection_id,
        vchannel=message.vchannel,
        partition_ids=tuple(message.partition_ids),
        anns_field=message.anns_field,
        metric_type=message.metric_type,
        queries=tensor_from_pb(message.queries),
        limit=message.limit,
        search_params=params_from_json(message.search_params_json),
        filter=message.filter,
        output_fields=tuple(message.output_fields),
        mvcc_ts=message.mvcc_ts,
        guarantee_ts=message.guarantee_ts,
        template_values=params_from_json(message.template_values_json),
        ignore_growing=message.ignore_growing,
        schema_version=message.schema_version,
        ttl_s=message.ttl_s,
    )


def search_result_to_pb(result: SearchResult) -> pb.SearchResult:
    return pb.SearchResult(
        nq=result.nq,
        query_index=tensor_to_pb(result.query_index),
        scores=tensor_to_pb(result.scores),
        pks_ipc=arrow_array_to_ipc(result.pks),
        fields_ipc=arrow_table_to_ipc(result.fields),
    )


def search_result_from_pb(message: pb.SearchResult) -> SearchResult:
    return SearchResult(
        nq=message.nq,
        query_index=tensor_from_pb(message.query_index),
        scores=tensor_from_pb(message.scores),
        pks=arrow_array_from_ipc(message.pks_ipc),
        fields=arrow_table_from_ipc(message.fields_ipc),
    )


def query_request_to_pb(request: QueryRequest) -> pb.QueryRequest:
    return pb.QueryRequest(
        collection_id=request.collection_id,
        vchannel=request.vchannel,
        partition_ids=request.partition_ids,
        filter=request.filter,
        output_fields=request.output_fields,
        mvcc_ts=request.mvcc_ts,
        guarantee_ts=request.guarantee_ts,
        limit=request.limit,
        count_only=request.count_only,
        template_values_json=params_to_json(request.template_values),
        schema_version=request.schema_version,
        ttl_s=request.ttl_s,
        ignore_growing=request.ignore_growing,
    )


def query_request_from_pb(message: pb.QueryRequest) -> QueryRequest:
    return QueryRequest(
        collection_id=message.collection_id,
        vchannel=message.vchannel,
        partition_ids=tuple(message.partition_ids),
        filter=message.filter,
        output_fields=tuple(message.output_fields),
        mvcc_ts=message.mvcc_ts,
        guarantee_ts=message.guarantee_ts,
        limit=message.limit if message.HasField("limit") else None,
        count_only=message.count_only,
        template_values=params_from_json(message.template_values_json),
        schema_version=message.schema_version,
        ttl_s=message.ttl_s,
        ignore_growing=message.ignore_growing,
    )


def query_result_to_pb(result: QueryResult) -> pb.QueryResult:
    return pb.QueryResult(rows_ipc=arrow_table_to_ipc(result.rows), count=result.count)


def query_result_from_pb(message: pb.QueryResult) -> QueryResult:
    return QueryResult(rows=arrow_table_from_ipc(message.rows_ipc), count=message.count)
