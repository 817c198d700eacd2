"""Index build/search/serialize against numpy ground truth."""

from __future__ import annotations

import numpy as np
import pytest

from elanus.errors import ParameterInvalid
from elanus.schema import DataType, FieldSchema
from elanus.vectors import (
    IndexSpec,
    brute_force_search,
    build_index,
    load_index,
    parse_index_spec,
)

DIM = 64
NUM_ROWS = 10_000


def gaussian_mixture(rng: np.random.Generator, n: int, centers: np.ndarray) -> np.ndarray:
    labels = rng.integers(0, len(centers), n)
    return (centers[labels] + 0.8 * rng.standard_normal((n, centers.shape[1]))).astype(np.float32)


@pytest.fixture(scope="module")
def clustered() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(20240601)
    centers = rng.standard_normal((64, DIM)).astype(np.float32)
    return gaussian_mixture(rng, NUM_ROWS, centers), gaussian_mixture(rng, 100, centers)


def float_field(dim: int = DIM) -> FieldSchema:
    return FieldSchema("vec", DataType.FLOAT_VECTOR, type_params={"dim": str(dim)})


def binary_field(dim: int) -> FieldSchema:
    return FieldSchema("bits", DataType.BINARY_VECTOR, type_params={"dim": str(dim)})


def numpy_distances(vectors: np.ndarray, queries: np.ndarray, metric: str) -> np.ndarray:
    """Ground truth written the slow, obvious way, independent of the module's code."""
    v = vectors.astype(np.float64)
    q = queries.astype(np.float64)
    if metric == "L2":
        return ((q[:, None, :] - v[None, :, :]) ** 2).sum(axis=2)
    if metric == "IP":
        return q @ v.T
    return (q / np.linalg.norm(q, axis=1, keepdims=True)) @ (
        v / np.linalg.norm(v, axis=1, keepdims=True)
    ).T


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    hits = sum(len(set(f) & set(t)) for f, t in zip(found, truth, strict=True))
    return hits / truth.size


@pytest.mark.parametrize("metric", ["L2", "IP", "COSINE"])
def test_flat_matches_numpy_exactly(metric: str) -> None:
    rng = np.random.default_rng(1)
    vectors = rng.standard_normal((2000, 32)).astype(np.float32)
    queries = rng.standard_normal((20, 32)).astype(np.float32)
    index = build_index(parse_index_spec("flat", metric, {}, float_field(32)), vectors, 32)
    distances, offsets = index.search(queries, 10, {})

    truth = numpy_distances(vectors, queries, metric)
    order = np.argsort(-truth if metric != "L2" else truth, axis=1)[:, :10]
    np.testing.assert_array_equal(offsets, order)
    expected = np.take_along_axis(truth, order, axis=1)
    np.testing.assert_allclose(distances, expected, rtol=1e-4, atol=1e-4)
    brute_d, brute_i = brute_force_search(vectors, queries, 10, metric)
    np.testing.assert_array_equal(brute_i, order)
    np.testing.assert_allclose(brute_d, expected, rtol=1e-4, atol=1e-4)


def test_hnsw_recall(clustered: tuple[np.ndarray, np.ndarray]) -> None:
    vectors, queries = clustered
    spec = parse_index_spec("HNSW", "L2", {"M": 16, "efConstruction": 200}, float_field())
    index = build_index(spec, vectors, DIM)
    _, found = index.search(queries, 10, {"ef": 64})
    _, truth = brute_force_search(vectors, queries, 10, "L2")
    assert recall(found, truth) >= 0.95


@pytest.mark.parametrize("metric", ["L2", "COSINE"])
def test_ivf_flat_recall(clustered: tuple[np.ndarray, np.ndarray], metric: str) -> None:
    vectors, queries = clustered
    spec = parse_index_spec("IVF_FLAT", metric, {"nlist": "128"}, float_field())
    index = build_index(spec, vectors, DIM)
    _, found = index.search(queries, 10, {"nprobe": 16})
    _, truth = brute_force_search(vectors, queries, 10, metric)
    assert recall(found, truth) >= 0.95
    # nprobe=1 scans one list of 128: it must be measurably worse, or nprobe is being ignored.
    _, narrow = index.search(queries, 10, {"nprobe": 1})
    assert recall(narrow, truth) < recall(found, truth)


def test_ivf_sq8_and_pq_build_and_search(clustered: tuple[np.ndarray, np.ndarray]) -> None:
    vectors, queries = clustered
    _, truth = brute_force_search(vectors[:3000], queries, 10, "L2")
    sq8 = build_index(
        parse_index_spec("IVF_SQ8", "L2", {"nlist": 32}, float_field()), vectors[:3000], DIM
    )
    assert recall(sq8.search(queries, 10, {"nprobe": 8})[1], truth) >= 0.9
    pq_spec = parse_index_spec("IVF_PQ", "L2", {"nlist": 32, "m": 16, "nbits": 6}, float_field())
    pq = build_index(pq_spec, vectors[:3000], DIM)
    assert recall(pq.search(queries, 10, {"nprobe": 8})[1], truth) >= 0.3


@pytest.mark.parametrize(
    ("index_type", "params", "search_params"),
    [
        ("FLAT", {}, {}),
        ("IVF_FLAT", {"nlist": 128}, {"nprobe": 16}),
        ("HNSW", {"M": 16, "efConstruction": 100}, {"ef": 32}),
    ],
)
def test_filtered_search_respects_mask(
    clustered: tuple[np.ndarray, np.ndarray], index_type: str, params: dict, search_params: dict
) -> None:
    vectors, queries = clustered
    index = build_index(parse_index_spec(index_type, "IP", params, float_field()), vectors, DIM)
    rng = np.random.default_rng(5)
    for keep_fraction in (0.5, 0.05, 0.002):
        valid = rng.random(NUM_ROWS) < keep_fraction
        distances, offsets = index.search(queries, 10, search_params, valid=valid)
        expected_hits = min(10, int(valid.sum()))
        assert np.all((offsets >= 0).sum(axis=1) == expected_hits)
        returned = offsets[offsets >= 0]
        assert valid[returned].all()
        assert np.all(np.isfinite(distances[offsets >= 0]))
        assert np.all(np.isneginf(distances[offsets < 0]))


def test_mask_with_fewer_valid_rows_than_k_pads() -> None:
    rng = np.random.default_rng(2)
    vectors = rng.standard_normal((500, 16)).astype(np.float32)
    index = build_index(parse_index_spec("HNSW", "L2", {}, float_field(16)), vectors, 16)
    valid = np.zeros(500, dtype=bool)
    valid[[3, 77, 200]] = True
    distances, offsets = index.search(vectors[:2], 5, {}, valid=valid)
    assert sorted(offsets[0, :3]) == [3, 77, 200]
    assert (offsets[:, 3:] == -1).all() and np.isposinf(distances[:, 3:]).all()
    none_valid = index.search(vectors[:2], 5, {}, valid=np.zeros(500, dtype=bool))[1]
    assert (none_valid == -1).all()


def test_hnsw_ef_below_k_is_refused(clustered: tuple[np.ndarray, np.ndarray]) -> None:
    vectors, queries = clustered
    index = build_index(parse_index_spec("HNSW", "L2", {}, float_field()), vectors[:1000], DIM)
    with pytest.raises(ParameterInvalid, match=r"ef\(5\) should be larger than k\(10\)"):
        index.search(queries, 10, {"ef": 5})
    assert index.search(queries, 10, {"ef": 10})[1].shape == (100, 10)


@pytest.mark.parametrize(
    ("index_type", "metric", "params", "search_params"),
    [
        ("HNSW", "COSINE", {"M": 8, "efConstruction": 64}, {"ef": 40}),
        ("IVF_FLAT", "L2", {"nlist": 16}, {"nprobe": 4}),
        ("IVF_SQ8", "IP", {"nlist": 16}, {"nprobe": 4}),
        ("FLAT", "IP", {}, {}),
        ("BIN_FLAT", "HAMMING", {}, {}),
        ("BIN_IVF_FLAT", "JACCARD", {"nlist": 16}, {"nprobe": 4}),
    ],
)
def test_serialize_round_trip(
    index_type: str, metric: str, params: dict, search_params: dict
) -> None:
    rng = np.random.default_rng(3)
    binary = index_type.startswith("BIN")
    if binary:
        field = binary_field(128)
        vectors = rng.integers(0, 256, (1500, 16), dtype=np.uint8)
        queries = rng.integers(0, 256, (10, 16), dtype=np.uint8)
    else:
        field = float_field(32)
        vectors = rng.standard_normal((1500, 32)).astype(np.float32)
        queries = rng.standard_normal((10, 32)).astype(np.float32)
    spec = parse_index_spec(index_type, metric, params, field)
    index = build_index(spec, vectors, field.dim)
    restored = load_index(spec, index.serialize())
    assert restored.num_rows == 1500
    valid = rng.random(1500) < 0.6
    for mask in (None, valid):
        before = index.search(queries, 7, search_params, valid=mask)
        after = restored.search(queries, 7, search_params, valid=mask)
        np.testing.assert_array_equal(before[1], after[1])
        np.testing.assert_array_equal(before[0], after[0])


def test_load_refuses_a_different_spec() -> None:
    vectors = np.random.default_rng(4).standard_normal((50, 8)).astype(np.float32)
    data = build_index(parse_index_spec("FLAT", "L2", {}, float_field(8)), vectors, 8).serialize()
    with pytest.raises(Exception, match="FLAT/L2"):
        load_index(parse_index_spec("FLAT", "IP", {}, float_field(8)), data)


def test_small_segments_still_build() -> None:
    rng = np.random.default_rng(6)
    vectors = rng.standard_normal((20, 16)).astype(np.float32)
    field = float_field(16)
    for index_type, params in [("IVF_FLAT", {"nlist": 1024}), ("IVF_PQ", {"m": 4}), ("HNSW", {})]:
        index = build_index(parse_index_spec(index_type, "L2", params, field), vectors, 16)
        _, offsets = index.search(vectors[:3], 5, {})
        np.testing.assert_array_equal(offsets[:, 0], [0, 1, 2])
    empty = build_index(parse_index_spec("IVF_FLAT", "L2", {}, field), vectors[:0], 16)
    assert empty.num_rows == 0
    assert (empty.search(vectors[:2], 3, {})[1] == -1).all()


def test_cosine_guards_zero_vectors() -> None:
    vectors = np.array([[0.0, 0.0], [1.0, 0.0]], dtype=np.float32)
    distances, offsets = brute_force_search(
        vectors, np.array([[1.0, 1.0]], np.float32), 2, "COSINE"
    )
    assert offsets.tolist() == [[1, 0]]
    np.testing.assert_allclose(distances, [[np.sqrt(0.5), 0.0]], atol=1e-6)


def test_short_filtered_results_are_completed(clustered: tuple[np.ndarray, np.ndarray]) -> None:
    # One probed list of ~80 rows holds only ~8 valid ones: FAISS alone comes back short.
    vectors, queries = clustered
    index = build_index(
        parse_index_spec("IVF_FLAT", "L2", {"nlist": 128}, float_field()), vectors, DIM
    )
    valid = np.random.default_rng(1).random(NUM_ROWS) < 0.1
    distances, offsets = index.search(queries, 10, {"nprobe": 1}, valid=valid)
    assert (offsets >= 0).all() and valid[offsets].all()
    exact, _ = brute_force_search(vectors, queries, 10, "L2", valid)
    assert (distances >= exact - 1e-3).all()


def test_build_and_load_accept_unparsed_specs() -> None:
    vectors = np.random.default_rng(8).standard_normal((300, 16)).astype(np.float32)
    raw = IndexSpec("autoindex", "", {"M": "8"})
    index = build_index(raw, vectors, 16)
    assert (index.spec.index_type, index.spec.params["M"]) == ("HNSW", 8)
    restored = load_index(raw, index.serialize())
    np.testing.assert_array_equal(
        restored.search(vectors[:4], 3)[1], index.search(vectors[:4], 3)[1]
    )
