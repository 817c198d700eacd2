"""Arrow columns <-> numpy, for the columns that FAISS and the filters consume.

Vectors travel and rest as Arrow fixed-size lists (float) or fixed-size
binaries (packed bits); FAISS wants contiguous 2-D numpy arrays. These
conversions are zero-copy where Arrow allows it.

Half-precision vectors keep the client's exact 2-byte values on channels and in
segment files, so a query returns them bit for bit; they become float32 only
for FAISS. FLOAT16 rests as a fixed-size list of Arrow halffloats and BFLOAT16
(which Arrow has no type for) as fixed-size binaries of ``dim * 2`` bytes: the
two layouts differ, so a reader that has only the column (the index builder)
still knows which conversion applies.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from elanus.schema import CollectionSchema, DataType, FieldSchema

TS_COLUMN = "_ts"  # the system column with each row's insert timestamp, beside the fields
HALF_WIDTH = 2  # bytes per dimension of FLOAT16 and BFLOAT16 vectors


def oldest_row_ts(table: pa.Table) -> int:
    """The smallest insert timestamp of ``table``'s rows (its ``_ts`` column); 0 if empty."""
    if table.num_rows == 0:
        return 0
    oldest = pc.min(table.column(TS_COLUMN)).as_py()
    return int(oldest) if oldest is not None else 0


def half_to_float32(bits: np.ndarray, data_type: DataType) -> np.ndarray:
    """float32 values of raw 2-byte floats (any shape of uint16 bits or float16).

    Both conversions are exact: every fp16 and every bf16 value is a float32.
    bf16 is the upper half of a float32, so a 16-bit shift rebuilds it.
    """
    raw = np.ascontiguousarray(bits).view(np.uint16)
    if data_type is DataType.FLOAT16_VECTOR:
        return raw.view(np.float16).astype(np.float32)
    if data_type is DataType.BFLOAT16_VECTOR:
        result: np.ndarray = (raw.astype(np.uint32) << np.uint32(16)).view(np.float32)
        return result
    raise ValueError(f"{data_type.name} is not a half-precision vector type")


def half_bits(column: pa.Array | pa.ChunkedArray, field: FieldSchema) -> np.ndarray:
    """The stored 2-byte values of a half vector column as uint16 (rows, dim), unconverted."""
    column = _single_chunk(column)
    rows = len(column)
    if pa.types.is_fixed_size_list(column.type):
        values = column.flatten()
        start, count = values.offset, len(values)
        buffer = values.buffers()[1]
    elif pa.types.is_fixed_size_binary(column.type):
        width = column.type.byte_width // HALF_WIDTH
        start, count = column.offset * width, rows * width
        buffer = column.buffers()[1]
    else:
        raise ValueError(f"field {field.name!r}: {column.type} is not a half vector column")
    if count != rows * field.dim:
        raise ValueError(f"field {field.name!r}: {count} values for {rows} rows of dim {field.dim}")
    if buffer is None:
        return np.empty((0, field.dim), dtype=np.uint16)
    flat = np.frombuffer(buffer, dtype=np.uint16)[start : start + count]
    return flat.reshape(rows, field.dim)


def vectors_from_column(column: pa.Array | pa.ChunkedArray, field: FieldSchema) -> np.ndarray:
    """(rows, dim) float32 for float and half vectors, (rows, dim/8) uint8 for binary vectors."""
    column = _single_chunk(column)
    if field.data_type.is_half_vector:
        return half_to_float32(half_bits(column, field), field.data_type)
    if field.data_type is DataType.BINARY_VECTOR:
        width = field.dim // 8
        if pa.types.is_fixed_size_binary(column.type):
            buffer = column.buffers()[1]
            start = column.offset * width
            flat = np.frombuffer(buffer, dtype=np.uint8)[start : start + len(column) * width]
            return flat.reshape(len(column), width)
        return np.array([np.frombuffer(v, dtype=np.uint8) for v in column.to_pylist()]).reshape(
            len(column), width
        )
    values = column.flatten() if pa.types.is_fixed_size_list(column.type) else column
    flat = values.to_numpy(zero_copy_only=False).astype(np.float32, copy=False)
    result: np.ndarray = flat.reshape(len(column), field.dim)
    return result


def vector_column(vectors: np.ndarray, field: FieldSchema) -> pa.Array:
    """The Arrow column for a (rows, dim) array, as stored in segments and on channels.

    Half vectors take their raw 2-byte values (uint16 bits, or float16 for FLOAT16).
    """
    if field.data_type.is_half_vector:
        if np.dtype(vectors.dtype).itemsize != HALF_WIDTH:
            raise ValueError(f"field {field.name!r} takes 2-byte values, not {vectors.dtype}")
        raw = np.ascontiguousarray(vectors).tobytes()
        return half_vector_array(raw, field, len(raw) // (HALF_WIDTH * field.dim))
    if field.data_type is DataType.BINARY_VECTOR:
        data = np.ascontiguousarray(vectors, dtype=np.uint8)
        width = field.dim // 8
        return pa.FixedSizeBinaryArray.from_buffers(
            pa.binary(width), len(data), [None, pa.py_buffer(data.tobytes())]
        )
    floats = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1)
    return pa.FixedSizeListArray.from_arrays(pa.array(floats, type=pa.float32()), field.dim)


def half_vector_array(raw: bytes, field: FieldSchema, rows: int) -> pa.Array:
    """The column of ``rows`` half vectors given as their concatenated 2-byte values."""
    if len(raw) != rows * field.dim * HALF_WIDTH:
        raise ValueError(
            f"field {field.name!r}: {len(raw)} bytes are not {rows} vectors of dim {field.dim}"
        )
    buffer = pa.py_buffer(raw)
    if field.data_type is DataType.FLOAT16_VECTOR:
        values = pa.Array.from_buffers(pa.float16(), rows * field.dim, [None, buffer])
        return pa.FixedSizeListArray.from_arrays(values, field.dim)
    return pa.Array.from_buffers(arrow_type(field), rows, [None, buffer])


def half_vector_bytes(column: pa.Array | pa.ChunkedArray, field: FieldSchema) -> bytes:
    """The concatenated 2-byte values of a half vector column, exactly as they were sent."""
    return half_bits(column, field).tobytes()


def _single_chunk(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(column, pa.ChunkedArray):
        return column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    return column


_SCALAR_TYPES: dict[DataType, pa.DataType] = {
    DataType.BOOL: pa.bool_(),
    DataType.INT8: pa.int8(),
    DataType.INT16: pa.int16(),
    DataType.INT32: pa.int32(),
    DataType.INT64: pa.int64(),
    DataType.FLOAT: pa.float32(),
    DataType.DOUBLE: pa.float64(),
    DataType.VARCHAR: pa.string(),
    DataType.STRING: pa.string(),
    DataType.JSON: pa.string(),
}


def arrow_type(field: FieldSchema) -> pa.DataType:
    """The Arrow type a field's column has on channels, in segments and in filters."""
    if field.data_type is DataType.FLOAT_VECTOR:
        return pa.list_(pa.float32(), field.dim)
    if field.data_type is DataType.BINARY_VECTOR:
        return pa.binary(field.dim // 8)
    if field.data_type is DataType.FLOAT16_VECTOR:
        return pa.list_(pa.float16(), field.dim)
    if field.data_type is DataType.BFLOAT16_VECTOR:
        return pa.binary(field.dim * HALF_WIDTH)
    if field.data_type is DataType.ARRAY:
        element = _SCALAR_TYPES.get(field.element_type)
        if element is None or field.element_type is DataType.JSON:
            raise ValueError(
                f"array field {field.name!r} has unsupported elements {field.element_type.name}"
            )
        return pa.list_(element)
    try:
        return _SCALAR_TYPES[field.data_type]
    except KeyError:
        raise ValueError(
            f"field {field.name!r} has unsupported type {field.data_type.name}"
        ) from None


def arrow_schema(schema: CollectionSchema) -> pa.Schema:
    return pa.schema(
        [
            pa.field(f.name, arrow_type(f), nullable=f.nullable or f.is_dynamic)
            for f in schema.fields
        ]
    )


def missing_column(field: FieldSchema, rows: int) -> pa.Array:
    """The column of ``rows`` rows that carry no value for ``field``: its default value
    where it has one, else nulls. Raises ValueError for a field that needs a value."""
    if field.default_value is not None:
        return pa.array([field.default_value] * rows, arrow_type(field))
    if field.nullable or field.is_dynamic:
        return pa.nulls(rows, arrow_type(field))
    raise ValueError(f"field {field.name!r} is missing and has no default value")


def fill_missing(table: pa.Table, schema: CollectionSchema) -> pa.Table:
    """``table`` with a column for every field of ``schema`` it lacks (see missing_column).

    Rows written before a field was added (AddCollectionField), on a channel or in a
    segment file, have no column for it; they read as its default value or null.
    """
    present = set(table.column_names)
    for f in schema.fields:
        if f.name not in present:
            table = table.append_column(
                pa.field(f.name, arrow_type(f), nullable=True), missing_column(f, table.num_rows)
            )
    return table


def conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """``table`` with exactly the columns, order, types and nullability of ``schema``.

    Raises (KeyError, pyarrow.ArrowInvalid, ...) when it cannot: a batch that does
    not fit the collection's schema must be refused where it arrives, not break
    a concatenation later.
    """
    return table.select(schema.names).cast(schema)
