"""Segment and delta files: one Parquet file each, zstd-compressed.

Float vectors are stored as ``fixed_size_binary`` of their raw little-endian
float32 bytes and turned back into ``fixed_size_list<float32>`` on read.
Measured on 100k x 128 vectors (pyarrow 26): the binary form reads in ~0.06 s
against ~0.4 s for Parquet's nested list encoding, at the same size, and the
bytes round-trip exactly. Dictionary encoding and statistics are turned off
for vector columns, where they only cost time.
"""

from __future__ import annotations

import io
import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from elanus.columns import TS_COLUMN
from elanus.deletes import ALL_PARTITIONS, Deletes

PK_COLUMN = "pk"
PARTITION_COLUMN = "partition"

_COMPRESSION = "zstd"
_FLOAT_VECTORS_KEY = b"elanus.float_vectors"


def write_segment(table: pa.Table) -> bytes:
    """A segment's rows as Parquet bytes; ``table`` must have a uint64 ``_ts`` column."""
    if TS_COLUMN not in table.column_names:
        raise ValueError(f"a segment table needs its {TS_COLUMN!r} column")
    if table.schema.field(TS_COLUMN).type != pa.uint64():
        raise ValueError(f"{TS_COLUMN!r} must be uint64, got {table.schema.field(TS_COLUMN).type}")
    float_vectors: dict[str, int] = {}
    columns: list[pa.ChunkedArray] = []
    fields: list[pa.Field] = []
    for field, column in zip(table.schema, table.columns, strict=True):
        if _is_float_vector(field.type):
            dim = field.type.list_size
            float_vectors[field.name] = dim
            column = pa.chunked_array([_floats_to_binary(c, dim) for c in column.chunks])
            field = pa.field(field.name, pa.binary(dim * 4), field.nullable, field.metadata)
        columns.append(column)
        fields.append(field)
    metadata = dict(table.schema.metadata or {})
    metadata[_FLOAT_VECTORS_KEY] = json.dumps(float_vectors).encode()
    stored = pa.Table.from_arrays(columns, schema=pa.schema(fields, metadata=metadata))
    plain = [f.name for f in fields if f.name not in float_vectors]
    return _to_parquet(stored, plain_columns=plain)


def read_segment(data: bytes) -> pa.Table:
    """The table written by :func:`write_segment`, float vectors as fixed-size lists again."""
    stored = pq.read_table(io.BytesIO(data))
    metadata = dict(stored.schema.metadata or {})
    float_vectors = json.loads(metadata.pop(_FLOAT_VECTORS_KEY, b"{}"))
    columns: list[pa.ChunkedArray] = []
    fields: list[pa.Field] = []
    for field, column in zip(stored.schema, stored.columns, strict=True):
        if field.name in float_vectors:
            dim = float_vectors[field.name]
            column = pa.chunked_array(
                [_binary_to_floats(c, dim) for c in column.chunks], type=pa.list_(pa.float32(), dim)
            )
            field = pa.field(field.name, column.type, field.nullable, field.metadata)
        columns.append(column)
        fields.append(field)
    return pa.Table.from_arrays(columns, schema=pa.schema(fields, metadata=metadata or None))


def write_deltas(deletes: Deletes) -> bytes:
    """Delete records as Parquet columns ``pk``, ``ts`` and ``partition`` (0: every partition)."""
    table = pa.table(
        {
            PK_COLUMN: deletes.pks,
            "ts": pa.array(deletes.timestamps, type=pa.uint64()),
            PARTITION_COLUMN: pa.array(deletes.partitions, type=pa.int64()),
        }
    )
    return _to_parquet(table, plain_columns=[PK_COLUMN, "ts", PARTITION_COLUMN])


def read_deltas(data: bytes) -> Deletes:
    """The records of :func:`write_deltas`. Files written before deletes carried their
    partition have no ``partition`` column; their deletes hit every partition, as they did."""
    table = pq.read_table(io.BytesIO(data))
    pks = table.column(PK_COLUMN).combine_chunks()
    ts = table.column("ts").combine_chunks().to_numpy(zero_copy_only=False).astype(np.uint64)
    if PARTITION_COLUMN in table.column_names:
        column = table.column(PARTITION_COLUMN).combine_chunks()
        partitions = column.to_numpy(zero_copy_only=False).astype(np.int64)
    else:
        partitions = np.full(len(pks), ALL_PARTITIONS, dtype=np.int64)
    return Deletes(pks, ts, partitions)


def _to_parquet(table: pa.Table, plain_columns: list[str]) -> bytes:
    sink = io.BytesIO()
    pq.write_table(
        table,
        sink,
        compression=_COMPRESSION,
        use_dictionary=plain_columns,
        write_statistics=plain_columns,
    )
    return sink.getvalue()


def _is_float_vector(arrow_type: pa.DataType) -> bool:
    return bool(pa.types.is_fixed_size_list(arrow_type) and arrow_type.value_type == pa.float32())


def _floats_to_binary(chunk: pa.FixedSizeListArray, dim: int) -> pa.Array:
    """Reinterpret each list of ``dim`` float32 as ``dim * 4`` bytes; nulls stay null."""
    start = chunk.offset * dim
    values = chunk.values.slice(start, len(chunk) * dim)
    floats = values.to_numpy(zero_copy_only=False).astype("<f4", copy=False)
    return pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(dim * 4),
        len(chunk),
        [_validity(chunk), pa.py_buffer(np.ascontiguousarray(floats).tobytes())],
        null_count=chunk.null_count,
    )


def _binary_to_floats(chunk: pa.FixedSizeBinaryArray, dim: int) -> pa.Array:
    data = np.frombuffer(chunk.buffers()[1], dtype="<f4")
    floats = data[chunk.offset * dim : (chunk.offset + len(chunk)) * dim]
    values = pa.array(floats.astype(np.float32, copy=False), type=pa.float32())
    return pa.FixedSizeListArray.from_buffers(
        pa.list_(pa.float32(), dim),
        len(chunk),
        [_validity(chunk)],
        null_count=chunk.null_count,
        children=[values],
    )


def _validity(chunk: pa.Array) -> pa.Buffer | None:
    """A validity bitmap starting at the chunk's first row (None when nothing is null)."""
    if chunk.null_count == 0:
        return None
    valid = chunk.is_valid().to_numpy(zero_copy_only=False)
    return pa.py_buffer(np.packbits(valid, bitorder="little").tobytes())
