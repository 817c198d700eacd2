"""SCANN: Milvus's parameters, validation, filtering and serialization on the FAISS analogue."""

from __future__ import annotations

import numpy as np
import pytest

from elanus.errors import ParameterInvalid
from elanus.schema import DataType, FieldSchema
from elanus.vectors import IndexSpec, build_index, load_index, parse_index_spec

FIELD = FieldSchema("vec", DataType.FLOAT_VECTOR, type_params={"dim": "16"})


def test_build_params_default_and_parse() -> None:
    assert parse_index_spec("scann", "L2", {}, FIELD).params == {
        "nlist": 128,
        "with_raw_data": True,
    }
    spec = parse_index_spec("SCANN", "IP", {"nlist": "64", "with_raw_data": "False"}, FIELD)
    assert spec.params == {"nlist": 64, "with_raw_data": False}
    with pytest.raises(ParameterInvalid, match="with_raw_data"):
        parse_index_spec("SCANN", "IP", {"with_raw_data": "maybe"}, FIELD)


def test_reorder_k_below_k_is_refused() -> None:
    rng = np.random.default_rng(1)
    index = build_index(IndexSpec("SCANN", "L2", {"nlist": 8}), rng.random((500, 16)), 16)
    with pytest.raises(ParameterInvalid, match=r"reorder_k\(5\) should be larger than k\(10\)"):
        index.search(rng.random((1, 16), dtype=np.float32), 10, {"reorder_k": 5})


@pytest.mark.parametrize("with_raw_data", [True, False])
@pytest.mark.parametrize("metric", ["L2", "IP", "COSINE"])
def test_filtered_search_and_round_trip(metric: str, with_raw_data: bool) -> None:
    rng = np.random.default_rng(2)
    data = rng.random((2000, 16), dtype=np.float32)
    spec = IndexSpec("SCANN", metric, {"nlist": 16, "with_raw_data": with_raw_data})
    index = build_index(spec, data, 16)
    valid = np.zeros(2000, dtype=bool)
    valid[::4] = True
    params = {"nprobe": 16, "reorder_k": 200}
    distances, offsets = index.search(data[:8], 10, params, valid)
    assert (offsets >= 0).all() and (offsets % 4 == 0).all()
    if metric != "IP":  # under IP a longer vector can beat the row itself
        assert offsets[0, 0] == 0
    restored = load_index(spec, index.serialize())
    again = restored.search(data[:8], 10, params, valid)
    np.testing.assert_array_equal(again[1], offsets)
    np.testing.assert_allclose(again[0], distances, rtol=1e-5)


def test_tiny_segment_falls_back_to_flat() -> None:
    data = np.random.default_rng(3).random((10, 16), dtype=np.float32)
    index = build_index(IndexSpec("SCANN", "L2", {}), data, 16)
    _, offsets = index.search(data[:3], 3)
    np.testing.assert_array_equal(offsets[:, 0], [0, 1, 2])
