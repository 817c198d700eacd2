"""proxy.convert: schemas, insert data, results, ids, query vectors and statuses.

Messages are built with our generated classes. The pymilvus round trips run the
real client code in a subprocess (pymilvus_codec.py), never in this process.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from elanus import columns
from elanus.errors import (
    CollectionNotFound,
    DataInvalid,
    FieldNameInvalid,
    FieldNotFound,
    IllegalSchema,
    OperationRefused,
    ParameterInvalid,
)
from elanus.schema import CollectionSchema, DataType, FieldSchema
from proto.public import common_pb2, milvus_pb2, schema_pb2
from proxy import convert

REPO_ROOT = Path(__file__).resolve().parents[3]
CODEC = Path(__file__).with_name("pymilvus_codec.py")


# Where pymilvus puts each scalar type, written out here rather than taken from
# the code under test so that a wrong slot there fails these tests.
WIRE_SLOT = {
    DataType.BOOL: "bool_data",
    DataType.INT8: "int_data",
    DataType.INT16: "int_data",
    DataType.INT32: "int_data",
    DataType.INT64: "long_data",
    DataType.FLOAT: "float_data",
    DataType.DOUBLE: "double_data",
    DataType.VARCHAR: "string_data",
}


def declared(schema: CollectionSchema, name: str) -> FieldSchema:
    """The schema's field of that name, which the test declared."""
    found = schema.field(name)
    assert found is not None, name
    return found


def field(name: str, data_type: DataType, **kwargs: Any) -> FieldSchema:
    params: dict[str, str] = {k: str(kwargs.pop(k)) for k in ("dim", "max_length") if k in kwargs}
    return FieldSchema(name=name, data_type=data_type, type_params=params, **kwargs)


def all_types_schema(*, dynamic: bool = False, auto_id: bool = False) -> CollectionSchema:
    return convert.validate_new_schema(
        CollectionSchema(
            name="everything",
            enable_dynamic_field=dynamic,
            fields=(
                field("id", DataType.INT64, is_primary=True, auto_id=auto_id),
                field("flag", DataType.BOOL),
                field("i8", DataType.INT8),
                field("i16", DataType.INT16),
                field("i32", DataType.INT32),
                field("i64", DataType.INT64, nullable=True),
                field("f32", DataType.FLOAT),
                field("f64", DataType.DOUBLE),
                field("name", DataType.VARCHAR, max_length=8),
                field("doc", DataType.JSON),
                field("vec", DataType.FLOAT_VECTOR, dim=4),
                field("bits", DataType.BINARY_VECTOR, dim=16),
            ),
        )
    )


ROWS = 3
COLUMNS: dict[str, list[Any]] = {
    "id": [7, 8, 9],
    "flag": [True, False, True],
    "i8": [-128, 0, 127],
    "i16": [-32768, 5, 32767],
    "i32": [-(2**31), 6, 2**31 - 1],
    "i64": [2**62, None, -(2**63)],
    "f32": [0.5, -1.25, 3.0],
    "f64": [1e300, -2.5, 0.0],
    "name": ["a", "héllo", "12345678"],
    "doc": [{"k": 1}, [1, 2], 3.5],
    "vec": [[1.0, 2.0, 3.0, 4.0], [0.0, 0.0, 0.0, 0.0], [-1.5, 2.5, -3.5, 4.5]],
    "bits": [b"\x01\x02", b"\xff\x00", b"\x80\x7f"],
}


def field_data(name: str, values: list[Any], data_type: DataType, dim: int = 0) -> Any:
    """One column encoded the way pymilvus encodes it (nulls compacted out)."""
    fd = schema_pb2.FieldData(field_name=name, type=schema_pb2.DataType.ValueType(data_type))
    if any(v is None for v in values):
        fd.valid_data.extend(v is not None for v in values)
        values = [v for v in values if v is not None]
    if data_type == DataType.FLOAT_VECTOR:
        fd.vectors.dim = dim
        fd.vectors.float_vector.data.extend(x for row in values for x in row)
    elif data_type == DataType.BINARY_VECTOR:
        fd.vectors.dim = dim
        fd.vectors.binary_vector = b"".join(values)
    elif data_type == DataType.JSON:
        fd.scalars.json_data.data.extend(json.dumps(v).encode() for v in values)
    else:
        getattr(fd.scalars, WIRE_SLOT[data_type]).data.extend(values)
    return fd


def columns_for(schema: CollectionSchema, columns: dict[str, list[Any]]) -> list[Any]:
    result = []
    for name, values in columns.items():
        f = schema.field(name)
        assert f is not None
        result.append(field_data(name, values, f.data_type, f.dim))
    return result


def decoded(fd: Any) -> list[Any]:
    """Values of a result column, as pymilvus would show them."""
    if fd.WhichOneof("field") == "vectors":
        if fd.vectors.WhichOneof("data") == "float_vector":
            flat = list(fd.vectors.float_vector.data)
            return [flat[i : i + fd.vectors.dim] for i in range(0, len(flat), fd.vectors.dim)]
        width = fd.vectors.dim // 8
        raw = fd.vectors.binary_vector
        return [raw[i : i + width] for i in range(0, len(raw), width)]
    values = list(getattr(fd.scalars, fd.scalars.WhichOneof("data")).data)
    if fd.type == DataType.JSON:
        values = [json.loads(v) for v in values]
    if fd.valid_data:
        values = [v if ok else None for v, ok in zip(values, fd.valid_data, strict=True)]
    return values


# ---- schemas ----------------------------------------------------------------------------------


def test_schema_round_trip_through_proto() -> None:
    pb = schema_pb2.CollectionSchema(name="docs", description="d", enable_dynamic_field=True)
    pb.fields.add(name="pk", data_type=DataType.VARCHAR, is_primary_key=True, autoID=False)
    pb.fields[-1].type_params.add(key="max_length", value="64")
    pb.fields.add(name="emb", data_type=DataType.FLOAT_VECTOR)
    pb.fields[-1].type_params.add(key="dim", value="128")
    pb.fields.add(name="n", data_type=DataType.INT32, nullable=True, description="count")

    schema = convert.validate_new_schema(convert.schema_from_proto(pb))

    assert [f.name for f in schema.fields] == ["pk", "emb", "n", "$meta"]
    assert [f.field_id for f in schema.fields] == [100, 101, 102, 103]
    assert declared(schema, "emb").dim == 128 and declared(schema, "pk").max_length == 64
    assert schema.dynamic_field is not None and schema.dynamic_field.data_type == DataType.JSON

    described = convert.schema_to_proto(schema)
    assert [f.name for f in described.fields] == ["pk", "emb", "n"]
    assert described.enable_dynamic_field
    assert described.fields[2].nullable and described.fields[2].description == "count"
    assert convert.schema_from_proto(described).fields == schema.fields[:3]
    internal = convert.schema_to_proto(schema, include_dynamic_field=True)
    assert internal.fields[-1].name == "$meta" and internal.fields[-1].is_dynamic


def test_collection_level_auto_id_marks_the_primary_key() -> None:
    pb = schema_pb2.CollectionSchema(name="c", autoID=True)
    pb.fields.add(name="id", data_type=DataType.INT64, is_primary_key=True)
    pb.fields.add(name="x", data_type=DataType.FLOAT)
    schema = convert.schema_from_proto(pb)
    assert declared(schema, "id").auto_id and not declared(schema, "x").auto_id


def test_schema_from_proto_refuses_functions() -> None:
    pb = schema_pb2.CollectionSchema(name="c")
    pb.functions.add(name="bm25", type=schema_pb2.BM25)
    with pytest.raises(IllegalSchema, match="functions"):
        convert.schema_from_proto(pb)


def test_schema_from_proto_refuses_json_defaults_and_unknown_types() -> None:
    pb = schema_pb2.CollectionSchema(name="c")
    pb.fields.add(name="x", data_type=DataType.JSON).default_value.bytes_data = b"{}"
    with pytest.raises(ParameterInvalid, match="type not support default_value, type:JSON, name:x"):
        convert.schema_from_proto(pb)
    pb = schema_pb2.CollectionSchema(name="c")
    pb.fields.add(name="geo", data_type=24)
    with pytest.raises(IllegalSchema, match="Geometry"):
        convert.schema_from_proto(pb)


def _schema(*fields: FieldSchema, name: str = "c", dynamic: bool = False) -> CollectionSchema:
    return CollectionSchema(name=name, fields=fields, enable_dynamic_field=dynamic)


PK = field("id", DataType.INT64, is_primary=True)
VEC = field("v", DataType.FLOAT_VECTOR, dim=8)


@pytest.mark.parametrize(
    ("schema", "error", "words"),
    [
        (
            _schema(PK, VEC, name="1abc"),
            ParameterInvalid,
            "Invalid collection name: 1abc. the first character of a collection name must be "
            "an underscore or letter: invalid parameter",
        ),
        (_schema(PK, VEC, name="a-b"), ParameterInvalid, "invalid"),
        (_schema(PK, VEC, name="x" * 256), ParameterInvalid, "must be less than 255 characters"),
        (
            _schema(PK, VEC, field("bad name", DataType.BOOL)),
            FieldNameInvalid,
            "Field name can only contain numbers, letters, and underscores",
        ),
        (
            _schema(PK, VEC, field("like", DataType.BOOL)),
            FieldNameInvalid,
            r"Invalid field name: like. like is keyword in milvus.: "
            r"field name invalid\[field=like\]",
        ),
        (_schema(), IllegalSchema, "no fields"),
        (
            _schema(PK, VEC, field("v", DataType.BOOL)),
            OperationRefused,
            "duplicated field name v found",
        ),
        (_schema(VEC), IllegalSchema, "exactly one primary key"),
        (
            _schema(PK, VEC, field("id2", DataType.INT64, is_primary=True)),
            IllegalSchema,
            "exactly one primary key",
        ),
        (
            _schema(field("id", DataType.FLOAT, is_primary=True), VEC),
            IllegalSchema,
            "Int64 or VarChar",
        ),
        (
            _schema(field("id", DataType.VARCHAR, is_primary=True), VEC),
            OperationRefused,
            r"type param\(max_length\) should be specified for the field\(id\) of collection c",
        ),
        (
            _schema(PK, VEC, field("s", DataType.VARCHAR, max_length=70000)),
            ParameterInvalid,
            r"the maximum length specified for the field\(s\) should be in \(0, 65535\]",
        ),
        (
            _schema(PK, field("v", DataType.FLOAT_VECTOR)),
            OperationRefused,
            "dimension is not defined in field type params of field v",
        ),
        (
            _schema(PK, field("v", DataType.FLOAT_VECTOR, dim=1)),
            OperationRefused,
            "invalid dimension: 1. should be in range 2 ~ 32768",
        ),
        (_schema(PK, field("v", DataType.FLOAT_VECTOR, dim="x")), OperationRefused, "ParseInt"),
        (
            _schema(PK, field("v", DataType.BINARY_VECTOR, dim=12)),
            OperationRefused,
            "invalid dimension: 12 of field v. binary vector dimension should be multiple of 8",
        ),
        (
            _schema(PK, field("v", DataType.FLOAT_VECTOR, dim=32769)),
            OperationRefused,
            "invalid dimension: 32769 of field v. "
            "float vector dimension should be in range 2 ~ 32768",
        ),
        (
            _schema(PK, field("x", DataType.FLOAT)),
            ParameterInvalid,
            "schema does not contain vector field: invalid parameter",
        ),
        (
            _schema(PK, VEC, field("a", DataType.ARRAY)),
            OperationRefused,
            "element data type None is not valid",
        ),
        (
            _schema(PK, VEC, field("x", DataType.INT64, auto_id=True)),
            IllegalSchema,
            "only allowed on the primary key",
        ),
        (_schema(PK, VEC, field("m", DataType.JSON, is_dynamic=True)), IllegalSchema, "dynamic"),
        (
            _schema(field("id", DataType.INT64, is_primary=True, nullable=True), VEC),
            ParameterInvalid,
            "primary field not support null, type:Int64, name:id",
        ),
        (
            _schema(PK, field("v", DataType.FLOAT_VECTOR, dim=8, nullable=True)),
            ParameterInvalid,
            "vector type not support null, type:FloatVector, name:v",
        ),
        (
            _schema(PK, VEC, field("p", DataType.FLOAT, is_partition_key=True)),
            IllegalSchema,
            "partition key",
        ),
    ],
)
def test_validate_new_schema_refuses(schema: CollectionSchema, error: type, words: str) -> None:
    with pytest.raises(error, match=words):
        convert.validate_new_schema(schema)


def test_validate_new_schema_accepts_varchar_auto_id_and_binary() -> None:
    schema = convert.validate_new_schema(
        _schema(
            field("id", DataType.VARCHAR, is_primary=True, auto_id=True, max_length=" 36 "),
            field("b", DataType.BINARY_VECTOR, dim=64),
        )
    )
    assert declared(schema, "id").max_length == 36
    assert convert.arrow_schema(schema).field("b").type == pa.binary(8)


def test_arrow_schema_layout() -> None:
    layout = convert.arrow_schema(all_types_schema(dynamic=True))
    assert layout.field("vec").type == pa.list_(pa.float32(), 4)
    assert layout.field("bits").type == pa.binary(2)
    assert layout.field("i8").type == pa.int8() and layout.field("f32").type == pa.float32()
    assert layout.field("doc").type == pa.string() and layout.field("$meta").type == pa.string()
    assert layout.field("i64").nullable and not layout.field("id").nullable


def test_public_names_are_pinned() -> None:
    """Callers use ``convert.<name>``; the split into private modules must not change that."""
    assert sorted(convert.__all__) == [
        "IteratorPage",
        "MAX_ARRAY_CAPACITY",
        "MAX_NAME_LENGTH",
        "MAX_VARCHAR_LENGTH",
        "MAX_VECTOR_DIM",
        "NAME_PATTERN",
        "added_field_from_proto",
        "arrow_schema",
        "field_data_from_table",
        "flag",
        "grouping_from_params",
        "ids_from_proto",
        "ids_to_proto",
        "iterator_page_from_params",
        "json_object",
        "kv_pairs_to_dict",
        "output_columns",
        "resolve_output_fields",
        "schema_from_proto",
        "schema_to_proto",
        "status",
        "table_from_field_data",
        "validate_alias",
        "validate_collection_name",
        "validate_database_name",
        "validate_field_name",
        "validate_new_schema",
        "validate_partition_name",
        "vectors_from_placeholder_group",
        "window_from_params",
        "with_primary_keys",
    ]
    assert all(hasattr(convert, name) for name in convert.__all__)
    assert convert.arrow_schema is columns.arrow_schema


# ---- insert data ------------------------------------------------------------------------------


def test_every_type_round_trips_through_a_table() -> None:
    schema = all_types_schema()
    table = convert.table_from_field_data(columns_for(schema, COLUMNS), ROWS, schema)

    assert table.schema.equals(convert.arrow_schema(schema))
    assert table.column("i64").to_pylist() == COLUMNS["i64"]
    assert json.loads(table.column("doc")[1].as_py()) == [1, 2]

    out = convert.field_data_from_table(table, schema, list(COLUMNS))
    assert [fd.field_name for fd in out] == list(COLUMNS)
    for fd in out:
        expected = COLUMNS[fd.field_name]
        assert fd.field_id == declared(schema, fd.field_name).field_id
        if fd.field_name == "f32":
            assert decoded(fd) == pytest.approx(expected)
        else:
            assert decoded(fd) == expected, fd.field_name
    assert list(out[5].valid_data) == [True, False, True]


def test_nullable_column_may_also_carry_a_slot_per_row() -> None:
    schema = all_types_schema()
    columns = columns_for(schema, COLUMNS)
    nullable = next(fd for fd in columns if fd.field_name == "i64")
    del nullable.scalars.long_data.data[:]
    nullable.scalars.long_data.data.extend([2**62, 0, -(2**63)])
    table = convert.table_from_field_data(columns, ROWS, schema)
    assert table.column("i64").to_pylist() == COLUMNS["i64"]


def test_absent_nullable_field_is_all_null() -> None:
    schema = all_types_schema()
    columns = [fd for fd in columns_for(schema, COLUMNS) if fd.field_name != "i64"]
    table = convert.table_from_field_data(columns, ROWS, schema)
    assert table.column("i64").null_count == ROWS


def test_auto_id_keys_are_added_in_schema_position() -> None:
    schema = all_types_schema(auto_id=True)
    columns = [fd for fd in columns_for(schema, COLUMNS) if fd.field_name != "id"]
    table = convert.table_from_field_data(columns, ROWS, schema)
    assert "id" not in table.column_names
    table = convert.with_primary_keys(table, schema, np.array([11, 12, 13]))
    assert table.schema.equals(convert.arrow_schema(schema))
    assert table.column("id").to_pylist() == [11, 12, 13]

    upsert = convert.table_from_field_data(
        columns_for(schema, COLUMNS), ROWS, schema, for_upsert=True
    )
    assert upsert.column("id").to_pylist() == COLUMNS["id"]


def _replace(schema: CollectionSchema, name: str, fd: Any) -> list[Any]:
    return [fd if c.field_name == name else c for c in columns_for(schema, COLUMNS)]


def _bad_columns() -> list[tuple[str, Any, type, str]]:
    schema = all_types_schema()
    long_vec = field_data("vec", COLUMNS["vec"], DataType.FLOAT_VECTOR, 4)
    long_vec.vectors.float_vector.data.append(1.0)
    nan_vec = field_data("vec", COLUMNS["vec"], DataType.FLOAT_VECTOR, 4)
    nan_vec.vectors.float_vector.data[0] = math.nan
    lying_type = field_data("i32", [1, 2, 3], DataType.INT32)
    lying_type.type = DataType.INT64
    return [
        (
            "missing field",
            [c for c in columns_for(schema, COLUMNS) if c.field_name != "flag"],
            DataInvalid,
            "field 'flag' is missing",
        ),
        (
            "unknown field",
            [*columns_for(schema, COLUMNS), field_data("extra", [1, 2, 3], DataType.INT64)],
            DataInvalid,
            "'extra' does not exist",
        ),
        (
            "wrong type",
            _replace(schema, "f64", field_data("f64", ["a", "b", "c"], DataType.VARCHAR)),
            DataInvalid,
            "'f64' is Double in the schema but the data is VarChar",
        ),
        (
            "wrong slot",
            _replace(schema, "i32", lying_type),
            DataInvalid,
            "Int32 in the schema but the data is Int64",
        ),
        (
            "wrong dim",
            _replace(schema, "vec", field_data("vec", [[1.0] * 8] * 3, DataType.FLOAT_VECTOR, 8)),
            ParameterInvalid,
            r"the dim \(8\) of field data\(vec\) is not equal to schema dim \(4\): "
            r"invalid parameter\[expected=4\]\[actual=8\]",
        ),
        (
            "vector count",
            _replace(schema, "vec", long_vec),
            OperationRefused,
            r"the length\(13\) of float data should divide the dim\(4\)",
        ),
        ("nan", _replace(schema, "vec", nan_vec), DataInvalid, "NaN"),
        (
            "binary length",
            _replace(schema, "bits", field_data("bits", [b"\x01"] * 3, DataType.BINARY_VECTOR, 16)),
            OperationRefused,
            r"the num\(24\) of all bits should divide the dim\(16\)",
        ),
        (
            "too long",
            _replace(schema, "name", field_data("name", ["a", "b", "x" * 9], DataType.VARCHAR)),
            DataInvalid,
            r"length \(9\) of field 'name' in row 2 exceeds its max_length \(8\)",
        ),
        (
            "row count",
            _replace(schema, "f64", field_data("f64", [1.0, 2.0], DataType.DOUBLE)),
            DataInvalid,
            "'f64' has 2 rows but the request has 3",
        ),
        (
            "int8 range",
            _replace(schema, "i8", field_data("i8", [1, 128, 3], DataType.INT8)),
            DataInvalid,
            r"128 of field 'i8' \(row 1\) is out of the Int8 range",
        ),
        (
            "bad json",
            _replace(schema, "doc", _raw_json("doc", [b"{", b"1", b"2"])),
            DataInvalid,
            "not valid JSON",
        ),
        (
            "null in non-nullable",
            _replace(schema, "i32", field_data("i32", [1, None, 3], DataType.INT32)),
            DataInvalid,
            "not nullable",
        ),
        (
            "duplicate column",
            [*columns_for(schema, COLUMNS), field_data("flag", [True] * 3, DataType.BOOL)],
            DataInvalid,
            "more than once",
        ),
    ]


def _raw_json(name: str, documents: list[bytes]) -> Any:
    fd = schema_pb2.FieldData(field_name=name, type=schema_pb2.DataType.ValueType(DataType.JSON))
    fd.scalars.json_data.data.extend(documents)
    return fd


@pytest.mark.parametrize(("case", "columns", "error", "words"), _bad_columns())
def test_insert_data_errors(case: str, columns: list[Any], error: type, words: str) -> None:
    with pytest.raises(error, match=words):
        convert.table_from_field_data(columns, ROWS, all_types_schema())


def test_auto_id_rules_and_empty_requests() -> None:
    schema = all_types_schema(auto_id=True)
    with pytest.raises(DataInvalid, match="auto_id"):
        convert.table_from_field_data(columns_for(schema, COLUMNS), ROWS, schema)
    without_pk = [c for c in columns_for(schema, COLUMNS) if c.field_name != "id"]
    with pytest.raises(DataInvalid, match="'id' is missing"):
        convert.table_from_field_data(without_pk, ROWS, schema, for_upsert=True)
    with pytest.raises(DataInvalid, match="no rows"):
        convert.table_from_field_data([], 0, schema)


# ---- dynamic field ----------------------------------------------------------------------------


def test_dynamic_keys_are_stored_in_meta_and_returned_by_name() -> None:
    schema = all_types_schema(dynamic=True)
    meta = _raw_json("$meta", [b'{"color": "red", "n": 1}', b"{}", b'{"color": "blue"}'])
    meta.is_dynamic = True
    extra = field_data("size", [10, 20, 30], DataType.INT64)
    table = convert.table_from_field_data(
        [*columns_for(schema, COLUMNS), meta, extra], ROWS, schema
    )

    assert table.schema.equals(convert.arrow_schema(schema))  # "$meta" is nullable there
    rows = [json.loads(t) for t in table.column("$meta").to_pylist()]
    assert rows == [
        {"color": "red", "n": 1, "size": 10},
        {"size": 20},
        {"color": "blue", "size": 30},
    ]

    names = convert.resolve_output_fields(schema, ["id", "color", "size"])
    assert convert.output_columns(schema, names) == ["id", "$meta"]
    out = convert.field_data_from_table(table, schema, names)
    assert [fd.field_name for fd in out] == ["id", "$meta"]
    assert out[1].is_dynamic and DataType(out[1].type) == DataType.JSON
    assert decoded(out[1]) == [
        {"color": "red", "size": 10},
        {"size": 20},
        {"color": "blue", "size": 30},
    ]

    whole = convert.field_data_from_table(table, schema, ["$meta"])
    assert decoded(whole[0]) == rows


def test_dynamic_field_errors() -> None:
    schema = all_types_schema(dynamic=True)
    clash = _raw_json("$meta", [b'{"flag": 1}', b"{}", b"{}"])
    clash.is_dynamic = True
    with pytest.raises(DataInvalid, match="'flag', which is a field of the schema"):
        convert.table_from_field_data([*columns_for(schema, COLUMNS), clash], ROWS, schema)
    not_object = _raw_json("$meta", [b"[1]", b"{}", b"{}"])
    not_object.is_dynamic = True
    with pytest.raises(DataInvalid, match="not a JSON object"):
        convert.table_from_field_data([*columns_for(schema, COLUMNS), not_object], ROWS, schema)


def test_resolve_output_fields() -> None:
    static = all_types_schema()
    assert convert.resolve_output_fields(static, ["*", "id"]) == list(COLUMNS)
    with pytest.raises(FieldNotFound, match="'nope' does not exist"):
        convert.resolve_output_fields(static, ["nope"])
    dynamic = all_types_schema(dynamic=True)
    assert convert.resolve_output_fields(dynamic, ["*"])[-1] == "$meta"
    with pytest.raises(FieldNotFound, match="valid dynamic field key"):
        convert.resolve_output_fields(dynamic, ["a b"])


def test_empty_results_keep_their_types() -> None:
    schema = all_types_schema(dynamic=True)
    empty = pa.Table.from_batches([], convert.arrow_schema(schema))
    out = convert.field_data_from_table(empty, schema, ["id", "name", "vec", "bits", "color"])
    assert [fd.WhichOneof("field") for fd in out] == [
        "scalars",
        "scalars",
        "vectors",
        "vectors",
        "scalars",
    ]
    assert out[0].scalars.WhichOneof("data") == "long_data"
    assert out[2].vectors.dim == 4 and out[3].vectors.dim == 16


def test_sliced_and_chunked_tables_convert_correctly() -> None:
    schema = all_types_schema()
    table = convert.table_from_field_data(columns_for(schema, COLUMNS), ROWS, schema)
    chunked = pa.concat_tables([table, table]).slice(2, 2)
    out = convert.field_data_from_table(chunked, schema, ["vec", "bits", "id"])
    assert decoded(out[0]) == [COLUMNS["vec"][2], COLUMNS["vec"][0]]
    assert decoded(out[1]) == [COLUMNS["bits"][2], COLUMNS["bits"][0]]
    assert decoded(out[2]) == [9, 7]


# ---- ids, placeholders, params, status --------------------------------------------------------


def test_ids_round_trip() -> None:
    ints = convert.ids_to_proto(pa.array([1, 2, 3], pa.int64()), DataType.INT64)
    assert ints.WhichOneof("id_field") == "int_id"
    assert convert.ids_from_proto(ints) == [1, 2, 3]
    strs = convert.ids_to_proto(["a", "b"], DataType.VARCHAR)
    assert convert.ids_from_proto(schema_pb2.IDs.FromString(strs.SerializeToString())) == ["a", "b"]
    empty = convert.ids_to_proto(np.array([], dtype=np.int64), DataType.INT64)
    assert empty.WhichOneof("id_field") == "int_id"
    assert convert.ids_from_proto(schema_pb2.IDs()) == []


def placeholder_group(values: list[bytes], kind: int = common_pb2.FloatVector) -> bytes:
    group = common_pb2.PlaceholderGroup()
    group.placeholders.add(tag="$0", type=kind, values=values)
    return group.SerializeToString()


def test_float_and_binary_query_vectors() -> None:
    vec = field("v", DataType.FLOAT_VECTOR, dim=3)
    data = placeholder_group([struct.pack("3f", 1, 2, 3), struct.pack("3f", 4, 5, 6)])
    vectors = convert.vectors_from_placeholder_group(data, vec)
    assert vectors.dtype == np.float32 and vectors.tolist() == [[1, 2, 3], [4, 5, 6]]

    bits = field("b", DataType.BINARY_VECTOR, dim=16)
    data = placeholder_group([b"\x01\x02"], common_pb2.BinaryVector)
    vectors = convert.vectors_from_placeholder_group(data, bits)
    assert vectors.dtype == np.uint8 and vectors.tolist() == [[1, 2]]


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (placeholder_group([struct.pack("2f", 1, 2)]), r"dim \(2\) of query vector 0 .* \(3\)"),
        (placeholder_group([]), "no query vectors"),
        (placeholder_group([b"\x01"], common_pb2.BinaryVector), "are BinaryVector"),
        (placeholder_group([struct.pack("3f", 1, math.inf, 3)]), "infinite"),
        (b"\xff\xff\xff", "cannot be parsed"),
        (common_pb2.PlaceholderGroup().SerializeToString(), "one group"),
    ],
)
def test_query_vector_errors(data: bytes, words: str) -> None:
    with pytest.raises(DataInvalid, match=words):
        convert.vectors_from_placeholder_group(data, field("v", DataType.FLOAT_VECTOR, dim=3))


def test_kv_pairs_to_dict() -> None:
    pairs = [
        common_pb2.KeyValuePair(key="a", value="1"),
        common_pb2.KeyValuePair(key="b", value=""),
    ]
    assert convert.kv_pairs_to_dict(pairs) == {"a": "1", "b": ""}
    with pytest.raises(ParameterInvalid, match="'a' is given twice"):
        convert.kv_pairs_to_dict([*pairs, common_pb2.KeyValuePair(key="a", value="2")])


def test_status() -> None:
    ok = convert.status(None)
    assert ok.code == 0 and ok.error_code == common_pb2.Success and not ok.reason
    missing = convert.status(CollectionNotFound("c"))
    assert (missing.code, missing.error_code, missing.reason) == (
        100,
        common_pb2.CollectionNotExists,
        "collection not found[c]",
    )
    stray = convert.status(ZeroDivisionError("boom"))
    assert stray.code == 65535 and "ZeroDivisionError: boom" in stray.reason
    assert "Traceback" not in stray.reason


# ---- the real pymilvus on both ends -----------------------------------------------------------


def run_pymilvus(command: dict[str, Any]) -> dict[str, Any]:
    if importlib.util.find_spec("pymilvus") is None:
        pytest.skip("pymilvus is not installed")
    result = subprocess.run(
        [sys.executable, str(CODEC)],
        input=json.dumps(command),
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": ""},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


def test_pymilvus_row_insert_converts_to_a_table() -> None:
    schema = all_types_schema(dynamic=True, auto_id=True)
    describe = milvus_pb2.DescribeCollectionResponse(schema=convert.schema_to_proto(schema))
    rows = [
        {
            **{k: v[i] for k, v in COLUMNS.items() if k not in ("id", "bits")},
            "bits": {"bytes": COLUMNS["bits"][i].hex()},
            "color": f"c{i}",
        }
        for i in range(ROWS)
    ]
    reply = run_pymilvus(
        {"op": "insert", "describe": describe.SerializeToString().hex(), "rows": rows}
    )
    request = milvus_pb2.InsertRequest.FromString(bytes.fromhex(reply["request"]))
    table = convert.table_from_field_data(request.fields_data, request.num_rows, schema)
    for name, values in COLUMNS.items():
        if name == "id":
            continue
        column = table.column(name).to_pylist()
        if name == "doc":
            column = [json.loads(v) for v in column]
        if name == "f32":
            assert column == pytest.approx(values)
        else:
            assert column == values, name
    assert [json.loads(v) for v in table.column("$meta").to_pylist()] == [
        {"color": "c0"},
        {"color": "c1"},
        {"color": "c2"},
    ]


def test_pymilvus_decodes_our_query_results() -> None:
    schema = all_types_schema(dynamic=True)
    meta = _raw_json("$meta", [b'{"color": "red"}', b"{}", b'{"color": "blue", "n": 2}'])
    meta.is_dynamic = True
    table = convert.table_from_field_data([*columns_for(schema, COLUMNS), meta], ROWS, schema)
    names = convert.resolve_output_fields(schema, ["id", "i64", "name", "doc", "vec", "color"])
    results = milvus_pb2.QueryResults(
        fields_data=convert.field_data_from_table(table, schema, names), output_fields=names
    )
    rows = run_pymilvus({"op": "query", "results": results.SerializeToString().hex()})["rows"]
    assert [r["id"] for r in rows] == COLUMNS["id"]
    assert [r["i64"] for r in rows] == COLUMNS["i64"]
    assert [r["name"] for r in rows] == COLUMNS["name"]
    assert [r["doc"] for r in rows] == COLUMNS["doc"]
    assert [r["vec"] for r in rows] == COLUMNS["vec"]
    assert [r.get("color") for r in rows] == ["red", None, "blue"]
    assert all("n" not in r for r in rows)


def test_pymilvus_decodes_our_search_results() -> None:
    schema = all_types_schema(dynamic=True)
    table = convert.table_from_field_data(columns_for(schema, COLUMNS), ROWS, schema)
    hits = table.take([2, 0, 1])  # query 0 -> rows 2, 0; query 1 -> row 1
    names = convert.resolve_output_fields(schema, ["name", "bits"])
    data = schema_pb2.SearchResultData(
        num_queries=2,
        top_k=2,
        topks=[2, 1],
        scores=[0.1, 0.2, 0.3],
        ids=convert.ids_to_proto(hits.column("id").combine_chunks(), DataType.INT64),
        fields_data=convert.field_data_from_table(hits, schema, names),
        output_fields=names,
        primary_field_name="id",
    )
    reply = run_pymilvus(
        {
            "op": "search",
            "results": milvus_pb2.SearchResults(results=data).SerializeToString().hex(),
        }
    )
    assert [[h["id"] for h in q] for q in reply["hits"]] == [[9, 7], [8]]
    assert reply["hits"][0][0]["distance"] == pytest.approx(0.1)
    assert reply["hits"][0][0]["entity"]["name"] == "12345678"
    assert reply["hits"][0][1]["entity"] == {"name": "a", "bits": {"bytes": "0102"}}
    assert reply["hits"][1][0]["entity"]["bits"] == {"bytes": COLUMNS["bits"][1].hex()}


def test_json_object_params() -> None:
    assert convert.json_object('{"nlist": 8}', "index params") == {"nlist": 8}
    assert convert.json_object("", "search params") == {}
    for bad in ("{", "[1, 2]", "3"):
        with pytest.raises(ParameterInvalid, match="search params"):
            convert.json_object(bad, "search params")
