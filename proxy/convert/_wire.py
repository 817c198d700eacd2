"""Wire layouts shared by the other conversions, and the small messages.

Here live the pieces of Milvus's protocol that are not about a schema or a
table: primary keys as ``IDs``, the query vectors of a search, key/value
params, ``Status``, the spelling of data types in messages, and which
``ScalarField`` slot carries each scalar type.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any, NoReturn

import numpy as np
import pyarrow as pa

from elanus.columns import half_to_float32
from elanus.errors import DataInvalid, ElanusError, InternalError, ParameterInvalid
from elanus.schema import DataType, FieldSchema
from proto.public import common_pb2, schema_pb2

__all__ = [
    "SCALAR_SLOT",
    "ids_from_proto",
    "ids_to_proto",
    "kv_pairs_to_dict",
    "status",
    "type_name",
    "vectors_from_placeholder_group",
]

# INT8/INT16/INT32 share int_data and INT64 has long_data, as pymilvus encodes them.
SCALAR_SLOT = {
    DataType.BOOL: "bool_data",
    DataType.INT8: "int_data",
    DataType.INT16: "int_data",
    DataType.INT32: "int_data",
    DataType.INT64: "long_data",
    DataType.FLOAT: "float_data",
    DataType.DOUBLE: "double_data",
    DataType.VARCHAR: "string_data",
    DataType.JSON: "json_data",
    DataType.ARRAY: "array_data",
}


def type_name(data_type: int) -> str:
    """Milvus's spelling of a data type ("FloatVector"), for messages users read."""
    try:
        return schema_pb2.DataType.Name(schema_pb2.DataType.ValueType(data_type))
    except ValueError:
        return f"DataType({data_type})"


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
    if field.data_type.is_half_vector:
        return _half_query_vectors(placeholder, field)
    dtype: type[np.generic]
    if field.data_type == DataType.FLOAT_VECTOR:
        expected_type, width, dtype = common_pb2.FloatVector, field.dim * 4, np.float32
    elif field.data_type == DataType.BINARY_VECTOR:
        expected_type, width, dtype = common_pb2.BinaryVector, field.dim // 8, np.uint8
    else:
        raise DataInvalid(f"field '{field.name}' is not a vector field")
    if placeholder.type != expected_type:
        _wrong_query_type(placeholder, field)
    _check_query_widths(placeholder.values, width, 8 * width // field.dim, field)
    vectors = np.frombuffer(b"".join(placeholder.values), dtype=dtype)
    shaped: np.ndarray = vectors.reshape(len(placeholder.values), -1).copy()
    if dtype is np.float32 and not np.isfinite(shaped).all():
        raise DataInvalid("the query vectors contain NaN or infinite values")
    return shaped


# Query vector types a half vector field accepts. Raw bytes arrive as BinaryVector
# from clients that cannot tell (pymilvus 2.5 without the schema): their width decides.
_HALF_PLACEHOLDERS = {
    DataType.FLOAT16_VECTOR: common_pb2.Float16Vector,
    DataType.BFLOAT16_VECTOR: common_pb2.BFloat16Vector,
}


def _half_query_vectors(placeholder: common_pb2.PlaceholderValue, field: FieldSchema) -> np.ndarray:
    """float32 (nq, dim) from fp16/bf16 query vectors, or float32 ones searched as they are."""
    own_type = _HALF_PLACEHOLDERS[field.data_type]
    if placeholder.type == common_pb2.FloatVector:
        _check_query_widths(placeholder.values, field.dim * 4, 32, field)
        vectors = np.frombuffer(b"".join(placeholder.values), dtype=np.float32)
    elif placeholder.type in (own_type, common_pb2.BinaryVector):
        _check_query_widths(placeholder.values, field.dim * 2, 16, field)
        bits = np.frombuffer(b"".join(placeholder.values), dtype=np.uint16)
        vectors = half_to_float32(bits, field.data_type)
    else:
        _wrong_query_type(placeholder, field)
    shaped: np.ndarray = vectors.reshape(len(placeholder.values), field.dim).copy()
    if not np.isfinite(shaped).all():
        raise DataInvalid("the query vectors contain NaN or infinite values")
    return shaped


def _wrong_query_type(placeholder: common_pb2.PlaceholderValue, field: FieldSchema) -> NoReturn:
    got = common_pb2.PlaceholderType.Name(placeholder.type)
    raise DataInvalid(
        f"field '{field.name}' is {type_name(field.data_type)} but the query vectors are {got}"
    )


def _check_query_widths(
    values: Sequence[bytes], width: int, bits_per_element: int, field: FieldSchema
) -> None:
    """Every query vector must have the field's dim; the message says which one does not."""
    for row, value in enumerate(values):
        if len(value) != width:
            got_dim = len(value) * 8 // bits_per_element
            raise DataInvalid(
                f"the dim ({got_dim}) of query vector {row} does not match the dim ({field.dim}) "
                f"of field '{field.name}'"
            )


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
        error_code=common_pb2.ErrorCode.ValueType(error.legacy_code),
        reason=error.reason,
        retriable=error.retriable,
        detail=error.reason,
    )


def json_object(text: str, what: str) -> dict[str, Any]:
    """A request parameter that must hold a JSON object (index or search params)."""
    try:
        value = json.loads(text or "{}")
    except json.JSONDecodeError:
        raise ParameterInvalid(f"{what} are not valid JSON: {text!r}") from None
    if not isinstance(value, dict):
        raise ParameterInvalid(f"{what} must be a JSON object, got {text!r}")
    return value
