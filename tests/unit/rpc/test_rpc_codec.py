"""Every value that crosses between roles comes back equal, field for field, type for type."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from google.protobuf.message import Message
from rpc_samples import field_defaults, same, sample, sample_table

from elanus import meta
from elanus.meta import (
    ChannelCheckpoint,
    ChannelSnapshot,
    CollectionInfo,
    DeltaLog,
    IndexBuildTask,
    IndexInfo,
    SegmentInfo,
)
from elanus.requests import QueryRequest, QueryResult, SearchRequest, SearchResult
from elanus.rpc import codec
from elanus.schema import CollectionSchema
from elanus.services import CollectionStats, FlushResult, IndexProgress, LoadProgress
from proto.internal import roles_pb2 as pb

# dataclass, its message, encoder, decoder
MESSAGES: list[tuple[type, type[Message], Callable[[Any], Any], Callable[[Any], Any]]] = [
    (SearchRequest, pb.SearchRequest, codec.search_request_to_pb, codec.search_request_from_pb),
    (SearchResult, pb.SearchResult, codec.search_result_to_pb, codec.search_result_from_pb),
    (QueryRequest, pb.QueryRequest, codec.query_request_to_pb, codec.query_request_from_pb),
    (QueryResult, pb.QueryResult, codec.query_result_to_pb, codec.query_result_from_pb),
    (ChannelSnapshot, pb.ChannelSnapshot, codec.snapshot_to_pb, codec.snapshot_from_pb),
    (IndexBuildTask, pb.IndexBuildTask, codec.build_task_to_pb, codec.build_task_from_pb),
    (FlushResult, pb.FlushResult, codec.flush_result_to_pb, codec.flush_result_from_pb),
    (IndexProgress, pb.IndexProgress, codec.index_progress_to_pb, codec.index_progress_from_pb),
    (LoadProgress, pb.LoadProgress, codec.load_progress_to_pb, codec.load_progress_from_pb),
    (
        CollectionStats,
        pb.CollectionStats,
        codec.collection_stats_to_pb,
        codec.collection_stats_from_pb,
    ),
]

# Metadata values that travel as their KV JSON, and how the codec reads them back.
JSON_VALUES: list[tuple[type, Callable[[bytes], Any]]] = [
    (CollectionInfo, codec.collection_from_json),
    (SegmentInfo, codec.segment_from_json),
    (IndexInfo, codec.index_from_json),
    (DeltaLog, codec.delta_log_from_json),
    (ChannelCheckpoint, codec.checkpoint_from_json),
    (CollectionSchema, codec.schema_from_json),
]

WIRE_SUFFIXES = ("", "_json", "_ipc")


def _over_the_wire(
    value: Any, message_type: type[Message], encode: Callable, decode: Callable
) -> Any:
    data = encode(value).SerializeToString()
    return decode(message_type.FromString(data))


def _ids(entries: list[tuple]) -> list[str]:
    return [entry[0].__name__ for entry in entries]


@pytest.mark.parametrize(("kind", "message_type", "encode", "decode"), MESSAGES, ids=_ids(MESSAGES))
def test_every_field_survives_the_round_trip(
    kind: type, message_type: type[Message], encode: Callable, decode: Callable
) -> None:
    """A field added to the dataclass and not carried fails here: the sample sets every field
    to a non-default value, and a field of a new type has no sample until one is written."""
    original = sample(kind)
    for name, default in field_defaults(kind).items():
        assert not same(getattr(original, name), default), f"sample of {name} is its default"
    decoded = _over_the_wire(original, message_type, encode, decode)
    for f in dataclasses.fields(kind):
        assert same(getattr(decoded, f.name), getattr(original, f.name)), (
            f"{kind.__name__}.{f.name}"
        )


@pytest.mark.parametrize(("kind", "message_type", "encode", "decode"), MESSAGES, ids=_ids(MESSAGES))
def test_every_field_has_its_own_proto_field(
    kind: type, message_type: type[Message], encode: Callable, decode: Callable
) -> None:
    """Dataclass and message name the same fields (a proto field may add _json or _ipc)."""
    proto_fields = set(message_type.DESCRIPTOR.fields_by_name)
    carried = set()
    for f in dataclasses.fields(kind):
        names = {f.name + suffix for suffix in WIRE_SUFFIXES} & proto_fields
        assert names, f"{kind.__name__}.{f.name} has no field in {message_type.__name__}"
        carried |= names
    assert proto_fields == carried, f"{message_type.__name__} fields with no dataclass field"


@pytest.mark.parametrize(("kind", "decode"), JSON_VALUES, ids=_ids(JSON_VALUES))
def test_metadata_json_round_trip(kind: type, decode: Callable[[bytes], Any]) -> None:
    original = sample(kind)
    decoded = decode(meta.to_json(original))
    assert same(decoded, original)


def test_query_limit_none_and_zero_stay_apart() -> None:
    unlimited = dataclasses.replace(sample(QueryRequest), limit=None)
    zero = dataclasses.replace(unlimited, limit=0)
    for request in (unlimited, zero):
        back = _over_the_wire(
            request, pb.QueryRequest, codec.query_request_to_pb, codec.query_request_from_pb
        )
        assert back.limit == request.limit and type(back.limit) is type(request.limit)


@pytest.mark.parametrize(
    "array",
    [
        np.arange(12, dtype=np.float32).reshape(3, 4),
        np.arange(16, dtype=np.uint8).reshape(2, 8),  # binary vectors
        np.array([3, -1, 2**62], dtype=np.int64),
        np.empty((0, 8), dtype=np.float32),
        np.arange(4, dtype=">f4"),  # byte order is part of the dtype
        np.arange(20, dtype=np.float64).reshape(4, 5)[:, 1:3],  # not contiguous
        np.array(1.5, dtype=np.float32),  # zero-dimensional
    ],
    ids=["f32", "u8", "i64", "empty", "big-endian", "strided", "scalar"],
)
def test_tensor_round_trip(array: np.ndarray) -> None:
    back = codec.tensor_from_pb(pb.Tensor.FromString(codec.tensor_to_pb(array).SerializeToString()))
    assert same(back, array)
    back[...] = 0  # a decoded array is the caller's to change, as a local one would be


def test_object_arrays_are_refused() -> None:
    with pytest.raises(TypeError, match="object"):
        codec.tensor_to_pb(np.array(["a", None], dtype=object))


@pytest.mark.parametrize(
    "array",
    [
        pa.array([], type=pa.int64()),
        pa.array(["a", "bb", None], type=pa.string()),
        pa.chunked_array([[1, 2], [3]], type=pa.int64()).combine_chunks(),
    ],
    ids=["empty", "varchar", "combined"],
)
def test_arrow_array_round_trip(array: pa.Array) -> None:
    assert same(codec.arrow_array_from_ipc(codec.arrow_array_to_ipc(array)), array)


def test_arrow_tables_keep_rows_without_columns_and_their_schema() -> None:
    no_columns = sample_table().select([])
    back = codec.arrow_table_from_ipc(codec.arrow_table_to_ipc(no_columns))
    assert back.num_rows == 3 and back.num_columns == 0
    empty = sample_table().schema.empty_table()
    assert same(codec.arrow_table_from_ipc(codec.arrow_table_to_ipc(empty)), empty)
    chunked = pa.concat_tables([sample_table(1), sample_table(9)])
    assert same(codec.arrow_table_from_ipc(codec.arrow_table_to_ipc(chunked)), chunked)


def test_empty_search_result_round_trip() -> None:
    empty = SearchResult.empty(2, pa.string(), sample_table().schema)
    back = _over_the_wire(
        empty, pb.SearchResult, codec.search_result_to_pb, codec.search_result_from_pb
    )
    assert same(back, empty) and back.num_hits == 0
