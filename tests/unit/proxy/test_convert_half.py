"""proxy.convert for FLOAT16 and BFLOAT16 fields: insert bytes, results, query vectors.

The wire slots and placeholder numbers are written out here (as pymilvus sends
them) rather than taken from the code under test.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from elanus.columns import half_to_float32
from elanus.errors import DataInvalid, ParameterInvalid
from elanus.schema import CollectionSchema, DataType, FieldSchema
from proto.public import common_pb2, schema_pb2
from proxy import convert

DIM = 8
SLOT = {DataType.FLOAT16_VECTOR: "float16_vector", DataType.BFLOAT16_VECTOR: "bfloat16_vector"}
PLACEHOLDER = {DataType.FLOAT16_VECTOR: 102, DataType.BFLOAT16_VECTOR: 103}
HALF_TYPES = list(SLOT)


def half_schema(data_type: DataType) -> CollectionSchema:
    fields = (
        FieldSchema("id", DataType.INT64, is_primary=True),
        FieldSchema("h", data_type, type_params={"dim": str(DIM)}),
    )
    return convert.validate_new_schema(CollectionSchema(name="c", fields=fields))


def random_bits(data_type: DataType, rows: int) -> np.ndarray:
    values = np.random.default_rng(5).standard_normal((rows, DIM)).astype(np.float32)
    if data_type is DataType.FLOAT16_VECTOR:
        return values.astype(np.float16).view(np.uint16)
    return (values.view(np.uint32) >> 16).astype(np.uint16)


def insert_data(data_type: DataType, raw: bytes, rows: int, **overrides: Any) -> list[Any]:
    ids = schema_pb2.FieldData(field_name="id", type=schema_pb2.DataType.ValueType(DataType.INT64))
    ids.scalars.long_data.data.extend(range(rows))
    vectors = schema_pb2.FieldData(
        field_name="h", type=schema_pb2.DataType.ValueType(overrides.get("type", data_type))
    )
    vectors.vectors.dim = overrides.get("dim", DIM)
    setattr(vectors.vectors, overrides.get("slot", SLOT[data_type]), raw)
    return [ids, vectors]


def placeholder(kind: int, values: list[bytes]) -> bytes:
    group = common_pb2.PlaceholderGroup()
    group.placeholders.add(tag="$0", type=kind, values=values)
    return group.SerializeToString()


@pytest.mark.parametrize("data_type", HALF_TYPES)
def test_insert_and_results_round_trip_bit_exact(data_type: DataType) -> None:
    schema = half_schema(data_type)
    bits = random_bits(data_type, 6)
    bits[2, 3] = 0x8000  # negative zero survives as itself
    table = convert.table_from_field_data(insert_data(data_type, bits.tobytes(), 6), 6, schema)
    (fd,) = convert.field_data_from_table(table.slice(1, 4), schema, ["h"])
    assert fd.type == int(data_type) and fd.vectors.dim == DIM
    assert fd.vectors.WhichOneof("data") == SLOT[data_type]
    assert getattr(fd.vectors, SLOT[data_type]) == bits[1:5].tobytes()


@pytest.mark.parametrize("data_type", HALF_TYPES)
@pytest.mark.parametrize(
    ("overrides", "raw_rows", "words"),
    [
        ({}, 2.5, "holds 2\\+ vectors of dim 8 but the request has 3 rows"),
        ({}, 2, "holds 2 vectors of dim 8 but the request has 3 rows"),
        ({"dim": 4}, 3, "the dim \\(4\\) of field data\\(h\\) is not equal to schema dim \\(8\\)"),
        ({"slot": "binary_vector"}, 3, "holds binary_vector"),
        ({"type": DataType.FLOAT_VECTOR}, 3, "is (B)?Float16Vector in the schema"),
    ],
)
def test_bad_insert_data_is_refused(
    data_type: DataType, overrides: dict[str, Any], raw_rows: float, words: str
) -> None:
    raw = random_bits(data_type, 3).tobytes()[: int(raw_rows * DIM * 2)]
    with pytest.raises(ParameterInvalid, match=words):  # DataInvalid is one too
        convert.table_from_field_data(
            insert_data(data_type, raw, 3, **overrides), 3, half_schema(data_type)
        )


@pytest.mark.parametrize("data_type", HALF_TYPES)
def test_nan_and_infinity_are_refused(data_type: DataType) -> None:
    bits = random_bits(data_type, 2)
    bits[1, 0] = 0x7C00 if data_type is DataType.FLOAT16_VECTOR else 0x7F80  # +inf
    with pytest.raises(DataInvalid, match="NaN or infinite"):
        convert.table_from_field_data(
            insert_data(data_type, bits.tobytes(), 2), 2, half_schema(data_type)
        )


@pytest.mark.parametrize("data_type", HALF_TYPES)
def test_query_vectors_of_the_field_type_become_float32(data_type: DataType) -> None:
    f = half_schema(data_type).field("h")
    assert f is not None
    bits = random_bits(data_type, 3)
    expected = half_to_float32(bits, data_type)
    for kind in (PLACEHOLDER[data_type], common_pb2.BinaryVector):  # 2.5 sends bytes as binary
        got = convert.vectors_from_placeholder_group(
            placeholder(kind, [row.tobytes() for row in bits]), f
        )
        assert got.dtype == np.float32 and np.array_equal(got, expected)
    floats = convert.vectors_from_placeholder_group(
        placeholder(common_pb2.FloatVector, [row.tobytes() for row in expected]), f
    )
    assert np.array_equal(floats, expected)


@pytest.mark.parametrize("data_type", HALF_TYPES)
def test_bad_query_vectors_are_refused(data_type: DataType) -> None:
    f = half_schema(data_type).field("h")
    assert f is not None
    good = random_bits(data_type, 1)[0].tobytes()
    with pytest.raises(DataInvalid, match="the dim \\(4\\) of query vector 1 does not match"):
        convert.vectors_from_placeholder_group(
            placeholder(PLACEHOLDER[data_type], [good, good[:8]]), f
        )
    other = PLACEHOLDER[DataType.FLOAT16_VECTOR] + PLACEHOLDER[DataType.BFLOAT16_VECTOR]
    with pytest.raises(DataInvalid, match="but the query vectors are B?Float16Vector"):
        convert.vectors_from_placeholder_group(
            placeholder(other - PLACEHOLDER[data_type], [good]), f
        )


@pytest.mark.parametrize("data_type", HALF_TYPES)
def test_rows_of_another_dim_name_that_dim(data_type: DataType) -> None:
    # pymilvus 3 sends the schema's dim whatever the user's arrays hold.
    raw = np.zeros((3, DIM + 2), np.uint16).tobytes()
    with pytest.raises(DataInvalid, match="the dim \\(10\\) of field 'h' does not match"):
        convert.table_from_field_data(insert_data(data_type, raw, 3), 3, half_schema(data_type))
