"""Collection schemas: the wire message <-> the domain value, and Milvus's rules.

The rules are the ones CreateCollection enforces (names, one Int64 or VarChar
primary key, at least one vector field, sane dim and max_length, arrays with
an element type and a capacity, nullable and default values on scalars only),
applied once here so that every stored schema is one the rest of Elanus can
serve.
"""

from __future__ import annotations

import re
from dataclasses import replace

from elanus.errors import IllegalSchema, OperationRefused, ParameterInvalid, Unimplemented, fields
from elanus.schema import (
    ARRAY_ELEMENT_TYPES,
    DYNAMIC_FIELD_NAME,
    INTEGER_RANGES,
    MAX_VARCHAR_LENGTH,
    SUPPORTED_FIELD_TYPES,
    CollectionSchema,
    DataType,
    DefaultValue,
    FieldSchema,
)
from proto.public import common_pb2, schema_pb2
from proxy.convert._names import (
    validate_collection_name,
    validate_field_name,
)
from proxy.convert._wire import kv_pairs_to_dict, type_name

__all__ = [
    "MAX_ARRAY_CAPACITY",
    "MAX_FIELDS",
    "MAX_VARCHAR_LENGTH",
    "MAX_VECTOR_DIM",
    "NAME_PATTERN",
    "added_field_from_proto",
    "schema_from_proto",
    "schema_to_proto",
    "static_fields",
    "validate_new_schema",
]

MAX_ARRAY_CAPACITY = 4096
MAX_VECTOR_DIM = 32768
MAX_FIELDS = 64  # Milvus's proxy.maxFieldNum
MAX_VECTOR_FIELDS = 4  # Milvus's proxy.maxVectorFieldNum
NAME_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Names Milvus keeps for itself (RowID, Timestamp, the dynamic field, namespaces).
SYSTEM_FIELD_NAMES = frozenset({"RowID", "Timestamp", DYNAMIC_FIELD_NAME, "$namespace_id"})


def schema_from_proto(pb: schema_pb2.CollectionSchema) -> CollectionSchema:
    """Read a CreateCollection schema; refuse what Elanus cannot honour rather than drop it."""
    if pb.functions:
        raise IllegalSchema("functions in a collection schema are not supported")
    if pb.struct_array_fields:
        raise IllegalSchema("struct array fields are not supported")
    fields = [_field_from_proto(f, pb.autoID) for f in pb.fields]
    return CollectionSchema(
        name=pb.name,
        fields=tuple(fields),
        description=pb.description,
        enable_dynamic_field=pb.enable_dynamic_field,
    )


def _field_from_proto(f: schema_pb2.FieldSchema, collection_auto_id: bool) -> FieldSchema:
    if f.is_function_output:
        raise IllegalSchema(f"function output fields are not supported (field '{f.name}')")
    if f.data_type not in DataType._value2member_map_:
        raise IllegalSchema(f"field '{f.name}' has the unsupported type {type_name(f.data_type)}")
    return FieldSchema(
        name=f.name,
        data_type=DataType(f.data_type),
        field_id=f.fieldID,
        is_primary=f.is_primary_key,
        # Older clients mark auto_id on the collection instead of the field.
        auto_id=f.autoID or (collection_auto_id and f.is_primary_key),
        description=f.description,
        type_params=kv_pairs_to_dict(f.type_params),
        is_dynamic=f.is_dynamic,
        is_partition_key=f.is_partition_key,
        nullable=f.nullable,
        element_type=_element_type(f),
        default_value=_default_from_proto(f),
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
        version=schema.version,
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
                data_type=schema_pb2.DataType.ValueType(f.data_type),
                type_params=[
                    common_pb2.KeyValuePair(key=k, value=v) for k, v in f.type_params.items()
                ],
                autoID=f.auto_id,
                is_dynamic=f.is_dynamic,
                is_partition_key=f.is_partition_key,
                nullable=f.nullable,
                element_type=schema_pb2.DataType.ValueType(f.element_type),
                default_value=_default_to_proto(f),
            )
        )
    return pb


def _element_type(f: schema_pb2.FieldSchema) -> DataType:
    """An ARRAY field's element type; clients may send junk there for other fields."""
    if f.data_type != int(DataType.ARRAY):
        return DataType.NONE
    if f.element_type not in DataType._value2member_map_:
        raise OperationRefused(f"element type {f.element_type} is not supported")
    return DataType(f.element_type)


# Which ValueField slots may carry the default of each field type, the first
# being the one we answer with. pymilvus picks the slot from the Python value
# (an int becomes long_data even for an Int32 field), so integers take either
# integer slot and floats either float slot; the range is checked later.
_DEFAULT_SLOTS: dict[DataType, tuple[str, ...]] = {
    DataType.BOOL: ("bool_data",),
    DataType.INT8: ("int_data", "long_data"),
    DataType.INT16: ("int_data", "long_data"),
    DataType.INT32: ("int_data", "long_data"),
    DataType.INT64: ("long_data", "int_data"),
    DataType.FLOAT: ("float_data", "double_data"),
    DataType.DOUBLE: ("double_data", "float_data"),
    DataType.VARCHAR: ("string_data",),
}


# How Milvus names the type of a default by the ValueField slot that carries it.
_SLOT_TYPES = {
    "bool_data": "DataType_Bool",
    "int_data": "DataType_Int",
    "long_data": "DataType_Int64",
    "float_data": "DataType_Float",
    "double_data": "DataType_Double",
    "string_data": "DataType_VarChar",
}


def _default_from_proto(f: schema_pb2.FieldSchema) -> DefaultValue | None:
    """The field's default as a Python value, checked against the field's type."""
    if not f.HasField("default_value"):
        return None
    slot = f.default_value.WhichOneof("data")
    if slot is None:
        return None
    accepted = _DEFAULT_SLOTS.get(DataType(f.data_type))  # the type was checked first
    if f.is_primary_key:
        raise ParameterInvalid(
            cause=f"primary field not support default_value, type:{type_name(f.data_type)}, "
            f"name:{f.name}"
        )
    if accepted is None:
        raise ParameterInvalid(
            cause=f"type not support default_value, type:{type_name(f.data_type)}, name:{f.name}"
        )
    if slot not in accepted:
        raise ParameterInvalid(
            cause=f"type ({type_name(f.data_type)}) of field ({f.name}) is not equal to the "
            f"type({_SLOT_TYPES[slot]}) of default_value"
        )
    value = getattr(f.default_value, slot)
    return value if slot != "float_data" else float(value)


def _default_to_proto(f: FieldSchema) -> schema_pb2.ValueField | None:
    if f.default_value is None:
        return None
    slot = _DEFAULT_SLOTS[f.data_type][0]
    return schema_pb2.ValueField(**{slot: f.default_value})


def _vector_dim(f: FieldSchema) -> int:
    """Milvus's validateDimension: 2 to 32768 (binary: a multiple of 8, up to 8 x 32768).

    Its refusals are plain errors (code 65535) worded as Milvus words them."""
    raw = f.type_params.get("dim")
    if raw is None:
        raise OperationRefused(
            f"dimension is not defined in field type params of field {f.name}, "
            "check type param `dim` for vector field"
        )
    try:
        dim = int(str(raw).strip().strip('"'))
    except ValueError:
        raise OperationRefused(f'strconv.ParseInt: parsing "{raw}": invalid syntax') from None
    if dim <= 1:
        raise OperationRefused(f"invalid dimension: {dim}. should be in range 2 ~ {MAX_VECTOR_DIM}")
    if f.data_type == DataType.BINARY_VECTOR:
        if dim % 8:
            raise OperationRefused(
                f"invalid dimension: {dim} of field {f.name}. "
                "binary vector dimension should be multiple of 8. "
            )
        if dim > MAX_VECTOR_DIM * 8:
            raise OperationRefused(
                f"invalid dimension: {dim} of field {f.name}. "
                f"binary vector dimension should be in range 2 ~ {MAX_VECTOR_DIM * 8}"
            )
    elif dim > MAX_VECTOR_DIM:
        raise OperationRefused(
            f"invalid dimension: {dim} of field {f.name}. "
            f"float vector dimension should be in range 2 ~ {MAX_VECTOR_DIM}"
        )
    return dim


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
    if len(schema.fields) > MAX_FIELDS:
        raise OperationRefused(f"maximum field's number should be limited to {MAX_FIELDS}")
    vector_fields = sum(f.data_type.is_vector for f in schema.fields)
    if vector_fields > MAX_VECTOR_FIELDS:
        raise OperationRefused(
            f"maximum vector field's number should be limited to {MAX_VECTOR_FIELDS}"
        )
    if schema.fields and not vector_fields:
        raise ParameterInvalid(cause="schema does not contain vector field")
    validate_collection_name(schema.name)
    if not schema.fields:
        raise IllegalSchema("the schema has no fields")
    seen: set[str] = set()
    fields: list[FieldSchema] = []
    for f in schema.fields:
        validate_field_name(f.name)
        if f.name in seen:
            raise OperationRefused(f"duplicated field name {f.name} found")
        seen.add(f.name)
        fields.append(_checked_field(f, schema.name))
    primaries = [f for f in fields if f.is_primary]
    if len(primaries) != 1:
        raise IllegalSchema(
            f"a collection needs exactly one primary key field, found {len(primaries)}"
        )
    primary = primaries[0]
    if primary.default_value is not None:
        raise ParameterInvalid(
            cause=f"primary field not support default_value, type:{type_name(primary.data_type)}, "
            f"name:{primary.name}"
        )
    if primary.data_type not in (DataType.INT64, DataType.VARCHAR):
        raise IllegalSchema(
            f"the primary key '{primary.name}' must be Int64 or VarChar, "
            f"not {type_name(primary.data_type)}"
        )
    if primary.nullable:
        raise ParameterInvalid(
            cause=f"primary field not support null, type:{type_name(primary.data_type)}, "
            f"name:{primary.name}"
        )
    if sum(f.is_partition_key for f in fields) > 1:
        raise IllegalSchema("a collection can have at most one partition key")
    if schema.enable_dynamic_field:
        fields.append(
            FieldSchema(name=DYNAMIC_FIELD_NAME, data_type=DataType.JSON, is_dynamic=True)
        )
    return replace(schema, fields=tuple(fields)).with_field_ids(100)


def _checked_field(f: FieldSchema, collection_name: str) -> FieldSchema:
    """One field under CreateCollection's rules, with its params normalised."""
    if f.is_dynamic:
        raise IllegalSchema(
            f"field '{f.name}' cannot be declared dynamic; set enable_dynamic_field instead"
        )
    if f.data_type in _UNIMPLEMENTED_TYPES:
        raise Unimplemented(
            f"field '{f.name}' has the type {type_name(f.data_type)}, which Elanus does not "
            f"implement: {_UNIMPLEMENTED_TYPES[f.data_type]}"
        )
    if f.data_type == DataType.STRING:
        raise OperationRefused(
            "string data type not supported yet, please use VarChar type instead"
        )
    if f.data_type not in SUPPORTED_FIELD_TYPES:
        raise IllegalSchema(f"field '{f.name}' has the unsupported type {type_name(f.data_type)}")
    params = dict(f.type_params)
    if f.data_type.is_vector:
        dim = _vector_dim(f)
        if f.nullable:
            raise ParameterInvalid(
                cause=f"vector type not support null, type:{type_name(f.data_type)}, name:{f.name}"
            )
        params["dim"] = str(dim)
    if f.data_type == DataType.VARCHAR:
        params["max_length"] = str(_max_length(f, collection_name))
    if f.data_type == DataType.ARRAY:
        params.update(_array_params(f, collection_name))
    else:
        f = replace(f, element_type=DataType.NONE)
    _check_default(replace(f, type_params=params))
    if f.auto_id and not f.is_primary:
        raise IllegalSchema(f"auto_id is only allowed on the primary key, not on '{f.name}'")
    if f.is_partition_key:
        if f.is_primary or f.data_type not in (DataType.INT64, DataType.VARCHAR):
            raise IllegalSchema(
                f"the partition key '{f.name}' must be a non-primary Int64 or VarChar field"
            )
        if f.nullable:
            raise IllegalSchema(f"the partition key '{f.name}' cannot be nullable")
    return replace(f, type_params=params)


def added_field_from_proto(pb: schema_pb2.FieldSchema, schema: CollectionSchema) -> FieldSchema:
    """The field AddCollectionField asks for, under Milvus's rules for an added field
    (in Milvus's order and words), then CreateCollection's rules for any field.

    Rows already written have no value for it, so it must be nullable; a vector
    field cannot be added (Milvus 2.6). The coordinator checks the name and the
    field count again, atomically, when it adds the field.
    """
    name = pb.name
    if len(static_fields(schema)) >= MAX_FIELDS:
        raise _invalid(f"The number of fields has reached the maximum value {MAX_FIELDS}")
    if pb.data_type not in DataType._value2member_map_ or pb.data_type == int(DataType.NONE):
        raise ParameterInvalid(
            f"expected=valid field][actual=field data type: {type_name(pb.data_type)} "
            "is not supported"
        )
    if DataType(pb.data_type).is_vector:
        raise _invalid(f"not support to add vector field, field name = {name}")
    if name in SYSTEM_FIELD_NAMES:
        raise _invalid(f"not support to add system field, field name = {name}")
    if pb.is_primary_key:
        raise _invalid(f"not support to add pk field, field name = {name}")
    if not pb.nullable:
        raise _invalid(f"added field must be nullable, please check it, field name = {name}")
    if pb.autoID:
        raise _invalid(f"only primary field can speficy AutoID with true, field name = {name}")
    if pb.is_partition_key:
        raise _invalid(f"not support to add partition key field, field name  = {name}")
    validate_field_name(name)
    added = _checked_field(_field_from_proto(pb, collection_auto_id=False), schema.name)
    if any(f.name == name for f in static_fields(schema)):
        raise _invalid(f"duplicate field name: {name}")
    return replace(added, field_id=0)


def static_fields(schema: CollectionSchema) -> list[FieldSchema]:
    """The fields DescribeCollection lists (all but ``$meta``): what the field limit counts."""
    return [f for f in schema.fields if not f.is_dynamic]


def _invalid(message: str) -> ParameterInvalid:
    """Milvus's ``WrapErrParameterInvalidMsg``: "<message>: invalid parameter"."""
    return ParameterInvalid(cause=message)


# Types a client can declare that Elanus refuses outright, and why.
_UNIMPLEMENTED_TYPES: dict[DataType, str] = {
    DataType.SPARSE_FLOAT_VECTOR: "FAISS has no sparse vector index",
}


def _max_length(f: FieldSchema, collection: str) -> int:
    """Milvus's validateMaxLengthPerRow: a VarChar (or its array elements) holds 1..65535."""
    raw = f.type_params.get("max_length")
    if raw is None:
        raise OperationRefused(
            f"type param(max_length) should be specified for the field({f.name}) "
            f"of collection {collection}"
        )
    try:
        max_length = int(str(raw).strip().strip('"'))
    except ValueError:
        raise OperationRefused(f'strconv.ParseInt: parsing "{raw}": invalid syntax') from None
    if not 0 < max_length <= MAX_VARCHAR_LENGTH:
        raise ParameterInvalid(
            cause=f"the maximum length specified for the field({f.name}) should be in "
            f"(0, {MAX_VARCHAR_LENGTH}], but got {max_length} instead"
        )
    return max_length


def _array_params(f: FieldSchema, collection: str) -> dict[str, str]:
    """Milvus's ARRAY rules: a scalar element type, 1..4096 elements, VarChar max_length."""
    if f.element_type == DataType.NONE:
        raise OperationRefused("element data type None is not valid")
    if f.element_type == DataType.STRING:
        raise OperationRefused(
            "string data type not supported yet, please use VarChar type instead"
        )
    if f.element_type not in ARRAY_ELEMENT_TYPES:
        raise OperationRefused(f"element type {type_name(f.element_type)} is not supported")
    params: dict[str, str] = {}
    if f.element_type == DataType.VARCHAR:  # Milvus checks the elements' max_length first
        params["max_length"] = str(_max_length(f, collection))
    raw = f.type_params.get("max_capacity")
    if raw is None:
        raise OperationRefused(
            f"type param(max_capacity) should be specified for array field {f.name} "
            f"of collection {collection}"
        )
    try:
        capacity = int(str(raw).strip().strip('"'))
    except ValueError:
        raise OperationRefused(
            f"the value for max_capacity of field {f.name} must be an integer"
        ) from None
    if not 0 < capacity <= MAX_ARRAY_CAPACITY:
        raise OperationRefused(
            f"the maximum capacity specified for a Array should be in (0, {MAX_ARRAY_CAPACITY}]"
        )
    params["max_capacity"] = str(capacity)
    if f.is_primary:
        raise IllegalSchema(f"array field '{f.name}' cannot be the primary key")
    return params


def _check_default(f: FieldSchema) -> None:
    """A default must suit the field: a non-JSON scalar, in range, within max_length."""
    value = f.default_value
    if value is None:
        return
    if f.data_type not in _DEFAULT_SLOTS:
        raise ParameterInvalid(
            cause=f"type not support default_value, type:{type_name(f.data_type)}, name:{f.name}"
        )
    if f.data_type == DataType.BOOL:
        ok = isinstance(value, bool)
    elif f.data_type.is_integer:
        ok = isinstance(value, int) and not isinstance(value, bool)
        if ok:
            low, high = INTEGER_RANGES[f.data_type]
            if not low <= value <= high:
                raise IllegalSchema(
                    f"the default value {value} of field '{f.name}' is out of the "
                    f"{type_name(f.data_type)} range [{low}, {high}]"
                )
    elif f.data_type in (DataType.FLOAT, DataType.DOUBLE):
        ok = isinstance(value, float)
    else:
        ok = isinstance(value, str)
        if ok and len(value) > f.max_length:
            raise ParameterInvalid(
                fields(expected="valid length string", actual="string length exceeds max length"),
                cause=f"the length ({len(value)}) of string exceeds max length ({f.max_length})",
            )
    if not ok:
        raise IllegalSchema(
            f"the default value {value!r} of field '{f.name}' does not match its type "
            f"{type_name(f.data_type)}"
        )
