"""Result rows (Arrow) -> ``FieldData`` columns for query and search answers.

Unlike insert data, a result column has a value slot for every row (nulls
are filled and flagged in ``valid_data``), its ``oneof`` is set even when
empty, and vectors carry a non-zero ``dim``: pymilvus counts rows from them.
An ARRAY column is one ``ScalarField`` per row, and ``array_data`` names the
element type, which pymilvus decodes by.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from elanus.columns import half_vector_bytes
from elanus.errors import FieldNotFound, InternalError
from elanus.schema import DYNAMIC_FIELD_NAME, CollectionSchema, DataType, FieldSchema
from proto.public import schema_pb2
from proxy.convert._schemas import NAME_PATTERN
from proxy.convert._wire import SCALAR_SLOT

__all__ = ["field_data_from_table", "output_columns", "resolve_output_fields"]


def resolve_output_fields(schema: CollectionSchema, requested: Sequence[str]) -> list[str]:
    """Expand "*" and check names: fields of the schema, "$meta", or dynamic keys.

    The answer keeps the request's order without duplicates; it is what both
    :func:`field_data_from_table` and the response's ``output_fields`` take.
    """
    resolved: list[str] = []
    for name in requested:
        name = name.strip()
        expansion = [f.name for f in schema.fields] if name == "*" else [name]
        for item in expansion:
            if item in resolved:
                continue
            if schema.field(item) is None and schema.dynamic_field is None:
                raise FieldNotFound(f"field '{item}' does not exist in collection '{schema.name}'")
            if item != DYNAMIC_FIELD_NAME and schema.field(item) is None:
                _check_dynamic_key(item)
            resolved.append(item)
    return resolved


def _check_dynamic_key(name: str) -> None:
    if not name or not NAME_PATTERN.fullmatch(name):
        raise FieldNotFound(f"'{name}' is neither a field nor a valid dynamic field key")


def output_columns(schema: CollectionSchema, output_fields: Sequence[str]) -> list[str]:
    """The stored columns needed to answer ``output_fields`` (dynamic keys need "$meta")."""
    columns: list[str] = []
    for name in output_fields:
        column = name if schema.field(name) is not None else DYNAMIC_FIELD_NAME
        if column not in columns:
            columns.append(column)
    return columns


def field_data_from_table(
    table: pa.Table | pa.RecordBatch, schema: CollectionSchema, output_fields: Sequence[str]
) -> list[schema_pb2.FieldData]:
    """Result columns in Milvus's layout, one FieldData per requested field.

    Dynamic keys requested by name come back inside one ``$meta`` column that
    holds only those keys; requesting "$meta" itself returns whole objects.
    """
    result: list[schema_pb2.FieldData] = []
    dynamic_keys: list[str] = []
    whole_meta = DYNAMIC_FIELD_NAME in output_fields
    meta_position: int | None = None
    for name in output_fields:
        f = schema.field(name)
        if f is None or f.is_dynamic:
            if schema.dynamic_field is None:
                raise FieldNotFound(f"field '{name}' does not exist in collection '{schema.name}'")
            if f is None:
                dynamic_keys.append(name)
            if meta_position is None:
                meta_position = len(result)
                result.append(schema_pb2.FieldData())  # filled below
            continue
        result.append(_field_data(_column(table, name), f))
    if meta_position is not None:
        meta = schema.dynamic_field
        assert meta is not None
        column = _column(table, DYNAMIC_FIELD_NAME)
        if not whole_meta:
            column = pa.array(_filter_json_keys(column, dynamic_keys), pa.string())
        result[meta_position] = _field_data(column, meta)
    return result


def _column(table: pa.Table | pa.RecordBatch, name: str) -> pa.Array:
    if name not in table.column_names:
        raise InternalError(f"the result rows lack the column '{name}'")
    column = table.column(name)
    return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column


def _filter_json_keys(column: pa.Array, keys: Sequence[str]) -> list[str]:
    filtered = []
    for text in column.to_pylist():
        document = json.loads(text) if text else {}
        filtered.append(json.dumps({k: document[k] for k in keys if k in document}))
    return filtered


def _field_data(column: pa.Array, f: FieldSchema) -> schema_pb2.FieldData:
    fd = schema_pb2.FieldData(
        type=schema_pb2.DataType.ValueType(f.data_type),
        field_name=f.name,
        field_id=f.field_id,
        is_dynamic=f.is_dynamic,
    )
    if f.data_type == DataType.FLOAT_VECTOR:
        fd.vectors.dim = f.dim
        flat = column.flatten().to_numpy(zero_copy_only=False)
        fd.vectors.float_vector.data.extend(flat.tolist())
        return fd
    if f.data_type == DataType.BINARY_VECTOR:
        fd.vectors.dim = f.dim
        width = f.dim // 8
        data = column.buffers()[1]
        fd.vectors.binary_vector = data.to_pybytes()[
            column.offset * width : (column.offset + len(column)) * width
        ]
        return fd
    if f.data_type.is_half_vector:
        fd.vectors.dim = f.dim
        slot = "float16_vector" if f.data_type == DataType.FLOAT16_VECTOR else "bfloat16_vector"
        setattr(fd.vectors, slot, half_vector_bytes(column, f))
        return fd
    if f.data_type == DataType.ARRAY:
        _fill_arrays(fd, column, f)
        return fd
    if column.null_count:
        fd.valid_data.extend(column.is_valid().to_pylist())
        column = column.fill_null(_FILL[f.data_type])
    slot = getattr(fd.scalars, SCALAR_SLOT[f.data_type])
    slot.SetInParent()
    if f.data_type == DataType.JSON:
        slot.data.extend(text.encode("utf-8") for text in column.to_pylist())
    elif f.data_type == DataType.VARCHAR:
        slot.data.extend(column.to_pylist())
    else:
        slot.data.extend(column.to_numpy(zero_copy_only=False).tolist())
    return fd


def _fill_arrays(fd: schema_pb2.FieldData, column: pa.Array, f: FieldSchema) -> None:
    """One ScalarField per row; a null row gets an empty one and a False flag."""
    arrays = fd.scalars.array_data
    arrays.SetInParent()
    arrays.element_type = schema_pb2.DataType.ValueType(f.element_type)
    if column.null_count:
        fd.valid_data.extend(column.is_valid().to_pylist())
    element_slot = SCALAR_SLOT[f.element_type]
    for row in column.to_pylist():
        cell = arrays.data.add()
        getattr(cell, element_slot).SetInParent()
        if row:
            getattr(cell, element_slot).data.extend(row)


_FILL: dict[DataType, Any] = {
    DataType.BOOL: False,
    DataType.INT8: 0,
    DataType.INT16: 0,
    DataType.INT32: 0,
    DataType.INT64: 0,
    DataType.FLOAT: 0.0,
    DataType.DOUBLE: 0.0,
    DataType.VARCHAR: "",
    DataType.JSON: "null",
}
