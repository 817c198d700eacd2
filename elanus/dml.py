"""What travels on DML channels, as plain values, and its encoding.

Every message is a ``StreamMessage`` protobuf whose body carries the proxy's
``MsgBase{msg_type, msgID, timestamp, sourceID}``. Insert rows travel as one
Arrow IPC record batch (columns named after schema fields); every row of an
insert has the message's timestamp. A delete hides the rows of its keys whose
timestamp is *below* the delete's, in its partition or in all (elanus/deletes.py
is the rule), so an upsert (delete everywhere + insert at one timestamp) keeps
its new row.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from proto.internal import channel_pb2
from proto.public import common_pb2, schema_pb2


@dataclass(frozen=True)
class Stamp:
    """The MsgBase of one message."""

    msg_id: int
    timestamp: int
    source_id: int


@dataclass(frozen=True)
class InsertBatch:
    stamp: Stamp
    collection_id: int
    partition_id: int
    segment_id: int
    vchannel: str
    rows: pa.Table


@dataclass(frozen=True)
class DeleteBatch:
    stamp: Stamp
    collection_id: int
    partition_id: int  # elanus.deletes.ALL_PARTITIONS (0): every partition
    vchannel: str
    pks: pa.Array


@dataclass(frozen=True)
class TimeTick:
    """No message with a timestamp <= ``timestamp`` follows this on its channel."""

    stamp: Stamp

    @property
    def timestamp(self) -> int:
        return self.stamp.timestamp


@dataclass(frozen=True)
class TruncateMark:
    """TruncateCollection at ``stamp.timestamp``: every row of the collection inserted
    before it is gone (elanus/deletes.py: truncated_at); one per virtual channel."""

    stamp: Stamp
    collection_id: int
    vchannel: str


ChannelMessage = InsertBatch | DeleteBatch | TimeTick | TruncateMark


def _base(msg_type: common_pb2.MsgType.ValueType, stamp: Stamp) -> common_pb2.MsgBase:
    return common_pb2.MsgBase(
        msg_type=msg_type, msgID=stamp.msg_id, timestamp=stamp.timestamp, sourceID=stamp.source_id
    )


def encode_insert(batch: InsertBatch) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, batch.rows.schema) as writer:
        writer.write_table(batch.rows)
    msg = channel_pb2.InsertMsg(
        base=_base(common_pb2.Insert, batch.stamp),
        collection_id=batch.collection_id,
        partition_id=batch.partition_id,
        segment_id=batch.segment_id,
        vchannel=batch.vchannel,
        num_rows=batch.rows.num_rows,
        arrow_batch=sink.getvalue().to_pybytes(),
    )
    return channel_pb2.StreamMessage(insert=msg).SerializeToString()


def encode_delete(batch: DeleteBatch) -> bytes:
    msg = channel_pb2.DeleteMsg(
        base=_base(common_pb2.Delete, batch.stamp),
        collection_id=batch.collection_id,
        partition_id=batch.partition_id,
        vchannel=batch.vchannel,
        primary_keys=_ids(batch.pks),
        num_rows=len(batch.pks),
    )
    return channel_pb2.StreamMessage(delete=msg).SerializeToString()


def encode_truncate(mark: TruncateMark) -> bytes:
    msg = channel_pb2.DdlMsg(
        base=_base(common_pb2.TruncateCollection, mark.stamp),
        collection_id=mark.collection_id,
        vchannel=mark.vchannel,
    )
    return channel_pb2.StreamMessage(ddl=msg).SerializeToString()


def encode_time_tick(stamp: Stamp) -> bytes:
    msg = channel_pb2.TimeTickMsg(base=_base(common_pb2.TimeTick, stamp))
    return channel_pb2.StreamMessage(time_tick=msg).SerializeToString()


def decode(payload: bytes) -> ChannelMessage | None:
    """The message, or None for kinds this release does not act on (DDL events)."""
    msg = channel_pb2.StreamMessage.FromString(payload)
    kind = msg.WhichOneof("body")
    if kind == "insert":
        body = msg.insert
        rows = pa.ipc.open_stream(body.arrow_batch).read_all()
        return InsertBatch(
            _stamp(body.base),
            body.collection_id,
            body.partition_id,
            body.segment_id,
            body.vchannel,
            rows,
        )
    if kind == "delete":
        deleted = msg.delete
        return DeleteBatch(
            _stamp(deleted.base),
            deleted.collection_id,
            deleted.partition_id,
            deleted.vchannel,
            _pks(deleted.primary_keys),
        )
    if kind == "time_tick":
        return TimeTick(_stamp(msg.time_tick.base))
    if kind == "ddl" and msg.ddl.base.msg_type == common_pb2.TruncateCollection:
        return TruncateMark(_stamp(msg.ddl.base), msg.ddl.collection_id, msg.ddl.vchannel)
    return None


def _stamp(base: common_pb2.MsgBase) -> Stamp:
    return Stamp(msg_id=base.msgID, timestamp=base.timestamp, source_id=base.sourceID)


def _ids(pks: pa.Array) -> schema_pb2.IDs:
    if pa.types.is_integer(pks.type):
        return schema_pb2.IDs(int_id=schema_pb2.LongArray(data=pks.to_pylist()))
    return schema_pb2.IDs(str_id=schema_pb2.StringArray(data=pks.to_pylist()))


def _pks(ids: schema_pb2.IDs) -> pa.Array:
    if ids.WhichOneof("id_field") == "str_id":
        return pa.array(list(ids.str_id.data), type=pa.string())
    return pa.array(list(ids.int_id.data), type=pa.int64())
