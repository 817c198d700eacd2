"""FLOAT16 and BFLOAT16 vectors: exact conversion, storage that keeps the bits, float rules."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from elanus import segment
from elanus.columns import (
    arrow_type,
    half_bits,
    half_to_float32,
    half_vector_array,
    half_vector_bytes,
    vector_column,
    vectors_from_column,
)
from elanus.errors import ParameterInvalid
from elanus.schema import DataType, FieldSchema
from elanus.vectors import brute_force_search, build_index, parse_index_spec

DIM = 16
HALF_TYPES = [DataType.FLOAT16_VECTOR, DataType.BFLOAT16_VECTOR]


def half_field(data_type: DataType, dim: int = DIM) -> FieldSchema:
    return FieldSchema("h", data_type, type_params={"dim": str(dim)})


def to_bf16_bits(values: np.ndarray) -> np.ndarray:
    """bf16 by truncation, the way a client holding float32 makes them."""
    return (np.asarray(values, np.float32).view(np.uint32) >> 16).astype(np.uint16)


def random_bits(data_type: DataType, rows: int, seed: int = 3) -> np.ndarray:
    values = np.random.default_rng(seed).standard_normal((rows, DIM)).astype(np.float32)
    if data_type is DataType.FLOAT16_VECTOR:
        return values.astype(np.float16).view(np.uint16)
    return to_bf16_bits(values)


# --- conversion ------------------------------------------------------------------------


def test_every_float16_value_converts_exactly() -> None:
    bits = np.arange(2**16, dtype=np.uint32).astype(np.uint16)
    converted = half_to_float32(bits, DataType.FLOAT16_VECTOR)
    halves = bits.view(np.float16)
    finite = np.isfinite(halves)
    assert np.array_equal(converted[finite], halves[finite].astype(np.float32))
    assert np.array_equal(converted.astype(np.float16).view(np.uint16)[finite], bits[finite])
    assert np.isnan(converted[np.isnan(halves)]).all()
    assert np.isinf(converted[np.isinf(halves)]).all()


def test_every_bfloat16_value_is_the_upper_half_of_its_float32() -> None:
    bits = np.arange(2**16, dtype=np.uint32).astype(np.uint16)
    converted = half_to_float32(bits, DataType.BFLOAT16_VECTOR)
    as_int = converted.view(np.uint32)
    assert np.array_equal((as_int >> 16).astype(np.uint16), bits)
    assert not (as_int & 0xFFFF).any()
    assert half_to_float32(np.array([0x3F80], np.uint16), DataType.BFLOAT16_VECTOR)[0] == 1.0
    assert half_to_float32(np.array([0xC040], np.uint16), DataType.BFLOAT16_VECTOR)[0] == -3.0


def test_conversion_refuses_other_types() -> None:
    with pytest.raises(ValueError, match="not a half-precision"):
        half_to_float32(np.zeros(2, np.uint16), DataType.FLOAT_VECTOR)


# --- columns -----------------------------------------------------------------------------


def test_the_two_half_types_rest_in_different_layouts() -> None:
    assert arrow_type(half_field(DataType.FLOAT16_VECTOR)) == pa.list_(pa.float16(), DIM)
    assert arrow_type(half_field(DataType.BFLOAT16_VECTOR)) == pa.binary(DIM * 2)


@pytest.mark.parametrize("data_type", HALF_TYPES)
def test_columns_keep_the_bits_and_give_float32(data_type: DataType) -> None:
    f = half_field(data_type)
    bits = random_bits(data_type, 9)
    column = vector_column(bits, f)
    assert column.type == arrow_type(f)
    assert half_vector_bytes(column, f) == bits.tobytes()
    floats = vectors_from_column(column, f)
    assert floats.dtype == np.float32 and floats.shape == (9, DIM)
    assert np.array_equal(floats, half_to_float32(bits, data_type))
    # Slices and several chunks, as growing segments and result windows hand them over.
    assert half_vector_bytes(column.slice(3, 4), f) == bits[3:7].tobytes()
    chunked = pa.chunked_array([column.slice(0, 2), column.slice(2)])
    assert np.array_equal(half_bits(chunked, f), bits)
    assert np.array_equal(vectors_from_column(column.slice(5), f), floats[5:])


@pytest.mark.parametrize("data_type", HALF_TYPES)
def test_segment_files_keep_the_bits(data_type: DataType) -> None:
    f = half_field(data_type)
    bits = random_bits(data_type, 20)
    bits[0, 0] = 0x7E01 if data_type is DataType.FLOAT16_VECTOR else 0x7FC1  # a NaN payload
    table = pa.table({"h": half_vector_array(bits.tobytes(), f, 20)})
    table = table.append_column("_ts", pa.array(np.arange(20, dtype=np.uint64)))
    restored = segment.read_segment(segment.write_segment(table))
    assert restored.schema.field("h").type == arrow_type(f)
    assert half_vector_bytes(restored.column("h"), f) == bits.tobytes()


def test_a_wrong_byte_count_is_refused() -> None:
    f = half_field(DataType.BFLOAT16_VECTOR)
    with pytest.raises(ValueError, match="are not 2 vectors of dim 16"):
        half_vector_array(b"\0" * (DIM * 2 * 2 - 1), f, 2)
    with pytest.raises(ValueError, match="2-byte values"):
        vector_column(np.zeros((2, DIM), np.float32), f)


# --- index specs ---------------------------------------------------------------------------


@pytest.mark.parametrize("data_type", HALF_TYPES)
@pytest.mark.parametrize("index_type", ["FLAT", "IVF_FLAT", "IVF_SQ8", "IVF_PQ", "HNSW"])
@pytest.mark.parametrize("metric", ["L2", "IP", "COSINE"])
def test_half_fields_take_the_float_indexes(
    data_type: DataType, index_type: str, metric: str
) -> None:
    spec = parse_index_spec(index_type, metric, {"m": 4}, half_field(data_type))
    assert (spec.index_type, spec.metric_type) == (index_type, metric)
    assert not spec.is_binary


@pytest.mark.parametrize("data_type", HALF_TYPES)
def test_half_fields_default_like_float_fields(data_type: DataType) -> None:
    spec = parse_index_spec("AUTOINDEX", "", {}, half_field(data_type))
    assert (spec.index_type, spec.metric_type, spec.requested_type) == (
        "HNSW",
        "COSINE",
        "AUTOINDEX",
    )


@pytest.mark.parametrize("data_type", HALF_TYPES)
def test_half_fields_refuse_binary_indexes_and_metrics(data_type: DataType) -> None:
    with pytest.raises(ParameterInvalid, match="can't build with this index BIN_FLAT"):
        parse_index_spec("BIN_FLAT", "HAMMING", {}, half_field(data_type))
    with pytest.raises(
        ParameterInvalid, match="float vector index does not support metric type: HAMMING"
    ):
        parse_index_spec("FLAT", "HAMMING", {}, half_field(data_type))


# --- search ---------------------------------------------------------------------------------


@pytest.mark.parametrize("data_type", HALF_TYPES)
@pytest.mark.parametrize("metric", ["L2", "IP", "COSINE"])
def test_index_search_equals_float32_brute_force(data_type: DataType, metric: str) -> None:
    f = half_field(data_type)
    bits = random_bits(data_type, 500, seed=8)
    data = vectors_from_column(vector_column(bits, f), f)
    queries = half_to_float32(random_bits(data_type, 7, seed=9), data_type)
    expected_d, expected_i = brute_force_search(data, queries, 10, metric)
    index = build_index(parse_index_spec("FLAT", metric, {}, f), data, DIM)
    got_d, got_i = index.search(queries, 10)
    assert np.array_equal(got_i, expected_i)
    assert np.allclose(got_d, expected_d, rtol=1e-5, atol=1e-5)
    # A stored vector finds itself first, at distance ~0 (L2) or the top score.
    own_d, own_i = index.search(data[:5], 1)
    assert own_i[:, 0].tolist() == list(range(5))
    if metric == "L2":
        assert np.allclose(own_d[:, 0], 0.0, atol=1e-4)


@pytest.mark.parametrize("data_type", HALF_TYPES)
def test_hnsw_finds_own_vectors(data_type: DataType) -> None:
    f = half_field(data_type)
    data = half_to_float32(random_bits(data_type, 300, seed=4), data_type)
    index = build_index(parse_index_spec("HNSW", "L2", {"M": 16}, f), data, DIM)
    _, offsets = index.search(data[:20], 1, {"ef": 64})
    assert offsets[:, 0].tolist() == list(range(20))
