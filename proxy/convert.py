"""The one place where protobuf messages become domain values and back.

The proxy's servicer calls these functions and nothing else touches the wire
types. Row data inside Elanus is columnar Arrow (see :func:`arrow_schema`); the
wire carries :class:`FieldData` columns in Milvus's layout, which pymilvus
encodes and decodes as follows (read from its ``entity_helper``/``prepare``):

* INT8/INT16/INT32 travel as ``int_data``, INT64 as ``long_data``; vectors are
  flattened rows with ``vectors.dim`` set; JSON is one UTF-8 document per row.
* Dynamic keys travel in one JSON column named ``$meta`` with ``is_dynamic``.
* On insert, a nullable column lists only its valid values and ``valid_data``
  says which rows they belong to; in results every row has a value slot.
* A result column must have its ``oneof`` set even when empty, and vectors a
  non-zero ``dim``, or pymilvus cannot count its rows.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pyarrow as pa

from elanus.errors import (
    DataInvalid,
    ElanusError,
    FieldNotFound,
    IllegalSchema,
    InternalError,
    ParameterInvalid,
)
from elanus.schema import (
    DYNAMIC_FIELD_NAME,
    INTEGER_RANGES,
    SUPPORTED_FIELD_TYPES,
    CollectionSchema,
    DataType,
    FieldSchema,
)
from proto.public import common_pb2, schema_pb2

__all__ = [
    "MAX_NAME_LENGTH",
    "MAX_VARCHAR_LENGTH",
    "MAX_VECTOR_DIM",
    "arrow_schema",
    "field_data_from_table",
    "ids_from_proto",
    "ids_to_proto",
    "kv_pairs_to_dict",
    "output_columns",
    "resolve_output_fields",
    "schema_from_proto",
    "schema_to_proto",
    "status",
    "table_from_field_data",
    "validate_new_schema",
    "vectors_from_placeholder_group",
    "with_primary_keys",
]

MAX_NAME_LENGTH = 255
MAX_VARCHAR_LENGTH = 65535
MAX_VECTOR_DIM = 32768
_NAME_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

_SCALAR_SLOT = {
    DataType.BOOL: "bool_data",
    DataType.INT8: "int_data",
    DataType.INT16: "int_data",
    DataType.INT32: "int_data",
    DataType.INT64: "long_data",
    DataType.FLOAT: "float_data",
    DataType.DOUBLE: "double_data",
    DataType.VARCHAR: "string_data",
    DataType.JSON: "json_data",
}
_NUMPY_TYPE = {
    DataType.BOOL: np.bool_,
    DataType.INT8: np.int8,
    DataType.INT16: np.int16,
    DataType.INT32: np.int32,
    DataType.INT64: np.int64,
    DataType.FLOAT: np.float32,
    DataType.DOUBLE: np.float64,
}


def type_name(data_type: int) -> str:
    """Milvus's spelling of a data type ("FloatVector"), for messages users read."""
    try:
        return schema_pb2.DataType.Name(data_type)
    except ValueError:
        return f"DataType({data_type})"


# ---- schemas ----------------------------------------------------------------------------------


def arrow_schema(schema: CollectionSchema) -> pa.Schema:
    """The Arrow layout of a collection's rows on channels and in segments."""
    return pa.schema([pa.field(f.name, _arrow_type(f), nullable=f.nullable) for f in schema.fields])


def _arrow_type(f: FieldSchema) -> pa.DataType:
    if f.data_type == DataType.FLOAT_VECTOR:
        return pa.list_(pa.float32(), f.dim)
    if f.data_type == DataType.BINARY_VECTOR:
        return pa.binary(f.dim // 8)
    if f.data_type in (DataType.VARCHAR, DataType.JSON):
        return pa.string()
    if f.data_type in _NUMPY_TYPE:
        return pa.from_numpy_dtype(_NUMPY_TYPE[f.data_type])
    raise IllegalSchema(f"field '{f.name}' has the unsupported type {type_name(f.data_type)}")


def schema_from_proto(pb: schema_pb2.CollectionSchema) -> CollectionSchema:
    """Read a CreateCollection schema; refuse what Elanus cannot honour rather than drop it."""
    if pb.functions:
        raise IllegalSchema("functions in a collection schema are not supported")
    if pb.struct_array_fields:
        raise IllegalSchema("struct array fields are not supported")
    fields = []
    for f in pb.fields:
        if f.HasField("default_value"):
            raise IllegalSchema(f"default values are not supported (field '{f.name}')")
        if f.is_function_output:
            raise IllegalSchema(f"function output fields are not supported (field '{f.name}')")
        if f.data_type not in DataType._value2member_map_:
            raise IllegalSchema(
                f"field '{f.name}' has the unsupported type {type_name(f.data_type)}"
            )
        fields.append(
            FieldSchema(
                name=f.name,
                data_type=DataType(f.data_type),
                field_id=f.fieldID,
                is_primary=f.is_primary_key,
                # Older clients mark auto_id on the collection instead of the field.
                auto_id=f.autoID or (pb.autoID and f.is_primary_key),
                description=f.description,
                type_params=kv_pairs_to_dict(f.type_params),
                is_dynamic=f.is_dynamic,
                is_partition_key=f.is_partition_key,
                nullable=f.nullable,
            )
        )
    return CollectionSchema(
        name=pb.name,
        fields=tuple(fields),
        description=pb.description,
        enable_dynamic_field=pb.enable_dynamic_field,
    )


def schema_to_proto(
    schema: CollectionSchema, *, include_dynamic_field: bool = False
) -> schema_pb2.CollectionSchema:
    """The schema as DescribeCollection answers it.

    Like Milvus, the internal ``$meta`` field is left out unless asked for:
    pymilvus treats every listed field as an insert column and would demand it.
    """
    pb = schema_pb2.CollectionSchema(
        name=schema.name,
        description=schema.description,
        enable_dynamic_field=schema.enable_dynamic_field,
        autoID=any(f.auto_id for f in schema.fields),
    )
    for f in schema.fields:
        if f.is_dynamic and not include_dynamic_field:
            continue
        pb.fields.append(
            schema_pb2.FieldSchema(
                fieldID=f.field_id,
                name=f.name,
                is_primary_key=f.is_primary,
                description=f.description,
                data_type=int(f.data_type),
                type_params=[
                    common_pb2.KeyValuePair(key=k, value=v) for k, v in f.type_params.items()
                ],
                autoID=f.auto_id,
                is_dynamic=f.is_dynamic,
                is_partition_key=f.is_partition_key,
                nullable=f.nullable,
            )
        )
    return pb


def validate_partition_name(name: str) -> None:
    _check_name("partition", name)


def _check_name(kind: str, name: str) -> None:
    if not name:
        raise ParameterInvalid(f"the {kind} name must not be empty")
    if len(name) > MAX_NAME_LENGTH:
        raise ParameterInvalid(
            f"the {kind} name '{name[:40]}...' is longer than {MAX_NAME_LENGTH} characters"
        )
    if not _NAME_PATTERN.fullmatch(name):
        raise ParameterInvalid(
            f"the {kind} name '{name}' is invalid: it must start with a letter or underscore "
            "and contain only letters, digits and underscores"
        )


def _positive_int_param(f: FieldSchema, key: str) -> int:
    raw = f.type_params.get(key)
    if raw is None:
        raise IllegalSchema(f"field '{f.name}' ({type_name(f.data_type)}) needs the param {key}")
    try:
        value = int(str(raw).strip().strip('"'))
    except ValueError:
        raise IllegalSchema(f"the {key} of field '{f.name}' is not an integer: {raw!r}") from None
    if value <= 0:
        raise IllegalSchema(f"the {key} of field '{f.name}' must be positive, got {value}")
    return value


def validate_new_schema(schema: CollectionSchema) -> CollectionSchema:
    """Apply Milvus's CreateCollection rules; return the schema as it will be stored.

    The result has normalised ``dim``/``max_length`` params, the ``$meta`` field
    when the dynamic field is enabled, and field ids from 100 in order.
    """
    _check_name("collection", schema.name)
    if not schema.fields:
        raise IllegalSchema("the schema has no fields")
    seen: set[str] = set()
    fields: list[FieldSchema] = []
    for f in schema.fields:
        _check_name("field", f.name)
        if f.name in seen:
            raise IllegalSchema(f"duplicate field name '{f.name}'")
        seen.add(f.name)
        if f.is_dynamic:
            raise IllegalSchema(
                f"field '{f.name}' cannot be declared dynamic; set enable_dynamic_field instead"
            )
        if f.data_type not in SUPPORTED_FIELD_TYPES:
            raise IllegalSchema(
                f"field '{f.name}' has the unsupported type {type_name(f.data_type)}"
            )
        params = dict(f.type_params)
        if f.data_type.is_vector:
            dim = _positive_int_param(f, "dim")
            if dim > MAX_VECTOR_DIM:
                raise IllegalSchema(
                    f"the dim ({dim}) of field '{f.name}' exceeds the maximum {MAX_VECTOR_DIM}"
                )
            if f.data_type == DataType.BINARY_VECTOR and dim % 8:
                raise IllegalSchema(
                    f"the dim ({dim}) of binary vector field '{f.name}' must be a multiple of 8"
                )
            if f.nullable:
                raise IllegalSchema(f"vector field '{f.name}' cannot be nullable")
            params["dim"] = str(dim)
        if f.data_type == DataType.VARCHAR:
            max_length = _positive_int_param(f, "max_length")
            if max_length > MAX_VARCHAR_LENGTH:
                raise IllegalSchema(
                    f"the max_length ({max_length}) of field '{f.name}' exceeds "
                    f"{MAX_VARCHAR_LENGTH}"
                )
            params["max_length"] = str(max_length)
        if f.auto_id and not f.is_primary:
            raise IllegalSchema(f"auto_id is only allowed on the primary key, not on '{f.name}'")
        if f.is_partition_key:
            if f.is_primary or f.data_type not in (DataType.INT64, DataType.VARCHAR):
                raise IllegalSchema(
                    f"the partition key '{f.name}' must be a non-primary Int64 or VarChar field"
                )
            if f.nullable:
                raise IllegalSchema(f"the partition key '{f.name}' cannot be nullable")
        fields.append(replace(f, type_params=params))
    primaries = [f for f in fields if f.is_primary]
    if len(primaries) != 1:
        raise IllegalSchema(
            f"a collection needs exactly one primary key field, found {len(primaries)}"
        )
    primary = primaries[0]
    if primary.data_type not in (DataType.INT64, DataType.VARCHAR):
        raise IllegalSchema(
            f"the primary key '{primary.name}' must be Int64 or VarChar, "
            f"not {type_name(primary.data_type)}"
        )
    if primary.nullable:
        raise IllegalSchema(f"the primary key '{primary.name}' cannot be nullable")
    if not any(f.data_type.is_vector for f in fields):
        raise IllegalSchema("a collection needs at least one vector field")
    if sum(f.is_partition_key for f in fields) > 1:
        raise IllegalSchema("a collection can have at most one partition key")
    if schema.enable_dynamic_field:
        fields.append(
            FieldSchema(name=DYNAMIC_FIELD_NAME, data_type=DataType.JSON, is_dynamic=True)
        )
    return replace(schema, fields=tuple(fields)).with_field_ids(100)


# ---- insert and upsert data -------------------------------------------------------------------


def table_from_field_data(
    fields_data: Sequence[schema_pb2.FieldData],
    num_rows: int,
    schema: CollectionSchema,
    *,
    for_upsert: bool = False,
) -> pa.Table:
    """Validate insert/upsert columns against the schema and convert them to Arrow.

    An auto_id primary key must be absent on insert (the caller allocates it and
    adds it with :func:`with_primary_keys`) and present on upsert. Columns that no
    field declares go into ``$meta`` when the dynamic field is on.
    """
    if num_rows <= 0:
        raise DataInvalid("the request contains no rows")
    by_name: dict[str, schema_pb2.FieldData] = {}
    for fd in fields_data:
        name = DYNAMIC_FIELD_NAME if fd.is_dynamic else fd.field_name
        if name in by_name:
            raise DataInvalid(f"field '{name}' appears more than once in the data")
        by_name[name] = fd
    dynamic = schema.dynamic_field
    columns: dict[str, pa.Array] = {}
    for f in schema.fields:
        if f.is_dynamic:
            continue
        fd = by_name.pop(f.name, None)
        if f.auto_id and not for_upsert:
            if fd is not None:
                raise DataInvalid(
                    f"the primary key '{f.name}' is generated by the server (auto_id); "
                    "do not supply it on insert"
                )
            continue
        if fd is None:
            if not f.nullable:
                raise DataInvalid(f"field '{f.name}' is missing from the data")
            columns[f.name] = pa.nulls(num_rows, _arrow_type(f))
            continue
        columns[f.name] = _column_from_field_data(fd, f, num_rows)
    if dynamic is not None:
        meta_fd = by_name.pop(DYNAMIC_FIELD_NAME, None)
        columns[DYNAMIC_FIELD_NAME] = _dynamic_column(meta_fd, by_name, schema, num_rows)
        by_name.clear()
    if by_name:
        name = next(iter(by_name))
        raise DataInvalid(
            f"field '{name}' does not exist in collection '{schema.name}' "
            "and the collection has no dynamic field"
        )
    fields = [pa.field(f.name, _arrow_type(f), nullable=f.nullable) for f in schema.fields]
    return pa.Table.from_arrays(
        [columns[f.name] for f in fields if f.name in columns],
        schema=pa.schema([f for f in fields if f.name in columns]),
    )


def with_primary_keys(
    table: pa.Table, schema: CollectionSchema, pks: pa.Array | np.ndarray | Sequence[Any]
) -> pa.Table:
    """Put allocated primary keys into their schema position (auto_id inserts)."""
    primary = schema.primary_field
    if len(pks) != table.num_rows:
        raise InternalError(f"{len(pks)} primary keys for {table.num_rows} rows")
    if primary.data_type == DataType.VARCHAR:
        values = pks.to_pylist() if isinstance(pks, pa.Array) else list(pks)
        column = pa.array([str(v) for v in values], pa.string())
    else:
        column = (
            pa.array(pks, pa.int64()) if not isinstance(pks, pa.Array) else pks.cast(pa.int64())
        )
    if primary.name in table.column_names:
        table = table.drop_columns([primary.name])
    present = [f.name for f in schema.fields if f.name in table.column_names or f.is_primary]
    position = present.index(primary.name)
    return table.add_column(position, pa.field(primary.name, column.type, nullable=False), column)


def _scalar_values(fd: schema_pb2.FieldData, f: FieldSchema) -> Any:
    slot = _SCALAR_SLOT[f.data_type]
    if fd.WhichOneof("field") != "scalars" or fd.scalars.WhichOneof("data") != slot:
        raise DataInvalid(
            f"field '{f.name}' is {type_name(f.data_type)} in the schema but the data is "
            f"{type_name(fd.type)}"
        )
    return getattr(fd.scalars, slot).data


def _column_from_field_data(fd: schema_pb2.FieldData, f: FieldSchema, num_rows: int) -> pa.Array:
    if fd.type != f.data_type:
        raise DataInvalid(
            f"field '{f.name}' is {type_name(f.data_type)} in the schema but the data is "
            f"{type_name(fd.type)}"
        )
    if f.data_type.is_vector:
        return _vector_column(fd, f, num_rows)
    values = _scalar_values(fd, f)
    valid = _validity(fd, f, num_rows, len(values))
    if f.data_type in _NUMPY_TYPE:
        array = _numeric_values(values, f)
    elif f.data_type == DataType.VARCHAR:
        array = list(values)
        if not f.auto_id:
            _check_lengths(array, f)
    else:
        array = [_json_text(v, f.name) for v in values]
    if valid is None:
        if len(array) != num_rows:
            raise DataInvalid(
                f"field '{f.name}' has {len(array)} rows but the request has {num_rows}"
            )
        return pa.array(array, _arrow_type(f))
    return _with_nulls(array, valid, _arrow_type(f))


def _validity(fd: schema_pb2.FieldData, f: FieldSchema, num_rows: int, count: int) -> Any:
    """The null mask of a nullable column (None when every row is valid)."""
    if not fd.valid_data:
        return None
    if not f.nullable:
        if all(fd.valid_data):
            return None
        raise DataInvalid(f"field '{f.name}' is not nullable but the data contains nulls")
    if len(fd.valid_data) != num_rows:
        raise DataInvalid(
            f"field '{f.name}' has {len(fd.valid_data)} validity flags for {num_rows} rows"
        )
    valid = np.asarray(fd.valid_data, dtype=bool)
    if count not in (num_rows, int(valid.sum())):
        raise DataInvalid(
            f"field '{f.name}' has {count} values for {int(valid.sum())} non-null rows"
        )
    return valid


def _with_nulls(values: Any, valid: np.ndarray, arrow_type: pa.DataType) -> pa.Array:
    """Arrow array with nulls from values given for every row or only for valid ones."""
    if len(values) == len(valid):
        return pa.array(values, arrow_type, mask=~valid)
    full: list[Any] = [None] * len(valid)
    for position, value in zip(np.flatnonzero(valid), values, strict=True):
        full[position] = value.item() if isinstance(value, np.generic) else value
    return pa.array(full, arrow_type)


def _numeric_values(values: Any, f: FieldSchema) -> np.ndarray:
    if f.data_type.is_integer:
        wide = np.asarray(values, dtype=np.int64)
        low, high = INTEGER_RANGES[f.data_type]
        bad = np.flatnonzero((wide < low) | (wide > high))
        if bad.size:
            raise DataInvalid(
                f"the value {int(wide[bad[0]])} of field '{f.name}' (row {int(bad[0])}) is out "
                f"of the {type_name(f.data_type)} range [{low}, {high}]"
            )
        return wide.astype(_NUMPY_TYPE[f.data_type])
    return np.asarray(values, dtype=_NUMPY_TYPE[f.data_type])


def _check_lengths(strings: Sequence[str], f: FieldSchema) -> None:
    limit = f.max_length
    for row, s in enumerate(strings):
        if len(s) > limit:
            raise DataInvalid(
                f"the length ({len(s)}) of field '{f.name}' in row {row} exceeds its "
                f"max_length ({limit})"
            )


def _json_text(raw: bytes, name: str) -> str:
    try:
        text = raw.decode("utf-8")
        json.loads(text)
    except (UnicodeDecodeError, ValueError) as e:
        raise DataInvalid(f"the value of JSON field '{name}' is not valid JSON: {e}") from None
    return text


def _vector_column(fd: schema_pb2.FieldData, f: FieldSchema, num_rows: int) -> pa.Array:
    kind = fd.vectors.WhichOneof("data") if fd.WhichOneof("field") == "vectors" else None
    expected = "float_vector" if f.data_type == DataType.FLOAT_VECTOR else "binary_vector"
    if kind != expected:
        raise DataInvalid(
            f"field '{f.name}' is {type_name(f.data_type)} in the schema but the data holds "
            f"{kind or 'no vectors'}"
        )
    if fd.vectors.dim != f.dim:
        raise DataInvalid(
            f"the dim ({fd.vectors.dim}) of field '{f.name}' does not match the schema's dim "
            f"({f.dim})"
        )
    if f.data_type == DataType.FLOAT_VECTOR:
        flat = np.asarray(fd.vectors.float_vector.data, dtype=np.float32)
        rows, extra = divmod(flat.size, f.dim)
        if not np.isfinite(flat).all():
            raise DataInvalid(f"field '{f.name}' contains NaN or infinite values")
    else:
        flat = fd.vectors.binary_vector
        rows, extra = divmod(len(flat), f.dim // 8)
    if extra or rows != num_rows:
        raise DataInvalid(
            f"field '{f.name}' holds {rows if not extra else f'{rows}+'} vectors of dim {f.dim} "
            f"but the request has {num_rows} rows"
        )
    if f.data_type == DataType.FLOAT_VECTOR:
        return pa.FixedSizeListArray.from_arrays(pa.array(flat, pa.float32()), f.dim)
    width = f.dim // 8
    return pa.Array.from_buffers(pa.binary(width), num_rows, [None, pa.py_buffer(bytes(flat))])


def _dynamic_column(
    meta_fd: schema_pb2.FieldData | None,
    extra_columns: Mapping[str, schema_pb2.FieldData],
    schema: CollectionSchema,
    num_rows: int,
) -> pa.Array:
    """JSON objects of the keys no field declares, one per row ("{}" when none)."""
    rows: list[dict[str, Any]] = [{} for _ in range(num_rows)]
    if meta_fd is not None:
        if meta_fd.WhichOneof("field") != "scalars" or meta_fd.scalars.WhichOneof("data") not in (
            "json_data",
            None,
        ):
            raise DataInvalid(f"the dynamic field '{DYNAMIC_FIELD_NAME}' must hold JSON")
        documents = meta_fd.scalars.json_data.data
        if len(documents) != num_rows:
            raise DataInvalid(
                f"the dynamic field has {len(documents)} rows but the request has {num_rows}"
            )
        for row, raw in enumerate(documents):
            try:
                value = json.loads(raw)
            except ValueError as e:
                raise DataInvalid(
                    f"row {row} of the dynamic field is not valid JSON: {e}"
                ) from None
            if not isinstance(value, dict):
                raise DataInvalid(f"row {row} of the dynamic field is not a JSON object")
            rows[row] = value
    for name, fd in extra_columns.items():
        for row, value in enumerate(_python_values(fd, name, num_rows)):
            rows[row][name] = value
    static = {f.name for f in schema.fields if not f.is_dynamic}
    for row, value in enumerate(rows):
        clash = static.intersection(value)
        if clash:
            raise DataInvalid(
                f"row {row} of the dynamic field sets '{sorted(clash)[0]}', which is a "
                "field of the schema"
            )
    return pa.array([json.dumps(r, separators=(",", ":")) for r in rows], pa.string())


def _python_values(fd: schema_pb2.FieldData, name: str, num_rows: int) -> list[Any]:
    """An undeclared column, as JSON-ready values, for the dynamic field."""
    kind = fd.scalars.WhichOneof("data") if fd.WhichOneof("field") == "scalars" else None
    if kind is None or kind in ("array_data", "bytes_data"):
        raise DataInvalid(f"field '{name}' is not in the schema and cannot be stored dynamically")
    values = list(getattr(fd.scalars, kind).data)
    if kind == "json_data":
        values = [json.loads(_json_text(v, name)) for v in values]
    if len(values) != num_rows:
        raise DataInvalid(f"field '{name}' has {len(values)} rows but the request has {num_rows}")
    return values


# ---- results ----------------------------------------------------------------------------------


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
    if not name or not _NAME_PATTERN.fullmatch(name):
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
        type=int(f.data_type), field_name=f.name, field_id=f.field_id, is_dynamic=f.is_dynamic
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
    if column.null_count:
        fd.valid_data.extend(column.is_valid().to_pylist())
        column = column.fill_null(_FILL[f.data_type])
    slot = getattr(fd.scalars, _SCALAR_SLOT[f.data_type])
    slot.SetInParent()
    if f.data_type == DataType.JSON:
        slot.data.extend(text.encode("utf-8") for text in column.to_pylist())
    elif f.data_type == DataType.VARCHAR:
        slot.data.extend(column.to_pylist())
    else:
        slot.data.extend(column.to_numpy(zero_copy_only=False).tolist())
    return fd


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


# ---- ids, query vectors, parameters, status ---------------------------------------------------


def ids_to_proto(pks: pa.Array | np.ndarray | Sequence[Any], pk_type: DataType) -> schema_pb2.IDs:
    """Primary keys in the IDs layout (int_id for Int64, str_id for VarChar)."""
    values = pks.to_pylist() if isinstance(pks, pa.Array | pa.ChunkedArray) else list(pks)
    ids = schema_pb2.IDs()
    if pk_type == DataType.INT64:
        ids.int_id.SetInParent()
        ids.int_id.data.extend(int(v) for v in values)
    elif pk_type == DataType.VARCHAR:
        ids.str_id.SetInParent()
        ids.str_id.data.extend(str(v) for v in values)
    else:
        raise InternalError(f"{type_name(pk_type)} cannot be a primary key type")
    return ids


def ids_from_proto(ids: schema_pb2.IDs) -> list[int] | list[str]:
    kind = ids.WhichOneof("id_field")
    if kind == "int_id":
        return list(ids.int_id.data)
    if kind == "str_id":
        return list(ids.str_id.data)
    return []


def vectors_from_placeholder_group(data: bytes, field: FieldSchema) -> np.ndarray:
    """The query vectors of a search: float32 (nq, dim) or packed uint8 (nq, dim // 8)."""
    group = common_pb2.PlaceholderGroup()
    try:
        group.ParseFromString(data)
    except Exception:  # protobuf raises DecodeError; any failure means the same to the user
        raise DataInvalid("the query vectors (placeholder group) cannot be parsed") from None
    if len(group.placeholders) != 1:
        raise DataInvalid(
            f"a search takes one group of query vectors, got {len(group.placeholders)}"
        )
    placeholder = group.placeholders[0]
    if placeholder.element_level:
        raise DataInvalid("element-level search is not supported")
    if not placeholder.values:
        raise DataInvalid("the search request has no query vectors")
    if field.data_type == DataType.FLOAT_VECTOR:
        expected_type, width, dtype = common_pb2.FloatVector, field.dim * 4, np.float32
    elif field.data_type == DataType.BINARY_VECTOR:
        expected_type, width, dtype = common_pb2.BinaryVector, field.dim // 8, np.uint8
    else:
        raise DataInvalid(f"field '{field.name}' is not a vector field")
    if placeholder.type != expected_type:
        got = common_pb2.PlaceholderType.Name(placeholder.type)
        raise DataInvalid(
            f"field '{field.name}' is {type_name(field.data_type)} but the query vectors are {got}"
        )
    for row, value in enumerate(placeholder.values):
        if len(value) != width:
            got_dim = len(value) // 4 if dtype is np.float32 else len(value) * 8
            raise DataInvalid(
                f"the dim ({got_dim}) of query vector {row} does not match the dim ({field.dim}) "
                f"of field '{field.name}'"
            )
    vectors = np.frombuffer(b"".join(placeholder.values), dtype=dtype)
    vectors = vectors.reshape(len(placeholder.values), -1).copy()
    if dtype is np.float32 and not np.isfinite(vectors).all():
        raise DataInvalid("the query vectors contain NaN or infinite values")
    return vectors


def kv_pairs_to_dict(pairs: Iterable[common_pb2.KeyValuePair]) -> dict[str, str]:
    """Key/value params as a dict; a key given twice with different values is refused."""
    result: dict[str, str] = {}
    for pair in pairs:
        if pair.key in result and result[pair.key] != pair.value:
            raise ParameterInvalid(f"the parameter '{pair.key}' is given twice")
        result[pair.key] = pair.value
    return result


def status(error: BaseException | None = None) -> common_pb2.Status:
    """Success (code 0) or an error's Status; a stray exception becomes InternalError."""
    if error is None:
        return common_pb2.Status(code=0, error_code=common_pb2.Success)
    if not isinstance(error, ElanusError):
        error = InternalError(f"{type(error).__name__}: {error}")
    return common_pb2.Status(
        code=error.code,
        error_code=error.legacy_code,
        reason=error.reason,
        retriable=error.retriable,
        detail=error.reason,
    )
