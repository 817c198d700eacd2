"""ARRAY fields, nullable fields and default values: schema rules, insert data, results.

Wire messages are built by hand in pymilvus's layout (one ScalarField per row in
``array_data``; compacted values plus ``valid_data`` for nulls), then followed
through Arrow, Parquet segment files, a growing segment and the filters.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from elanus import expr
from elanus.errors import (
    DataInvalid,
    ElanusError,
    IllegalSchema,
    OperationRefused,
    ParameterInvalid,
    Unimplemented,
)
from elanus.schema import CollectionSchema, DataType, FieldSchema
from elanus.segment.files import read_segment, write_segment
from proto.public import schema_pb2
from proxy import convert
from querynode.segment import Segment

SLOT = {
    DataType.BOOL: "bool_data",
    DataType.INT32: "int_data",
    DataType.INT64: "long_data",
    DataType.DOUBLE: "double_data",
    DataType.VARCHAR: "string_data",
}


def field(name: str, data_type: DataType, **kwargs: Any) -> FieldSchema:
    keys = ("dim", "max_length", "max_capacity")
    params = {k: str(kwargs.pop(k)) for k in keys if k in kwargs}
    return FieldSchema(name=name, data_type=data_type, type_params=params, **kwargs)


PK = field("id", DataType.INT64, is_primary=True)
VEC = field("v", DataType.FLOAT_VECTOR, dim=2)


def make_schema(*fields: FieldSchema) -> CollectionSchema:
    return convert.validate_new_schema(CollectionSchema(name="c", fields=(PK, VEC, *fields)))


def tags_schema() -> CollectionSchema:
    return make_schema(
        field("tags", DataType.ARRAY, element_type=DataType.VARCHAR, max_capacity=3, max_length=4),
        field("nums", DataType.ARRAY, element_type=DataType.INT32, max_capacity=4, nullable=True),
        field("score", DataType.INT64, nullable=True),
        field("label", DataType.VARCHAR, max_length=8, default_value="none"),
        field("weight", DataType.DOUBLE, nullable=True, default_value=0.5),
    )


def array_fd(name: str, element: DataType, rows: list[list[Any]], valid: list[bool] | None = None):
    fd = schema_pb2.FieldData(type=schema_pb2.DataType.ValueType(DataType.ARRAY), field_name=name)
    fd.scalars.array_data.SetInParent()
    for row in rows:
        cell = fd.scalars.array_data.data.add()
        getattr(cell, SLOT[element]).data.extend(row)
    if valid is not None:
        fd.valid_data.extend(valid)
    return fd


def scalar_fd(name: str, data_type: DataType, values: list[Any], valid: list[bool] | None = None):
    fd = schema_pb2.FieldData(type=schema_pb2.DataType.ValueType(data_type), field_name=name)
    slot = getattr(fd.scalars, SLOT[data_type])
    slot.SetInParent()
    slot.data.extend(values)
    if valid is not None:
        fd.valid_data.extend(valid)
    return fd


def base_fds(count: int) -> list[schema_pb2.FieldData]:
    ids = scalar_fd("id", DataType.INT64, list(range(count)))
    vec = schema_pb2.FieldData(
        type=schema_pb2.DataType.ValueType(DataType.FLOAT_VECTOR), field_name="v"
    )
    vec.vectors.dim = 2
    vec.vectors.float_vector.data.extend([0.0] * 2 * count)
    return [ids, vec]


def tags_table() -> pa.Table:
    """4 rows: nums null in row 1, score null in rows 0 and 3, label/weight defaulted."""
    fds = [
        *base_fds(4),
        array_fd("tags", DataType.VARCHAR, [["a"], [], ["b", "cc"], ["a", "b", "dddd"]]),
        array_fd("nums", DataType.INT32, [[1, 2], [3], [7, 8, 9]], valid=[True, False, True, True]),
        scalar_fd("score", DataType.INT64, [10, 20], valid=[False, True, True, False]),
        scalar_fd("label", DataType.VARCHAR, ["x"], valid=[False, False, True, False]),
    ]
    return convert.table_from_field_data(fds, 4, tags_schema())


# --- schemas -------------------------------------------------------------------


def test_schema_round_trips_arrays_nullable_and_defaults() -> None:
    schema = tags_schema()
    pb = convert.schema_to_proto(schema)
    tags = next(f for f in pb.fields if f.name == "tags")
    assert DataType(tags.element_type) == DataType.VARCHAR
    assert {kv.key: kv.value for kv in tags.type_params} == {"max_capacity": "3", "max_length": "4"}
    label = next(f for f in pb.fields if f.name == "label")
    assert label.default_value.string_data == "none"
    weight = next(f for f in pb.fields if f.name == "weight")
    assert weight.nullable and weight.default_value.double_data == 0.5
    again = convert.validate_new_schema(convert.schema_from_proto(pb))
    assert again == schema
    assert CollectionSchema.from_dict(schema.to_dict()) == schema


def test_integer_and_float_defaults_accept_either_slot() -> None:
    """pymilvus sends long_data for an Int32 default and double_data for a Float one."""
    pb = schema_pb2.CollectionSchema(name="c")
    pb.fields.add(name="i", data_type=DataType.INT32).default_value.long_data = 5
    pb.fields.add(name="f", data_type=DataType.FLOAT).default_value.double_data = 0.25
    fields = convert.schema_from_proto(pb).fields
    assert [f.default_value for f in fields] == [5, 0.25]


def test_element_type_is_dropped_for_non_array_fields() -> None:
    pb = schema_pb2.CollectionSchema(name="c")
    pb.fields.add(name="i", data_type=DataType.INT64, element_type=DataType.INT8)
    assert convert.schema_from_proto(pb).fields[0].element_type == DataType.NONE


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (field("a", DataType.ARRAY, max_capacity=4), "element data type None is not valid"),
        (
            field("a", DataType.ARRAY, element_type=DataType.JSON, max_capacity=4),
            "element type JSON is not supported",
        ),
        (
            field("a", DataType.ARRAY, element_type=DataType.ARRAY, max_capacity=4),
            "element type Array is not",
        ),
        (
            field("a", DataType.ARRAY, element_type=DataType.INT64),
            r"type param\(max_capacity\) should be specified for array field a",
        ),
        (
            field("a", DataType.ARRAY, element_type=DataType.INT64, max_capacity=0),
            r"should be in \(0, 4096\]",
        ),
        (field("a", DataType.ARRAY, element_type=DataType.INT64, max_capacity=4097), "4096"),
        (
            field("a", DataType.ARRAY, element_type=DataType.VARCHAR, max_capacity=4),
            r"type param\(max_length\) should be specified for the field\(a\)",
        ),
        (
            field(
                "a", DataType.ARRAY, element_type=DataType.VARCHAR, max_capacity=4, max_length=70000
            ),
            r"should be in \(0, 65535\], but got 70000 instead",
        ),
        (
            field(
                "a", DataType.ARRAY, element_type=DataType.INT64, max_capacity=4, default_value=1
            ),
            "type not support default_value, type:Array, name:a",
        ),
        (field("j", DataType.JSON, default_value="{}"), "type not support default_value"),
        (field("w", DataType.FLOAT_VECTOR, dim=2, default_value=1.0), "type:FloatVector, name:w"),
        (field("w", DataType.FLOAT_VECTOR, dim=2, nullable=True), "vector type not support null"),
        (field("x", DataType.INT64, default_value="7"), "does not match its type Int64"),
        (field("x", DataType.INT32, default_value=True), "does not match its type Int32"),
        (field("x", DataType.BOOL, default_value=1), "does not match its type Bool"),
        (field("x", DataType.DOUBLE, default_value=1), "does not match its type Double"),
        (field("x", DataType.VARCHAR, max_length=4, default_value=3.0), "does not match"),
        (field("x", DataType.INT8, default_value=128), "out of the Int8 range"),
        (
            field("x", DataType.VARCHAR, max_length=2, default_value="abc"),
            r"the length \(3\) of string exceeds max length \(2\)",
        ),
    ],
)
def test_schema_rules(extra: FieldSchema, words: str) -> None:
    with pytest.raises(ElanusError, match=words):
        make_schema(extra)


def test_primary_key_rules() -> None:
    vec = field("v", DataType.FLOAT_VECTOR, dim=2)
    array_pk = field(
        "id", DataType.ARRAY, element_type=DataType.INT64, max_capacity=2, is_primary=True
    )
    with pytest.raises(IllegalSchema, match="cannot be the primary key"):
        convert.validate_new_schema(CollectionSchema(name="c", fields=(array_pk, vec)))
    defaulted = field("id", DataType.INT64, is_primary=True, default_value=3)
    with pytest.raises(
        ParameterInvalid, match="primary field not support default_value, type:Int64, name:id"
    ):
        convert.validate_new_schema(CollectionSchema(name="c", fields=(defaulted, vec)))


def test_schema_from_proto_checks_default_slots() -> None:
    pb = schema_pb2.CollectionSchema(name="c")
    pb.fields.add(name="x", data_type=DataType.INT64).default_value.string_data = "7"
    with pytest.raises(
        ParameterInvalid,
        match=r"type \(Int64\) of field \(x\) is not equal to the type\(DataType_VarChar\) "
        "of default_value: invalid parameter",
    ):
        convert.schema_from_proto(pb)
    pb = schema_pb2.CollectionSchema(name="c")
    pb.fields.add(name="a", data_type=DataType.ARRAY, element_type=77)
    with pytest.raises(OperationRefused, match="element type 77 is not supported"):
        convert.schema_from_proto(pb)


def test_sparse_vectors_are_unimplemented() -> None:
    with pytest.raises(Unimplemented, match="sparse"):
        make_schema(field("h", DataType.SPARSE_FLOAT_VECTOR, dim=8))


@pytest.mark.parametrize("data_type", [DataType.FLOAT16_VECTOR, DataType.BFLOAT16_VECTOR])
def test_half_precision_vectors_are_declared_like_float_vectors(data_type: DataType) -> None:
    schema = make_schema(field("h", data_type, dim=6))
    declared = schema.field("h")
    assert declared is not None
    assert declared.data_type == data_type and declared.dim == 6


# --- insert data -----------------------------------------------------------------


def test_insert_builds_list_columns_nulls_and_defaults() -> None:
    table = tags_table()
    assert table.schema.field("tags").type == pa.list_(pa.string())
    assert table.schema.field("nums").type == pa.list_(pa.int32())
    assert table.column("tags").to_pylist() == [["a"], [], ["b", "cc"], ["a", "b", "dddd"]]
    assert table.column("nums").to_pylist() == [[1, 2], None, [3], [7, 8, 9]]
    assert table.column("score").to_pylist() == [None, 10, 20, None]
    assert table.column("label").to_pylist() == ["none", "none", "x", "none"]
    assert table.column("weight").to_pylist() == [0.5] * 4  # omitted: the default


def test_full_length_values_with_valid_data_are_accepted() -> None:
    """Values for every row (nulls as placeholders) are the other layout Milvus allows."""
    fds = [
        *base_fds(3),
        array_fd("tags", DataType.VARCHAR, [["a"], ["b"], ["c"]]),
        array_fd("nums", DataType.INT32, [[1], [0], [2]], valid=[True, False, True]),
        scalar_fd("score", DataType.INT64, [1, 0, 3], valid=[True, False, True]),
        scalar_fd("label", DataType.VARCHAR, ["p", "", "q"], valid=[True, False, True]),
        scalar_fd("weight", DataType.DOUBLE, [], valid=[False, False, False]),
    ]
    table = convert.table_from_field_data(fds, 3, tags_schema())
    assert table.column("nums").to_pylist() == [[1], None, [2]]
    assert table.column("score").to_pylist() == [1, None, 3]
    assert table.column("label").to_pylist() == ["p", "none", "q"]
    assert table.column("weight").to_pylist() == [0.5, 0.5, 0.5]


def test_omitted_nullable_column_is_all_null() -> None:
    fds = [*base_fds(2), array_fd("tags", DataType.VARCHAR, [[], []])]
    table = convert.table_from_field_data(fds, 2, tags_schema())
    assert table.column("nums").to_pylist() == [None, None]
    assert table.column("score").null_count == 2


@pytest.mark.parametrize(
    ("replacement", "words"),
    [
        (array_fd("tags", DataType.VARCHAR, [["a", "b", "c", "d"], []]), "2 rows|max_capacity"),
        (array_fd("tags", DataType.VARCHAR, [["abcde"], ["a"]]), "longer than its max_length"),
        (array_fd("tags", DataType.INT64, [[1], [2]]), "holds long data"),
        (array_fd("tags", DataType.VARCHAR, [["a"]]), "1 rows but the request has 2"),
        (
            array_fd("tags", DataType.VARCHAR, [["a"], ["b"]], valid=[True, False]),
            "not nullable",
        ),
    ],
)
def test_bad_array_data(replacement: schema_pb2.FieldData, words: str) -> None:
    with pytest.raises(DataInvalid, match=words):
        convert.table_from_field_data([*base_fds(2), replacement], 2, tags_schema())


def test_array_elements_are_range_checked() -> None:
    schema = make_schema(field("small", DataType.ARRAY, element_type=DataType.INT8, max_capacity=2))
    fd = schema_pb2.FieldData(
        type=schema_pb2.DataType.ValueType(DataType.ARRAY), field_name="small"
    )
    fd.scalars.array_data.data.add().int_data.data.extend([1, 300])
    with pytest.raises(DataInvalid, match="Int8 range"):
        convert.table_from_field_data([*base_fds(1), fd], 1, schema)


def test_nulls_in_a_non_nullable_field_without_default_are_refused() -> None:
    schema = make_schema(field("n", DataType.INT64))
    bad = scalar_fd("n", DataType.INT64, [1], valid=[True, False])
    with pytest.raises(DataInvalid, match="not nullable"):
        convert.table_from_field_data([*base_fds(2), bad], 2, schema)
    with pytest.raises(DataInvalid, match="missing"):
        convert.table_from_field_data(base_fds(2), 2, schema)


# --- results ---------------------------------------------------------------------


def test_results_carry_arrays_with_element_type_and_valid_data() -> None:
    schema = tags_schema()
    out = convert.field_data_from_table(tags_table(), schema, ["tags", "nums", "score"])
    tags, nums, score = out
    assert DataType(tags.scalars.array_data.element_type) == DataType.VARCHAR
    assert [list(c.string_data.data) for c in tags.scalars.array_data.data] == [
        ["a"],
        [],
        ["b", "cc"],
        ["a", "b", "dddd"],
    ]
    assert not tags.valid_data
    assert list(nums.valid_data) == [True, False, True, True]
    assert [list(c.int_data.data) for c in nums.scalars.array_data.data] == [
        [1, 2],
        [],
        [3],
        [7, 8, 9],
    ]
    assert all(c.WhichOneof("data") == "int_data" for c in nums.scalars.array_data.data)
    assert list(score.valid_data) == [False, True, True, False]


# --- storage, growing segments and filters ------------------------------------------


def with_ts(table: pa.Table) -> pa.Table:
    return table.append_column("_ts", pa.array(np.arange(table.num_rows, dtype=np.uint64)))


def test_segment_files_round_trip_lists_and_nulls() -> None:
    table = with_ts(tags_table())
    back = read_segment(write_segment(table))
    assert back.equals(table)


def test_growing_segment_appends_list_columns() -> None:
    schema = tags_schema()
    segment = Segment.empty(1, 1, schema, convert.arrow_schema(schema))
    rows = tags_table()
    for timestamp in (5, 6, 7):
        segment.append(rows, timestamp)
    assert segment.num_rows == 12
    assert segment.table.column("nums").to_pylist()[4:8] == [[1, 2], None, [3], [7, 8, 9]]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("array_contains(tags, 'a')", [True, False, False, True]),
        ("array_contains_all(tags, ['a', 'b'])", [False, False, False, True]),
        ("array_contains_any(nums, [3, 9])", [False, False, True, True]),
        ("array_length(tags) == 0", [False, True, False, False]),
        ("nums[1] == 2", [True, False, False, False]),
        ("nums is null", [False, True, False, False]),
        ("score is not null", [False, True, True, False]),
        ("score > 15", [False, False, True, False]),
        ("label == 'none' and weight == 0.5", [True, True, False, True]),
    ],
)
def test_filters_over_arrays_and_nulls(text: str, expected: list[bool]) -> None:
    schema = tags_schema()
    mask = expr.evaluate(expr.parse(text, schema), tags_table())
    assert mask.tolist() == expected
    sealed = read_segment(write_segment(with_ts(tags_table())))
    assert expr.evaluate(expr.parse(text, schema), sealed).tolist() == expected


def test_varchar_elements_need_a_max_length_before_a_capacity_is_checked() -> None:
    elements = field("a", DataType.ARRAY, element_type=DataType.VARCHAR)  # neither param
    with pytest.raises(OperationRefused, match=r"type param\(max_length\) should be specified"):
        make_schema(elements)


def test_string_fields_are_refused_for_varchar() -> None:
    with pytest.raises(OperationRefused, match="please use VarChar type instead"):
        make_schema(field("s", DataType.STRING))


def test_a_default_longer_than_max_length_names_expected_and_actual() -> None:
    long_default = field("s", DataType.VARCHAR, max_length=2, default_value="abc")
    with pytest.raises(ParameterInvalid) as caught:
        make_schema(long_default)
    assert caught.value.reason == (
        "the length (3) of string exceeds max length (2): invalid parameter"
        "[expected=valid length string][actual=string length exceeds max length]"
    )
