"""Milvus 2.6's quantized indexes (issue 18, point 5): HNSW_SQ, HNSW_PQ and HNSW_PRQ
(a graph over scalar, product or product-residual codes) and IVF_RABITQ (inverted
lists of 1-bit RaBitQ codes), each optionally refined on a finer copy of the rows.

Recall floors sit well under what the indexes reached on these clustered rows
(e.g. HNSW_PQ 0.39 unrefined and 0.83 refined at refine_k=4), so a broken build,
metric or refine step fails them while FAISS's randomness does not.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from elanus.errors import ParameterInvalid
from elanus.schema import DataType, FieldSchema
from elanus.vectors import (
    IndexSpec,
    VectorIndex,
    brute_force_search,
    build_index,
    load_index,
    parse_index_spec,
    validate_search_params,
)

DIM = 32
ROWS = 1200
FIELD = FieldSchema("vec", DataType.FLOAT_VECTOR, type_params={"dim": str(DIM)})
GRAPH = {"M": 16, "efConstruction": 100}
BUILD: dict[str, dict[str, Any]] = {
    "HNSW_SQ": {**GRAPH, "sq_type": "SQ6"},
    "HNSW_PQ": {**GRAPH, "m": 8, "nbits": 6},
    "HNSW_PRQ": {**GRAPH, "m": 2, "nrq": 2, "nbits": 5},
    "IVF_RABITQ": {"nlist": 32},
}
SEARCH: dict[str, dict[str, Any]] = {
    "HNSW_SQ": {"ef": 64},
    "HNSW_PQ": {"ef": 64},
    "HNSW_PRQ": {"ef": 64},
    "IVF_RABITQ": {"nprobe": 8},
}
REFINE = {"refine": True, "refine_type": "FP32"}
# (unrefined, refined at refine_k=4) floors; measured 0.93/0.95, 0.39/0.83, 0.37/0.89, 0.48/0.93.
FLOORS = {
    "HNSW_SQ": (0.8, 0.85),
    "HNSW_PQ": (0.25, 0.65),
    "HNSW_PRQ": (0.2, 0.65),
    "IVF_RABITQ": (0.3, 0.8),
}
TYPES = list(BUILD)


@pytest.fixture(scope="module")
def clustered() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(18)
    centres = rng.normal(size=(16, DIM)).astype(np.float32) * 3
    rows = centres[rng.integers(0, 16, ROWS)] + rng.normal(size=(ROWS, DIM))
    queries = centres[rng.integers(0, 16, 40)] + rng.normal(size=(40, DIM))
    return rows.astype(np.float32), queries.astype(np.float32)


_BUILT: dict[tuple[str, str, bool], VectorIndex] = {}


def _index(index_type: str, metric: str, refined: bool, rows: np.ndarray) -> VectorIndex:
    """One build per (type, metric, refine) for the module: training dominates the time."""
    key = (index_type, metric, refined)
    if key not in _BUILT:
        params = {**BUILD[index_type], **(REFINE if refined else {})}
        spec = parse_index_spec(index_type, metric, params, FIELD)
        _BUILT[key] = build_index(spec, rows, DIM)
    return _BUILT[key]


def _recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(
        np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth, strict=True)])
    )


@pytest.mark.parametrize("metric", ["L2", "IP"])
@pytest.mark.parametrize("index_type", TYPES)
def test_recall_and_refine_raise_it(
    clustered: tuple[np.ndarray, np.ndarray], index_type: str, metric: str
) -> None:
    rows, queries = clustered
    truth = brute_force_search(rows, queries, 10, metric)[1]
    plain = _index(index_type, metric, False, rows).search(queries, 10, SEARCH[index_type])
    refined = _index(index_type, metric, True, rows).search(
        queries, 10, {**SEARCH[index_type], "refine_k": 4}
    )
    plain_floor, refined_floor = FLOORS[index_type]
    assert _recall(plain[1], truth) >= plain_floor
    assert _recall(refined[1], truth) >= refined_floor
    assert _recall(refined[1], truth) >= _recall(plain[1], truth)


@pytest.mark.parametrize("index_type", ["HNSW_PQ", "IVF_RABITQ"])
def test_refine_k_widens_the_candidates_the_refine_reranks(
    clustered: tuple[np.ndarray, np.ndarray], index_type: str
) -> None:
    rows, queries = clustered
    truth = brute_force_search(rows, queries, 10, "L2")[1]
    index = _index(index_type, "L2", True, rows)
    narrow = _recall(index.search(queries, 10, {**SEARCH[index_type], "refine_k": 1})[1], truth)
    wide = _recall(index.search(queries, 10, {**SEARCH[index_type], "refine_k": 4})[1], truth)
    assert wide >= narrow + 0.1


def test_cosine_refined_on_raw_rows_reports_true_cosines(
    clustered: tuple[np.ndarray, np.ndarray],
) -> None:
    rows, queries = clustered
    distances, offsets = _index("IVF_RABITQ", "COSINE", True, rows).search(
        queries, 10, {"nprobe": 8, "refine_k": 4}
    )
    units = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    unit_queries = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    expected = np.einsum("qd,qkd->qk", unit_queries, units[offsets])
    np.testing.assert_allclose(distances, expected, atol=1e-4)
    assert np.all(np.diff(distances, axis=1) <= 1e-6)  # best first
    assert _recall(offsets, brute_force_search(rows, queries, 10, "COSINE")[1]) >= 0.8


@pytest.mark.parametrize("index_type", TYPES)
def test_filtered_search_returns_valid_rows_only_and_completes_short_results(
    clustered: tuple[np.ndarray, np.ndarray], index_type: str
) -> None:
    rows, queries = clustered
    index = _index(index_type, "L2", False, rows)
    half = np.zeros(ROWS, dtype=bool)
    half[::2] = True
    _, offsets = index.search(queries, 10, SEARCH[index_type], valid=half)
    assert np.all(offsets >= 0) and np.all(half[offsets])
    # 12 valid rows: below knowhere's 7% threshold, answered exactly, every row returned.
    few = np.zeros(ROWS, dtype=bool)
    few[rng_rows(12)] = True
    _, offsets = index.search(queries, 20, SEARCH[index_type], valid=few, raw_vectors=rows)
    assert np.all(few[offsets[:, :12]]) and np.all(offsets[:, 12:] == -1)
    assert {tuple(sorted(row[:12])) for row in offsets} == {tuple(np.flatnonzero(few))}


def rng_rows(count: int) -> np.ndarray:
    return np.random.default_rng(5).choice(ROWS, size=count, replace=False)


@pytest.mark.parametrize("index_type", TYPES)
def test_exact_path_ranks_by_codes_unless_refined_on_raw_rows(
    clustered: tuple[np.ndarray, np.ndarray], index_type: str
) -> None:
    rows, queries = clustered
    assert not _index(index_type, "L2", False, rows).exact_from_raw
    refined = _index(index_type, "L2", True, rows)
    assert refined.exact_from_raw
    few = np.zeros(ROWS, dtype=bool)
    few[rng_rows(30)] = True
    distances, offsets = refined.search(
        queries, 10, SEARCH[index_type], valid=few, raw_vectors=rows
    )
    expected_distances, expected = brute_force_search(rows, queries, 10, "L2", few)
    np.testing.assert_array_equal(offsets, expected)
    np.testing.assert_allclose(distances, expected_distances, rtol=1e-5)


def test_a_refine_below_full_precision_ranks_by_its_own_codes(
    clustered: tuple[np.ndarray, np.ndarray],
) -> None:
    rows, _ = clustered
    params = {**BUILD["HNSW_SQ"], "refine": "true", "refine_type": "sq8"}
    index = build_index(parse_index_spec("HNSW_SQ", "L2", params, FIELD), rows, DIM)
    assert not index.exact_from_raw


@pytest.mark.parametrize("index_type", TYPES)
def test_serialize_and_load_give_the_same_answers(
    clustered: tuple[np.ndarray, np.ndarray], index_type: str
) -> None:
    rows, queries = clustered
    for refined in (False, True):
        index = _index(index_type, "IP", refined, rows)
        params = {**BUILD[index_type], **(REFINE if refined else {})}
        loaded = load_index(IndexSpec(index_type, "IP", params), index.serialize())
        search = {**SEARCH[index_type], "refine_k": 2}
        before, after = index.search(queries, 10, search), loaded.search(queries, 10, search)
        np.testing.assert_array_equal(before[1], after[1])
        np.testing.assert_allclose(before[0], after[0], rtol=1e-6)
        assert loaded.exact_from_raw == index.exact_from_raw


def test_a_segment_too_small_to_train_the_codes_is_searched_flat() -> None:
    rows = np.random.default_rng(3).normal(size=(50, DIM)).astype(np.float32)
    spec = parse_index_spec("HNSW_PQ", "L2", {"m": 8}, FIELD)  # nbits 8: 256 centroids
    index = build_index(spec, rows, DIM)
    _, offsets = index.search(rows[:3], 1, {"ef": 16})
    assert offsets[:, 0].tolist() == [0, 1, 2]


def test_defaults_are_milvus_s() -> None:
    assert parse_index_spec("HNSW_SQ", "L2", {}, FIELD).params == {
        "M": 30,
        "efConstruction": 360,
        "sq_type": "SQ8",
        "refine": False,
    }
    pq = parse_index_spec("HNSW_PQ", "L2", {}, FIELD).params
    assert (pq["m"], pq["nbits"], pq["refine"]) == (32, 8, False)
    prq = parse_index_spec("HNSW_PRQ", "L2", {}, FIELD).params
    assert (prq["m"], prq["nrq"], prq["nbits"]) == (2, 2, 8)
    rabitq = parse_index_spec("IVF_RABITQ", "COSINE", {}, FIELD)
    assert rabitq.params == {"nlist": 128, "refine": False}
    assert validate_search_params(rabitq, 10, {}) == {
        "nprobe": 8,
        "refine_k": 1.0,
        "rbq_bits_query": 0,
    }
    sq = parse_index_spec("HNSW_SQ", "L2", {"sq_type": "bf16", "refine_type": "flat"}, FIELD)
    assert (sq.params["sq_type"], sq.params["refine_type"]) == ("BF16", "FLAT")
    assert validate_search_params(sq, 20, {"refine_k": "2.5"}) == {"ef": 20, "refine_k": 2.5}
    # Strings are taken for numbers in search params, as Milvus does (its issue 41767).
    assert validate_search_params(rabitq, 10, {"nprobe": "32", "rbq_bits_query": "6"}) == {
        "nprobe": 32,
        "refine_k": 1.0,
        "rbq_bits_query": 6,
    }


@pytest.mark.parametrize(
    ("index_type", "params", "message"),
    [
        ("HNSW_SQ", {"sq_type": "SQ4"}, "invalid scalar quantizer type"),
        ("HNSW_SQ", {"refine": True, "refine_type": "INT8"}, "invalid refine type type"),
        ("HNSW_PQ", {"refine_type": "PQ"}, "invalid refine type type"),
        (
            "IVF_RABITQ",
            {"refine": True, "refine_type": "SQ4"},
            "invalid refine type : SQ4, optional types are [sq6, sq8, fp16, bf16, fp32, flat]",
        ),
        (
            "HNSW_PQ",
            {"m": 5},
            "The dimension of the vector (dim) should be a multiple of the number of "
            "subquantizers (m). Dimension: 32, m: 5",
        ),
        (
            "HNSW_PRQ",
            {"m": 3},
            "The dimension of a vector (dim) should be a multiple of the number of "
            "subquantizers (m). Dimension: 32, m: 3",
        ),
        ("HNSW_PRQ", {"nrq": 17}, "param 'nrq' (17) should be in range [1, 16]"),
        ("HNSW_PQ", {"nbits": 25}, "param 'nbits' (25) should be in range [1, 24]"),
        ("HNSW_SQ", {"M": 1}, "param 'M' (1) should be in range [2, 2048]"),
        ("IVF_RABITQ", {"nlist": 0}, "param 'nlist' (0) should be in range [1, 65536]"),
        ("IVF_RABITQ", {"nlist": "128.0"}, "wrong data type in json"),
        (
            "HNSW_PQ",
            {"m": "True"},
            "invalid integer value, key: 'm', value: 'True': invalid parameter",
        ),
        (
            "IVF_RABITQ",
            {"refine": "1"},
            "Type conflict in json: param 'refine' (\"1\") should be a boolean",
        ),
        (
            "IVF_RABITQ",
            {"refine_type": " SQ8 "},
            "invalid refine type :  SQ8 , optional types are [sq6, sq8, fp16, bf16, fp32, flat]",
        ),
    ],
)
def test_build_params_are_refused_with_milvus_s_messages(
    index_type: str, params: dict[str, Any], message: str
) -> None:
    with pytest.raises(ParameterInvalid) as raised:
        parse_index_spec(index_type, "L2", params, FIELD)
    assert message in str(raised.value)


@pytest.mark.parametrize(
    ("index_type", "params", "message"),
    [
        ("HNSW_SQ", {"ef": 5}, "ef(5) should be larger than k(10)"),
        (
            "HNSW_PRQ",
            {"refine_k": 0.5},
            "Out of range in json: param 'refine_k' (0.5) should be in range "
            "[1.000000, 340282346638528859811704183484516925440.000000]",
        ),
        (
            "IVF_RABITQ",
            {"rbq_bits_query": 9},
            "Out of range in json: param 'rbq_bits_query' (9) should be in range [0, 8]",
        ),
        ("IVF_RABITQ", {"rbq_bits_query": 6.0}, "param 'rbq_bits_query' (6.0) should be integer"),
        ("IVF_RABITQ", {"nprobe": True}, "Type conflict in json: param 'nprobe' (true) should be"),
        ("HNSW_SQ", {"ef": None}, "Type conflict in json: param 'ef' (null) should be integer"),
        ("IVF_RABITQ", {"refine_k": True}, "param 'refine_k' (true) should be a number"),
        ("IVF_RABITQ", {"refine_k": "many"}, "param 'refine_k' (many) should be a number"),
    ],
)
def test_search_params_are_refused_with_milvus_s_messages(
    index_type: str, params: dict[str, Any], message: str
) -> None:
    spec = parse_index_spec(index_type, "L2", {}, FIELD)
    with pytest.raises(ParameterInvalid) as raised:
        validate_search_params(spec, 10, params)
    assert message in str(raised.value)
