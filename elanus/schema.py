"""Collection schemas as plain values, shared by every role.

The numbers of :class:`DataType` are Milvus's, so a schema converts to and from
the wire without a lookup table. Everything here is immutable and JSON-friendly:
the coordinator stores schemas in the metadata KV with :meth:`to_dict`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from typing import Any

DYNAMIC_FIELD_NAME = "$meta"
# The longest VarChar max_length Milvus allows (its proxy checks it at create and alter).
MAX_VARCHAR_LENGTH = 65535


class DataType(enum.IntEnum):
    NONE = 0
    BOOL = 1
    INT8 = 2
    INT16 = 3
    INT32 = 4
    INT64 = 5
    FLOAT = 10
    DOUBLE = 11
    STRING = 20
    VARCHAR = 21
    ARRAY = 22
    JSON = 23
    BINARY_VECTOR = 100
    FLOAT_VECTOR = 101
    FLOAT16_VECTOR = 102
    BFLOAT16_VECTOR = 103
    SPARSE_FLOAT_VECTOR = 104

    @property
    def is_vector(self) -> bool:
        return self >= DataType.BINARY_VECTOR

    @property
    def is_half_vector(self) -> bool:
        """FLOAT16_VECTOR or BFLOAT16_VECTOR: two bytes per dimension."""
        return self in (DataType.FLOAT16_VECTOR, DataType.BFLOAT16_VECTOR)

    @property
    def is_integer(self) -> bool:
        return self in _INTEGER_TYPES

    @property
    def is_numeric(self) -> bool:
        return self in _INTEGER_TYPES or self in (DataType.FLOAT, DataType.DOUBLE)

    @property
    def is_string(self) -> bool:
        return self in (DataType.VARCHAR, DataType.STRING)


_INTEGER_TYPES = frozenset({DataType.INT8, DataType.INT16, DataType.INT32, DataType.INT64})

# Types a user may declare in this release. Others are refused at CreateCollection.
SUPPORTED_FIELD_TYPES = frozenset(
    {
        DataType.BOOL,
        DataType.INT8,
        DataType.INT16,
        DataType.INT32,
        DataType.INT64,
        DataType.FLOAT,
        DataType.DOUBLE,
        DataType.VARCHAR,
        DataType.JSON,
        DataType.ARRAY,
        DataType.BINARY_VECTOR,
        DataType.FLOAT_VECTOR,
        DataType.FLOAT16_VECTOR,
        DataType.BFLOAT16_VECTOR,
    }
)

# Scalars an ARRAY field may hold, as Milvus allows them.
ARRAY_ELEMENT_TYPES = frozenset(
    {
        DataType.BOOL,
        DataType.INT8,
        DataType.INT16,
        DataType.INT32,
        DataType.INT64,
        DataType.FLOAT,
        DataType.DOUBLE,
        DataType.VARCHAR,
    }
)

# What a default value may be: Milvus allows them on non-JSON scalar fields only.
DefaultValue = bool | int | float | str

INTEGER_RANGES: dict[DataType, tuple[int, int]] = {
    DataType.INT8: (-(2**7), 2**7 - 1),
    DataType.INT16: (-(2**15), 2**15 - 1),
    DataType.INT32: (-(2**31), 2**31 - 1),
    DataType.INT64: (-(2**63), 2**63 - 1),
}


@dataclass(frozen=True)
class FieldSchema:
    name: str
    data_type: DataType
    field_id: int = 0
    is_primary: bool = False
    auto_id: bool = False
    description: str = ""
    # dim for vectors, max_length for VarChar and VarChar elements, max_capacity
    # for arrays; kept as Milvus's string key/values.
    type_params: dict[str, str] = field(default_factory=dict)
    is_dynamic: bool = False
    is_partition_key: bool = False
    nullable: bool = False
    # The scalar type of an ARRAY field's elements (NONE for other fields).
    element_type: DataType = DataType.NONE
    # Written into rows that omit the field or send null for it: a DefaultValue
    # or None. Typed as a plain JSON value, which is how every role carries it.
    default_value: Any = None

    @property
    def dim(self) -> int:
        """The vector dimension, in elements (bits for binary vectors)."""
        return int(self.type_params.get("dim", 0))

    @property
    def max_length(self) -> int:
        return int(self.type_params.get("max_length", 0))

    @property
    def max_capacity(self) -> int:
        """The most elements one row of an ARRAY field may hold."""
        return int(self.type_params.get("max_capacity", 0))

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "data_type": int(self.data_type),
            "field_id": self.field_id,
            "is_primary": self.is_primary,
            "auto_id": self.auto_id,
            "description": self.description,
            "type_params": dict(self.type_params),
            "is_dynamic": self.is_dynamic,
            "is_partition_key": self.is_partition_key,
            "nullable": self.nullable,
            "element_type": int(self.element_type),
            "default_value": self.default_value,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FieldSchema:
        return cls(
            name=data["name"],
            data_type=DataType(data["data_type"]),
            field_id=data.get("field_id", 0),
            is_primary=data.get("is_primary", False),
            auto_id=data.get("auto_id", False),
            description=data.get("description", ""),
            type_params=dict(data.get("type_params", {})),
            is_dynamic=data.get("is_dynamic", False),
            is_partition_key=data.get("is_partition_key", False),
            nullable=data.get("nullable", False),
            element_type=DataType(data.get("element_type", 0)),
            default_value=data.get("default_value"),
        )


@dataclass(frozen=True)
class CollectionSchema:
    name: str
    fields: tuple[FieldSchema, ...]
    description: str = ""
    enable_dynamic_field: bool = False
    # Milvus's schema version: 0 as created, one more for every field added since.
    version: int = 0

    @property
    def primary_field(self) -> FieldSchema:
        for f in self.fields:
            if f.is_primary:
                return f
        raise LookupError(f"collection {self.name!r} has no primary key field")

    @property
    def vector_fields(self) -> tuple[FieldSchema, ...]:
        return tuple(f for f in self.fields if f.data_type.is_vector)

    @property
    def dynamic_field(self) -> FieldSchema | None:
        for f in self.fields:
            if f.is_dynamic:
                return f
        return None

    def field(self, name: str) -> FieldSchema | None:
        for f in self.fields:
            if f.name == name:
                return f
        return None

    def with_field_ids(self, first_id: int = 100) -> CollectionSchema:
        """Number the fields as Milvus does: user fields from 100 in declaration order."""
        numbered = tuple(replace(f, field_id=first_id + i) for i, f in enumerate(self.fields))
        return replace(self, fields=numbered)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "enable_dynamic_field": self.enable_dynamic_field,
            "fields": [f.to_dict() for f in self.fields],
            "version": self.version,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CollectionSchema:
        return cls(
            name=data["name"],
            description=data.get("description", ""),
            enable_dynamic_field=data.get("enable_dynamic_field", False),
            fields=tuple(FieldSchema.from_dict(f) for f in data["fields"]),
            version=data.get("version", 0),
        )

    def with_added_field(self, added: FieldSchema) -> CollectionSchema:
        """This schema with ``added`` as its last field, numbered after the highest field
        id (as Milvus numbers an added field), and the version bumped."""
        next_id = max((f.field_id for f in self.fields), default=99) + 1
        numbered = replace(added, field_id=next_id)
        return replace(self, fields=(*self.fields, numbered), version=self.version + 1)
