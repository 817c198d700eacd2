from proto.public import common_pb2 as _common_pb2
from proto.public import schema_pb2 as _schema_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class InsertMsg(_message.Message):
    __slots__ = ("base", "db_name", "collection_name", "collection_id", "partition_id", "segment_id", "vchannel", "num_rows", "arrow_batch")
    BASE_FIELD_NUMBER: _ClassVar[int]
    DB_NAME_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_NAME_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_ID_FIELD_NUMBER: _ClassVar[int]
    PARTITION_ID_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_ID_FIELD_NUMBER: _ClassVar[int]
    VCHANNEL_FIELD_NUMBER: _ClassVar[int]
    NUM_ROWS_FIELD_NUMBER: _ClassVar[int]
    ARROW_BATCH_FIELD_NUMBER: _ClassVar[int]
    base: _common_pb2.MsgBase
    db_name: str
    collection_name: str
    collection_id: int
    partition_id: int
    segment_id: int
    vchannel: str
    num_rows: int
    arrow_batch: bytes
    def __init__(self, base: _Optional[_Union[_common_pb2.MsgBase, _Mapping]] = ..., db_name: _Optional[str] = ..., collection_name: _Optional[str] = ..., collection_id: _Optional[int] = ..., partition_id: _Optional[int] = ..., segment_id: _Optional[int] = ..., vchannel: _Optional[str] = ..., num_rows: _Optional[int] = ..., arrow_batch: _Optional[bytes] = ...) -> None: ...

class DeleteMsg(_message.Message):
    __slots__ = ("base", "db_name", "collection_name", "collection_id", "partition_id", "vchannel", "primary_keys", "num_rows")
    BASE_FIELD_NUMBER: _ClassVar[int]
    DB_NAME_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_NAME_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_ID_FIELD_NUMBER: _ClassVar[int]
    PARTITION_ID_FIELD_NUMBER: _ClassVar[int]
    VCHANNEL_FIELD_NUMBER: _ClassVar[int]
    PRIMARY_KEYS_FIELD_NUMBER: _ClassVar[int]
    NUM_ROWS_FIELD_NUMBER: _ClassVar[int]
    base: _common_pb2.MsgBase
    db_name: str
    collection_name: str
    collection_id: int
    partition_id: int
    vchannel: str
    primary_keys: _schema_pb2.IDs
    num_rows: int
    def __init__(self, base: _Optional[_Union[_common_pb2.MsgBase, _Mapping]] = ..., db_name: _Optional[str] = ..., collection_name: _Optional[str] = ..., collection_id: _Optional[int] = ..., partition_id: _Optional[int] = ..., vchannel: _Optional[str] = ..., primary_keys: _Optional[_Union[_schema_pb2.IDs, _Mapping]] = ..., num_rows: _Optional[int] = ...) -> None: ...

class TimeTickMsg(_message.Message):
    __slots__ = ("base",)
    BASE_FIELD_NUMBER: _ClassVar[int]
    base: _common_pb2.MsgBase
    def __init__(self, base: _Optional[_Union[_common_pb2.MsgBase, _Mapping]] = ...) -> None: ...

class DdlMsg(_message.Message):
    __slots__ = ("base", "collection_id", "partition_id", "collection_name", "partition_name")
    BASE_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_ID_FIELD_NUMBER: _ClassVar[int]
    PARTITION_ID_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_NAME_FIELD_NUMBER: _ClassVar[int]
    PARTITION_NAME_FIELD_NUMBER: _ClassVar[int]
    base: _common_pb2.MsgBase
    collection_id: int
    partition_id: int
    collection_name: str
    partition_name: str
    def __init__(self, base: _Optional[_Union[_common_pb2.MsgBase, _Mapping]] = ..., collection_id: _Optional[int] = ..., partition_id: _Optional[int] = ..., collection_name: _Optional[str] = ..., partition_name: _Optional[str] = ...) -> None: ...

class StreamMessage(_message.Message):
    __slots__ = ("insert", "delete", "time_tick", "ddl")
    INSERT_FIELD_NUMBER: _ClassVar[int]
    DELETE_FIELD_NUMBER: _ClassVar[int]
    TIME_TICK_FIELD_NUMBER: _ClassVar[int]
    DDL_FIELD_NUMBER: _ClassVar[int]
    insert: InsertMsg
    delete: DeleteMsg
    time_tick: TimeTickMsg
    ddl: DdlMsg
    def __init__(self, insert: _Optional[_Union[InsertMsg, _Mapping]] = ..., delete: _Optional[_Union[DeleteMsg, _Mapping]] = ..., time_tick: _Optional[_Union[TimeTickMsg, _Mapping]] = ..., ddl: _Optional[_Union[DdlMsg, _Mapping]] = ...) -> None: ...
