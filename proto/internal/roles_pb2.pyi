from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ErrorInfo(_message.Message):
    __slots__ = ("kind", "code", "detail", "reason")
    KIND_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    kind: str
    code: int
    detail: str
    reason: str
    def __init__(self, kind: _Optional[str] = ..., code: _Optional[int] = ..., detail: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class Ack(_message.Message):
    __slots__ = ("error",)
    ERROR_FIELD_NUMBER: _ClassVar[int]
    error: ErrorInfo
    def __init__(self, error: _Optional[_Union[ErrorInfo, _Mapping]] = ...) -> None: ...

class Tensor(_message.Message):
    __slots__ = ("dtype", "shape", "data")
    DTYPE_FIELD_NUMBER: _ClassVar[int]
    SHAPE_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    dtype: str
    shape: _containers.RepeatedScalarFieldContainer[int]
    data: bytes
    def __init__(self, dtype: _Optional[str] = ..., shape: _Optional[_Iterable[int]] = ..., data: _Optional[bytes] = ...) -> None: ...

class ChannelSnapshot(_message.Message):
    __slots__ = ("collection_json", "checkpoint_json", "segments_json", "delta_logs_json", "indexes_json", "pending_flush_ts")
    COLLECTION_JSON_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_JSON_FIELD_NUMBER: _ClassVar[int]
    SEGMENTS_JSON_FIELD_NUMBER: _ClassVar[int]
    DELTA_LOGS_JSON_FIELD_NUMBER: _ClassVar[int]
    INDEXES_JSON_FIELD_NUMBER: _ClassVar[int]
    PENDING_FLUSH_TS_FIELD_NUMBER: _ClassVar[int]
    collection_json: bytes
    checkpoint_json: bytes
    segments_json: _containers.RepeatedScalarFieldContainer[bytes]
    delta_logs_json: _containers.RepeatedScalarFieldContainer[bytes]
    indexes_json: _containers.RepeatedScalarFieldContainer[bytes]
    pending_flush_ts: int
    def __init__(self, collection_json: _Optional[bytes] = ..., checkpoint_json: _Optional[bytes] = ..., segments_json: _Optional[_Iterable[bytes]] = ..., delta_logs_json: _Optional[_Iterable[bytes]] = ..., indexes_json: _Optional[_Iterable[bytes]] = ..., pending_flush_ts: _Optional[int] = ...) -> None: ...

class IndexBuildTask(_message.Message):
    __slots__ = ("build_id", "index_json", "segment_json", "dim")
    BUILD_ID_FIELD_NUMBER: _ClassVar[int]
    INDEX_JSON_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_JSON_FIELD_NUMBER: _ClassVar[int]
    DIM_FIELD_NUMBER: _ClassVar[int]
    build_id: int
    index_json: bytes
    segment_json: bytes
    dim: int
    def __init__(self, build_id: _Optional[int] = ..., index_json: _Optional[bytes] = ..., segment_json: _Optional[bytes] = ..., dim: _Optional[int] = ...) -> None: ...

class FlushResult(_message.Message):
    __slots__ = ("segment_ids", "flushed_segment_ids", "seal_ts", "flush_ts")
    SEGMENT_IDS_FIELD_NUMBER: _ClassVar[int]
    FLUSHED_SEGMENT_IDS_FIELD_NUMBER: _ClassVar[int]
    SEAL_TS_FIELD_NUMBER: _ClassVar[int]
    FLUSH_TS_FIELD_NUMBER: _ClassVar[int]
    segment_ids: _containers.RepeatedScalarFieldContainer[int]
    flushed_segment_ids: _containers.RepeatedScalarFieldContainer[int]
    seal_ts: int
    flush_ts: int
    def __init__(self, segment_ids: _Optional[_Iterable[int]] = ..., flushed_segment_ids: _Optional[_Iterable[int]] = ..., seal_ts: _Optional[int] = ..., flush_ts: _Optional[int] = ...) -> None: ...

class IndexProgress(_message.Message):
    __slots__ = ("index_json", "total_rows", "indexed_rows", "pending_rows", "state", "fail_reason")
    INDEX_JSON_FIELD_NUMBER: _ClassVar[int]
    TOTAL_ROWS_FIELD_NUMBER: _ClassVar[int]
    INDEXED_ROWS_FIELD_NUMBER: _ClassVar[int]
    PENDING_ROWS_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    FAIL_REASON_FIELD_NUMBER: _ClassVar[int]
    index_json: bytes
    total_rows: int
    indexed_rows: int
    pending_rows: int
    state: str
    fail_reason: str
    def __init__(self, index_json: _Optional[bytes] = ..., total_rows: _Optional[int] = ..., indexed_rows: _Optional[int] = ..., pending_rows: _Optional[int] = ..., state: _Optional[str] = ..., fail_reason: _Optional[str] = ...) -> None: ...

class LoadProgress(_message.Message):
    __slots__ = ("state", "percent", "loaded_partitions")
    STATE_FIELD_NUMBER: _ClassVar[int]
    PERCENT_FIELD_NUMBER: _ClassVar[int]
    LOADED_PARTITIONS_FIELD_NUMBER: _ClassVar[int]
    state: str
    percent: int
    loaded_partitions: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, state: _Optional[str] = ..., percent: _Optional[int] = ..., loaded_partitions: _Optional[_Iterable[int]] = ...) -> None: ...

class CollectionStats(_message.Message):
    __slots__ = ("row_count", "extra_json")
    ROW_COUNT_FIELD_NUMBER: _ClassVar[int]
    EXTRA_JSON_FIELD_NUMBER: _ClassVar[int]
    row_count: int
    extra_json: bytes
    def __init__(self, row_count: _Optional[int] = ..., extra_json: _Optional[bytes] = ...) -> None: ...

class SearchRequest(_message.Message):
    __slots__ = ("collection_id", "vchannel", "partition_ids", "anns_field", "metric_type", "queries", "limit", "search_params_json", "filter", "output_fields", "mvcc_ts", "guarantee_ts", "template_values_json", "ignore_growing")
    COLLECTION_ID_FIELD_NUMBER: _ClassVar[int]
    VCHANNEL_FIELD_NUMBER: _ClassVar[int]
    PARTITION_IDS_FIELD_NUMBER: _ClassVar[int]
    ANNS_FIELD_FIELD_NUMBER: _ClassVar[int]
    METRIC_TYPE_FIELD_NUMBER: _ClassVar[int]
    QUERIES_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    SEARCH_PARAMS_JSON_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELDS_FIELD_NUMBER: _ClassVar[int]
    MVCC_TS_FIELD_NUMBER: _ClassVar[int]
    GUARANTEE_TS_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_VALUES_JSON_FIELD_NUMBER: _ClassVar[int]
    IGNORE_GROWING_FIELD_NUMBER: _ClassVar[int]
    collection_id: int
    vchannel: str
    partition_ids: _containers.RepeatedScalarFieldContainer[int]
    anns_field: str
    metric_type: str
    queries: Tensor
    limit: int
    search_params_json: bytes
    filter: str
    output_fields: _containers.RepeatedScalarFieldContainer[str]
    mvcc_ts: int
    guarantee_ts: int
    template_values_json: bytes
    ignore_growing: bool
    def __init__(self, collection_id: _Optional[int] = ..., vchannel: _Optional[str] = ..., partition_ids: _Optional[_Iterable[int]] = ..., anns_field: _Optional[str] = ..., metric_type: _Optional[str] = ..., queries: _Optional[_Union[Tensor, _Mapping]] = ..., limit: _Optional[int] = ..., search_params_json: _Optional[bytes] = ..., filter: _Optional[str] = ..., output_fields: _Optional[_Iterable[str]] = ..., mvcc_ts: _Optional[int] = ..., guarantee_ts: _Optional[int] = ..., template_values_json: _Optional[bytes] = ..., ignore_growing: _Optional[bool] = ...) -> None: ...

class SearchResult(_message.Message):
    __slots__ = ("nq", "query_index", "scores", "pks_ipc", "fields_ipc")
    NQ_FIELD_NUMBER: _ClassVar[int]
    QUERY_INDEX_FIELD_NUMBER: _ClassVar[int]
    SCORES_FIELD_NUMBER: _ClassVar[int]
    PKS_IPC_FIELD_NUMBER: _ClassVar[int]
    FIELDS_IPC_FIELD_NUMBER: _ClassVar[int]
    nq: int
    query_index: Tensor
    scores: Tensor
    pks_ipc: bytes
    fields_ipc: bytes
    def __init__(self, nq: _Optional[int] = ..., query_index: _Optional[_Union[Tensor, _Mapping]] = ..., scores: _Optional[_Union[Tensor, _Mapping]] = ..., pks_ipc: _Optional[bytes] = ..., fields_ipc: _Optional[bytes] = ...) -> None: ...

class QueryRequest(_message.Message):
    __slots__ = ("collection_id", "vchannel", "partition_ids", "filter", "output_fields", "mvcc_ts", "guarantee_ts", "limit", "count_only", "template_values_json")
    COLLECTION_ID_FIELD_NUMBER: _ClassVar[int]
    VCHANNEL_FIELD_NUMBER: _ClassVar[int]
    PARTITION_IDS_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELDS_FIELD_NUMBER: _ClassVar[int]
    MVCC_TS_FIELD_NUMBER: _ClassVar[int]
    GUARANTEE_TS_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    COUNT_ONLY_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_VALUES_JSON_FIELD_NUMBER: _ClassVar[int]
    collection_id: int
    vchannel: str
    partition_ids: _containers.RepeatedScalarFieldContainer[int]
    filter: str
    output_fields: _containers.RepeatedScalarFieldContainer[str]
    mvcc_ts: int
    guarantee_ts: int
    limit: int
    count_only: bool
    template_values_json: bytes
    def __init__(self, collection_id: _Optional[int] = ..., vchannel: _Optional[str] = ..., partition_ids: _Optional[_Iterable[int]] = ..., filter: _Optional[str] = ..., output_fields: _Optional[_Iterable[str]] = ..., mvcc_ts: _Optional[int] = ..., guarantee_ts: _Optional[int] = ..., limit: _Optional[int] = ..., count_only: _Optional[bool] = ..., template_values_json: _Optional[bytes] = ...) -> None: ...

class QueryResult(_message.Message):
    __slots__ = ("rows_ipc", "count")
    ROWS_IPC_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    rows_ipc: bytes
    count: int
    def __init__(self, rows_ipc: _Optional[bytes] = ..., count: _Optional[int] = ...) -> None: ...

class AllocTimestampRequest(_message.Message):
    __slots__ = ("count",)
    COUNT_FIELD_NUMBER: _ClassVar[int]
    count: int
    def __init__(self, count: _Optional[int] = ...) -> None: ...

class AllocTimestampResponse(_message.Message):
    __slots__ = ("error", "timestamp")
    ERROR_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    error: ErrorInfo
    timestamp: int
    def __init__(self, error: _Optional[_Union[ErrorInfo, _Mapping]] = ..., timestamp: _Optional[int] = ...) -> None: ...

class AllocIdsRequest(_message.Message):
    __slots__ = ("count",)
    COUNT_FIELD_NUMBER: _ClassVar[int]
    count: int
    def __init__(self, count: _Optional[int] = ...) -> None: ...

class AllocIdsResponse(_message.Message):
    __slots__ = ("error", "first_id")
    ERROR_FIELD_NUMBER: _ClassVar[int]
    FIRST_ID_FIELD_NUMBER: _ClassVar[int]
    error: ErrorInfo
    first_id: int
    def __init__(self, error: _Optional[_Union[ErrorInfo, _Mapping]] = ..., first_id: _Optional[int] = ...) -> None: ...

class SafeTsReport(_message.Message):
    __slots__ = ("safe_ts", "held", "demand")
    class HeldEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    SAFE_TS_FIELD_NUMBER: _ClassVar[int]
    HELD_FIELD_NUMBER: _ClassVar[int]
    DEMAND_FIELD_NUMBER: _ClassVar[int]
    safe_ts: int
    held: _containers.ScalarMap[str, int]
    demand: int
    def __init__(self, safe_ts: _Optional[int] = ..., held: _Optional[_Mapping[str, int]] = ..., demand: _Optional[int] = ...) -> None: ...

class RegisterProxyRequest(_message.Message):
    __slots__ = ("proxy_id",)
    PROXY_ID_FIELD_NUMBER: _ClassVar[int]
    proxy_id: int
    def __init__(self, proxy_id: _Optional[int] = ...) -> None: ...

class RegisterProxyResponse(_message.Message):
    __slots__ = ("error", "floor_ts")
    ERROR_FIELD_NUMBER: _ClassVar[int]
    FLOOR_TS_FIELD_NUMBER: _ClassVar[int]
    error: ErrorInfo
    floor_ts: int
    def __init__(self, error: _Optional[_Union[ErrorInfo, _Mapping]] = ..., floor_ts: _Optional[int] = ...) -> None: ...

class UnregisterProxyRequest(_message.Message):
    __slots__ = ("proxy_id",)
    PROXY_ID_FIELD_NUMBER: _ClassVar[int]
    proxy_id: int
    def __init__(self, proxy_id: _Optional[int] = ...) -> None: ...

class ReportSafeTsRequest(_message.Message):
    __slots__ = ("proxy_id", "report", "wait_s")
    PROXY_ID_FIELD_NUMBER: _ClassVar[int]
    REPORT_FIELD_NUMBER: _ClassVar[int]
    WAIT_S_FIELD_NUMBER: _ClassVar[int]
    proxy_id: int
    report: SafeTsReport
    wait_s: float
    def __init__(self, proxy_id: _Optional[int] = ..., report: _Optional[_Union[SafeTsReport, _Mapping]] = ..., wait_s: _Optional[float] = ...) -> None: ...

class ReportSafeTsResponse(_message.Message):
    __slots__ = ("error", "demand")
    ERROR_FIELD_NUMBER: _ClassVar[int]
    DEMAND_FIELD_NUMBER: _ClassVar[int]
    error: ErrorInfo
    demand: int
    def __init__(self, error: _Optional[_Union[ErrorInfo, _Mapping]] = ..., demand: _Optional[int] = ...) -> None: ...

class RequestTickRequest(_message.Message):
    __slots__ = ("proxy_id", "report", "pchannels", "at_least")
    PROXY_ID_FIELD_NUMBER: _ClassVar[int]
    REPORT_FIELD_NUMBER: _ClassVar[int]
    PCHANNELS_FIELD_NUMBER: _ClassVar[int]
    AT_LEAST_FIELD_NUMBER: _ClassVar[int]
    proxy_id: int
    report: SafeTsReport
    pchannels: _containers.RepeatedScalarFieldContainer[str]
    at_least: int
    def __init__(self, proxy_id: _Optional[int] = ..., report: _Optional[_Union[SafeTsReport, _Mapping]] = ..., pchannels: _Optional[_Iterable[str]] = ..., at_least: _Optional[int] = ...) -> None: ...

class CreateCollectionRequest(_message.Message):
    __slots__ = ("db_name", "schema_json", "shards_num", "consistency_level", "properties")
    class PropertiesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    DB_NAME_FIELD_NUMBER: _ClassVar[int]
    SCHEMA_JSON_FIELD_NUMBER: _ClassVar[int]
    SHARDS_NUM_FIELD_NUMBER: _ClassVar[int]
    CONSISTENCY_LEVEL_FIELD_NUMBER: _ClassVar[int]
    PROPERTIES_FIELD_NUMBER: _ClassVar[int]
    db_name: str
    schema_json: bytes
    shards_num: int
    consistency_level: int
    properties: _containers.ScalarMap[str, str]
    def __init__(self, db_name: _Optional[str] = ..., schema_json: _Optional[bytes] = ..., shards_num: _Optional[int] = ..., consistency_level: _Optional[int] = ..., properties: _Optional[_Mapping[str, str]] = ...) -> None: ...

class CollectionResponse(_message.Message):
    __slots__ = ("error", "collection_json")
    ERROR_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_JSON_FIELD_NUMBER: _ClassVar[int]
    error: ErrorInfo
    collection_json: bytes
    def __init__(self, error: _Optional[_Union[ErrorInfo, _Mapping]] = ..., collection_json: _Optional[bytes] = ...) -> None: ...

class DropCollectionRequest(_message.Message):
    __slots__ = ("db_name", "name")
    DB_NAME_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    db_name: str
    name: str
    def __init__(self, db_name: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class DescribeCollectionRequest(_message.Message):
    __slots__ = ("db_name", "name", "collection_id")
    DB_NAME_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_ID_FIELD_NUMBER: _ClassVar[int]
    db_name: str
    name: str
    collection_id: int
    def __init__(self, db_name: _Optional[str] = ..., name: _Optional[str] = ..., collection_id: _Optional[int] = ...) -> None: ...

class ListCollectionsRequest(_message.Message):
    __slots__ = ("db_name",)
    DB_NAME_FIELD_NUMBER: _ClassVar[int]
    db_name: str
    def __init__(self, db_name: _Optional[str] = ...) -> None: ...

class ListCollectionsResponse(_message.Message):
    __slots__ = ("error", "collections_json")
    ERROR_FIELD_NUMBER: _ClassVar[int]
    COLLECTIONS_JSON_FIELD_NUMBER: _ClassVar[int]
    error: ErrorInfo
    collections_json: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, error: _Optional[_Union[ErrorInfo, _Mapping]] = ..., collections_json: _Optional[_Iterable[bytes]] = ...) -> None: ...

class CreatePartitionRequest(_message.Message):
    __slots__ = ("db_name", "collection", "partition")
    DB_NAME_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    PARTITION_FIELD_NUMBER: _ClassVar[int]
    db_name: str
    collection: str
    partition: str
    def __init__(self, db_name: _Optional[str] = ..., collection: _Optional[str] = ..., partition: _Optional[str] = ...) -> None: ...

class DropPartitionRequest(_message.Message):
    __slots__ = ("db_name", "collection", "partition")
    DB_NAME_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    PARTITION_FIELD_NUMBER: _ClassVar[int]
    db_name: str
    collection: str
    partition: str
    def __init__(self, db_name: _Optional[str] = ..., collection: _Optional[str] = ..., partition: _Optional[str] = ...) -> None: ...

class AssignSegmentRequest(_message.Message):
    __slots__ = ("collection_id", "partition_id", "vchannel", "num_rows")
    COLLECTION_ID_FIELD_NUMBER: _ClassVar[int]
    PARTITION_ID_FIELD_NUMBER: _ClassVar[int]
    VCHANNEL_FIELD_NUMBER: _ClassVar[int]
    NUM_ROWS_FIELD_NUMBER: _ClassVar[int]
    collection_id: int
    partition_id: int
    vchannel: str
    num_rows: int
    def __init__(self, collection_id: _Optional[int] = ..., partition_id: _Optional[int] = ..., vchannel: _Optional[str] = ..., num_rows: _Optional[int] = ...) -> None: ...

class AssignSegmentResponse(_message.Message):
    __slots__ = ("error", "segment_id")
    ERROR_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_ID_FIELD_NUMBER: _ClassVar[int]
    error: ErrorInfo
    segment_id: int
    def __init__(self, error: _Optional[_Union[ErrorInfo, _Mapping]] = ..., segment_id: _Optional[int] = ...) -> None: ...

class FlushRequest(_message.Message):
    __slots__ = ("collection_id",)
    COLLECTION_ID_FIELD_NUMBER: _ClassVar[int]
    collection_id: int
    def __init__(self, collection_id: _Optional[int] = ...) -> None: ...

class FlushResponse(_message.Message):
    __slots__ = ("error", "result")
    ERROR_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    error: ErrorInfo
    result: FlushResult
    def __init__(self, error: _Optional[_Union[ErrorInfo, _Mapping]] = ..., result: _Optional[_Union[FlushResult, _Mapping]] = ...) -> None: ...

class FlushStateRequest(_message.Message):
    __slots__ = ("collection_id", "segment_ids", "flush_ts")
    COLLECTION_ID_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_IDS_FIELD_NUMBER: _ClassVar[int]
    FLUSH_TS_FIELD_NUMBER: _ClassVar[int]
    collection_id: int
    segment_ids: _containers.RepeatedScalarFieldContainer[int]
    flush_ts: int
    def __init__(self, collection_id: _Optional[int] = ..., segment_ids: _Optional[_Iterable[int]] = ..., flush_ts: _Optional[int] = ...) -> None: ...

class FlushStateResponse(_message.Message):
    __slots__ = ("error", "flushed")
    ERROR_FIELD_NUMBER: _ClassVar[int]
    FLUSHED_FIELD_NUMBER: _ClassVar[int]
    error: ErrorInfo
    flushed: bool
    def __init__(self, error: _Optional[_Union[ErrorInfo, _Mapping]] = ..., flushed: _Optional[bool] = ...) -> None: ...

class ManualCompactionRequest(_message.Message):
    __slots__ = ("collection_id",)
    COLLECTION_ID_FIELD_NUMBER: _ClassVar[int]
    collection_id: int
    def __init__(self, collection_id: _Optional[int] = ...) -> None: ...

class ManualCompactionResponse(_message.Message):
    __slots__ = ("error", "compaction_id")
    ERROR_FIELD_NUMBER: _ClassVar[int]
    COMPACTION_ID_FIELD_NUMBER: _ClassVar[int]
    error: ErrorInfo
    compaction_id: int
    def __init__(self, error: _Optional[_Union[ErrorInfo, _Mapping]] = ..., compaction_id: _Optional[int] = ...) -> None: ...

class CompactionStateRequest(_message.Message):
    __slots__ = ("compaction_id",)
    COMPACTION_ID_FIELD_NUMBER: _ClassVar[int]
    compaction_id: int
    def __init__(self, compaction_id: _Optional[int] = ...) -> None: ...

class CompactionStateResponse(_message.Message):
    __slots__ = ("error", "state", "executing", "completed", "failed")
    ERROR_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    EXECUTING_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    error: ErrorInfo
    state: str
    executing: int
    completed: int
    failed: int
    def __init__(self, error: _Optional[_Union[ErrorInfo, _Mapping]] = ..., state: _Optional[str] = ..., executing: _Optional[int] = ..., completed: _Optional[int] = ..., failed: _Optional[int] = ...) -> None: ...

class CollectionStatisticsRequest(_message.Message):
    __slots__ = ("collection_id", "partition_ids")
    COLLECTION_ID_FIELD_NUMBER: _ClassVar[int]
    PARTITION_IDS_FIELD_NUMBER: _ClassVar[int]
    collection_id: int
    partition_ids: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, collection_id: _Optional[int] = ..., partition_ids: _Optional[_Iterable[int]] = ...) -> None: ...

class CollectionStatisticsResponse(_message.Message):
    __slots__ = ("error", "result")
    ERROR_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    error: ErrorInfo
    result: CollectionStats
    def __init__(self, error: _Optional[_Union[ErrorInfo, _Mapping]] = ..., result: _Optional[_Union[CollectionStats, _Mapping]] = ...) -> None: ...

class ChannelSnapshotRequest(_message.Message):
    __slots__ = ("vchannel",)
    VCHANNEL_FIELD_NUMBER: _ClassVar[int]
    vchannel: str
    def __init__(self, vchannel: _Optional[str] = ...) -> None: ...

class ChannelSnapshotResponse(_message.Message):
    __slots__ = ("error", "result")
    ERROR_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    error: ErrorInfo
    result: ChannelSnapshot
    def __init__(self, error: _Optional[_Union[ErrorInfo, _Mapping]] = ..., result: _Optional[_Union[ChannelSnapshot, _Mapping]] = ...) -> None: ...

class SegmentRequest(_message.Message):
    __slots__ = ("segment_json",)
    SEGMENT_JSON_FIELD_NUMBER: _ClassVar[int]
    segment_json: bytes
    def __init__(self, segment_json: _Optional[bytes] = ...) -> None: ...

class ChannelLease(_message.Message):
    __slots__ = ("node_id", "epoch")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    node_id: int
    epoch: int
    def __init__(self, node_id: _Optional[int] = ..., epoch: _Optional[int] = ...) -> None: ...

class SegmentFlushedRequest(_message.Message):
    __slots__ = ("segment_json", "lease")
    SEGMENT_JSON_FIELD_NUMBER: _ClassVar[int]
    LEASE_FIELD_NUMBER: _ClassVar[int]
    segment_json: bytes
    lease: ChannelLease
    def __init__(self, segment_json: _Optional[bytes] = ..., lease: _Optional[_Union[ChannelLease, _Mapping]] = ...) -> None: ...

class AddDeltaLogRequest(_message.Message):
    __slots__ = ("delta_log_json", "lease")
    DELTA_LOG_JSON_FIELD_NUMBER: _ClassVar[int]
    LEASE_FIELD_NUMBER: _ClassVar[int]
    delta_log_json: bytes
    lease: ChannelLease
    def __init__(self, delta_log_json: _Optional[bytes] = ..., lease: _Optional[_Union[ChannelLease, _Mapping]] = ...) -> None: ...

class UpdateCheckpointRequest(_message.Message):
    __slots__ = ("checkpoint_json", "lease")
    CHECKPOINT_JSON_FIELD_NUMBER: _ClassVar[int]
    LEASE_FIELD_NUMBER: _ClassVar[int]
    checkpoint_json: bytes
    lease: ChannelLease
    def __init__(self, checkpoint_json: _Optional[bytes] = ..., lease: _Optional[_Union[ChannelLease, _Mapping]] = ...) -> None: ...

class ChannelFlushedRequest(_message.Message):
    __slots__ = ("vchannel", "flush_ts", "lease")
    VCHANNEL_FIELD_NUMBER: _ClassVar[int]
    FLUSH_TS_FIELD_NUMBER: _ClassVar[int]
    LEASE_FIELD_NUMBER: _ClassVar[int]
    vchannel: str
    flush_ts: int
    lease: ChannelLease
    def __init__(self, vchannel: _Optional[str] = ..., flush_ts: _Optional[int] = ..., lease: _Optional[_Union[ChannelLease, _Mapping]] = ...) -> None: ...

class CreateIndexRequest(_message.Message):
    __slots__ = ("collection_id", "field_name", "index_name", "index_type", "metric_type", "params_json", "user_params")
    class UserParamsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    COLLECTION_ID_FIELD_NUMBER: _ClassVar[int]
    FIELD_NAME_FIELD_NUMBER: _ClassVar[int]
    INDEX_NAME_FIELD_NUMBER: _ClassVar[int]
    INDEX_TYPE_FIELD_NUMBER: _ClassVar[int]
    METRIC_TYPE_FIELD_NUMBER: _ClassVar[int]
    PARAMS_JSON_FIELD_NUMBER: _ClassVar[int]
    USER_PARAMS_FIELD_NUMBER: _ClassVar[int]
    collection_id: int
    field_name: str
    index_name: str
    index_type: str
    metric_type: str
    params_json: bytes
    user_params: _containers.ScalarMap[str, str]
    def __init__(self, collection_id: _Optional[int] = ..., field_name: _Optional[str] = ..., index_name: _Optional[str] = ..., index_type: _Optional[str] = ..., metric_type: _Optional[str] = ..., params_json: _Optional[bytes] = ..., user_params: _Optional[_Mapping[str, str]] = ...) -> None: ...

class CreateIndexResponse(_message.Message):
    __slots__ = ("error", "index_json")
    ERROR_FIELD_NUMBER: _ClassVar[int]
    INDEX_JSON_FIELD_NUMBER: _ClassVar[int]
    error: ErrorInfo
    index_json: bytes
    def __init__(self, error: _Optional[_Union[ErrorInfo, _Mapping]] = ..., index_json: _Optional[bytes] = ...) -> None: ...

class DescribeIndexesRequest(_message.Message):
    __slots__ = ("collection_id", "field_name", "index_name")
    COLLECTION_ID_FIELD_NUMBER: _ClassVar[int]
    FIELD_NAME_FIELD_NUMBER: _ClassVar[int]
    INDEX_NAME_FIELD_NUMBER: _ClassVar[int]
    collection_id: int
    field_name: str
    index_name: str
    def __init__(self, collection_id: _Optional[int] = ..., field_name: _Optional[str] = ..., index_name: _Optional[str] = ...) -> None: ...

class DescribeIndexesResponse(_message.Message):
    __slots__ = ("error", "result")
    ERROR_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    error: ErrorInfo
    result: _containers.RepeatedCompositeFieldContainer[IndexProgress]
    def __init__(self, error: _Optional[_Union[ErrorInfo, _Mapping]] = ..., result: _Optional[_Iterable[_Union[IndexProgress, _Mapping]]] = ...) -> None: ...

class DropIndexRequest(_message.Message):
    __slots__ = ("collection_id", "field_name", "index_name")
    COLLECTION_ID_FIELD_NUMBER: _ClassVar[int]
    FIELD_NAME_FIELD_NUMBER: _ClassVar[int]
    INDEX_NAME_FIELD_NUMBER: _ClassVar[int]
    collection_id: int
    field_name: str
    index_name: str
    def __init__(self, collection_id: _Optional[int] = ..., field_name: _Optional[str] = ..., index_name: _Optional[str] = ...) -> None: ...

class IndexBuiltRequest(_message.Message):
    __slots__ = ("task", "key")
    TASK_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    task: IndexBuildTask
    key: str
    def __init__(self, task: _Optional[_Union[IndexBuildTask, _Mapping]] = ..., key: _Optional[str] = ...) -> None: ...

class IndexFailedRequest(_message.Message):
    __slots__ = ("task", "reason")
    TASK_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    task: IndexBuildTask
    reason: str
    def __init__(self, task: _Optional[_Union[IndexBuildTask, _Mapping]] = ..., reason: _Optional[str] = ...) -> None: ...

class LoadCollectionRequest(_message.Message):
    __slots__ = ("collection_id", "partition_ids")
    COLLECTION_ID_FIELD_NUMBER: _ClassVar[int]
    PARTITION_IDS_FIELD_NUMBER: _ClassVar[int]
    collection_id: int
    partition_ids: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, collection_id: _Optional[int] = ..., partition_ids: _Optional[_Iterable[int]] = ...) -> None: ...

class ReleaseCollectionRequest(_message.Message):
    __slots__ = ("collection_id",)
    COLLECTION_ID_FIELD_NUMBER: _ClassVar[int]
    collection_id: int
    def __init__(self, collection_id: _Optional[int] = ...) -> None: ...

class ReleasePartitionsRequest(_message.Message):
    __slots__ = ("collection_id", "partition_ids")
    COLLECTION_ID_FIELD_NUMBER: _ClassVar[int]
    PARTITION_IDS_FIELD_NUMBER: _ClassVar[int]
    collection_id: int
    partition_ids: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, collection_id: _Optional[int] = ..., partition_ids: _Optional[_Iterable[int]] = ...) -> None: ...

class LoadProgressRequest(_message.Message):
    __slots__ = ("collection_id", "partition_ids")
    COLLECTION_ID_FIELD_NUMBER: _ClassVar[int]
    PARTITION_IDS_FIELD_NUMBER: _ClassVar[int]
    collection_id: int
    partition_ids: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, collection_id: _Optional[int] = ..., partition_ids: _Optional[_Iterable[int]] = ...) -> None: ...

class LoadProgressResponse(_message.Message):
    __slots__ = ("error", "result")
    ERROR_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    error: ErrorInfo
    result: LoadProgress
    def __init__(self, error: _Optional[_Union[ErrorInfo, _Mapping]] = ..., result: _Optional[_Union[LoadProgress, _Mapping]] = ...) -> None: ...

class ShardLeadersRequest(_message.Message):
    __slots__ = ("collection_id",)
    COLLECTION_ID_FIELD_NUMBER: _ClassVar[int]
    collection_id: int
    def __init__(self, collection_id: _Optional[int] = ...) -> None: ...

class ShardLeadersResponse(_message.Message):
    __slots__ = ("error", "leaders")
    class LeadersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    ERROR_FIELD_NUMBER: _ClassVar[int]
    LEADERS_FIELD_NUMBER: _ClassVar[int]
    error: ErrorInfo
    leaders: _containers.ScalarMap[str, int]
    def __init__(self, error: _Optional[_Union[ErrorInfo, _Mapping]] = ..., leaders: _Optional[_Mapping[str, int]] = ...) -> None: ...

class WatchChannelRequest(_message.Message):
    __slots__ = ("vchannel", "epoch")
    VCHANNEL_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    vchannel: str
    epoch: int
    def __init__(self, vchannel: _Optional[str] = ..., epoch: _Optional[int] = ...) -> None: ...

class UnwatchChannelRequest(_message.Message):
    __slots__ = ("vchannel",)
    VCHANNEL_FIELD_NUMBER: _ClassVar[int]
    vchannel: str
    def __init__(self, vchannel: _Optional[str] = ...) -> None: ...

class SealSegmentRequest(_message.Message):
    __slots__ = ("vchannel", "segment_id", "seal_ts")
    VCHANNEL_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_ID_FIELD_NUMBER: _ClassVar[int]
    SEAL_TS_FIELD_NUMBER: _ClassVar[int]
    vchannel: str
    segment_id: int
    seal_ts: int
    def __init__(self, vchannel: _Optional[str] = ..., segment_id: _Optional[int] = ..., seal_ts: _Optional[int] = ...) -> None: ...

class FlushChannelRequest(_message.Message):
    __slots__ = ("vchannel", "flush_ts")
    VCHANNEL_FIELD_NUMBER: _ClassVar[int]
    FLUSH_TS_FIELD_NUMBER: _ClassVar[int]
    vchannel: str
    flush_ts: int
    def __init__(self, vchannel: _Optional[str] = ..., flush_ts: _Optional[int] = ...) -> None: ...

class CompactRequest(_message.Message):
    __slots__ = ("plan_json",)
    PLAN_JSON_FIELD_NUMBER: _ClassVar[int]
    plan_json: bytes
    def __init__(self, plan_json: _Optional[bytes] = ...) -> None: ...

class CompactResponse(_message.Message):
    __slots__ = ("error", "segment_json")
    ERROR_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_JSON_FIELD_NUMBER: _ClassVar[int]
    error: ErrorInfo
    segment_json: bytes
    def __init__(self, error: _Optional[_Union[ErrorInfo, _Mapping]] = ..., segment_json: _Optional[bytes] = ...) -> None: ...

class LoadChannelRequest(_message.Message):
    __slots__ = ("vchannel", "partition_ids")
    VCHANNEL_FIELD_NUMBER: _ClassVar[int]
    PARTITION_IDS_FIELD_NUMBER: _ClassVar[int]
    vchannel: str
    partition_ids: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, vchannel: _Optional[str] = ..., partition_ids: _Optional[_Iterable[int]] = ...) -> None: ...

class SegmentIndexedRequest(_message.Message):
    __slots__ = ("segment_json", "index_json")
    SEGMENT_JSON_FIELD_NUMBER: _ClassVar[int]
    INDEX_JSON_FIELD_NUMBER: _ClassVar[int]
    segment_json: bytes
    index_json: bytes
    def __init__(self, segment_json: _Optional[bytes] = ..., index_json: _Optional[bytes] = ...) -> None: ...

class SearchResponse(_message.Message):
    __slots__ = ("error", "result")
    ERROR_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    error: ErrorInfo
    result: SearchResult
    def __init__(self, error: _Optional[_Union[ErrorInfo, _Mapping]] = ..., result: _Optional[_Union[SearchResult, _Mapping]] = ...) -> None: ...

class QueryResponse(_message.Message):
    __slots__ = ("error", "result")
    ERROR_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    error: ErrorInfo
    result: QueryResult
    def __init__(self, error: _Optional[_Union[ErrorInfo, _Mapping]] = ..., result: _Optional[_Union[QueryResult, _Mapping]] = ...) -> None: ...

class SubmitRequest(_message.Message):
    __slots__ = ("task",)
    TASK_FIELD_NUMBER: _ClassVar[int]
    task: IndexBuildTask
    def __init__(self, task: _Optional[_Union[IndexBuildTask, _Mapping]] = ...) -> None: ...
