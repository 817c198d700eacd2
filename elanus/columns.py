"""Arrow columns <-> numpy, for the columns that FAISS and the filters consume.

Vectors travel and rest as Arrow fixed-size lists (float) or fixed-size
binaries (packed bits); FAISS wants contiguous 2-D numpy arrays. These
conversions are zero-copy where Arrow allows it.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from elanus.schema import CollectionSchema, DataType, FieldSchema


def vectors_from_column(column: pa.Array | pa.ChunkedArray, field: FieldSchema) -> np.ndarray:
    """(rows, dim) float32 for float vectors, (rows, dim/8) uint8 for binary vectors."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
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
    return flat.reshape(len(column), field.dim)


def vector_column(vectors: np.ndarray, field: FieldSchema) -> pa.Array:
    """The Arrow column for a (rows, dim) array, as stored in segments and on channels."""
    if field.data_type is DataType.BINARY_VECTOR:
        data = np.ascontiguousarray(vectors, dtype=np.uint8)
        width = field.dim // 8
        return pa.FixedSizeBinaryArray.from_buffers(
            pa.binary(width), len(data), [None, pa.py_buffer(data.tobytes())]
        )
    data = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1)
    return pa.FixedSizeListArray.from_arrays(pa.array(data, type=pa.float32()), field.dim)


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


def conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """``table`` with exactly the columns, order, types and nullability of ``schema``.

    Raises (KeyError, pyarrow.ArrowInvalid, ...) when it cannot: a batch that does
    not fit the collection's schema must be refused where it arrives, not break
    a concatenation later.
    """
    return table.select(schema.names).cast(schema)
