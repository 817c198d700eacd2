"""HAMMING and JACCARD over packed bit vectors, against a bit-by-bit numpy reference."""

from __future__ import annotations

import numpy as np
import pytest

from elanus.schema import DataType, FieldSchema
from elanus.vectors import brute_force_search, build_index, parse_index_spec

DIM = 256


def reference_distances(codes: np.ndarray, queries: np.ndarray, metric: str) -> np.ndarray:
    bits = np.unpackbits(codes, axis=1).astype(bool)
    query_bits = np.unpackbits(queries, axis=1).astype(bool)
    out = np.zeros((len(queries), len(codes)))
    for i, q in enumerate(query_bits):
        if metric == "HAMMING":
            out[i] = (bits != q).sum(axis=1)
        else:
            union = (bits | q).sum(axis=1)
            out[i] = 1.0 - (bits & q).sum(axis=1) / np.maximum(union, 1)
    return out


@pytest.fixture(scope="module")
def codes() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(11)
    # Biased bits so Jaccard distances spread out rather than all sitting near 2/3.
    bits = rng.random((3000, DIM)) < np.linspace(0.05, 0.6, DIM)
    query_bits = rng.random((15, DIM)) < np.linspace(0.05, 0.6, DIM)
    return np.packbits(bits, axis=1), np.packbits(query_bits, axis=1)


def field() -> FieldSchema:
    return FieldSchema("bits", DataType.BINARY_VECTOR, type_params={"dim": str(DIM)})


@pytest.mark.parametrize("metric", ["HAMMING", "JACCARD", "TANIMOTO"])
def test_bin_flat_distances_match_reference(
    codes: tuple[np.ndarray, np.ndarray], metric: str
) -> None:
    vectors, queries = codes
    spec = parse_index_spec("BIN_FLAT", metric, {}, field())
    index = build_index(spec, vectors, DIM)
    distances, offsets = index.search(queries, 10, {})
    truth = reference_distances(vectors, queries, spec.metric_type)
    returned = np.take_along_axis(truth, offsets, axis=1)
    np.testing.assert_allclose(distances, returned, atol=1e-6)
    # Ties are common among integer distances, so compare the k-th best value, not ids.
    kth_best = np.sort(truth, axis=1)[:, :10]
    np.testing.assert_allclose(distances, kth_best, atol=1e-6)


@pytest.mark.parametrize("metric", ["HAMMING", "JACCARD"])
def test_bin_ivf_flat_with_all_lists_is_exact(
    codes: tuple[np.ndarray, np.ndarray], metric: str
) -> None:
    vectors, queries = codes
    spec = parse_index_spec("BIN_IVF_FLAT", metric, {"nlist": 32}, field())
    index = build_index(spec, vectors, DIM)
    exact = np.sort(reference_distances(vectors, queries, metric), axis=1)[:, :10]
    all_lists, _ = index.search(queries, 10, {"nprobe": 32})
    np.testing.assert_allclose(all_lists, exact, atol=1e-6)
    one_list, offsets = index.search(queries, 10, {"nprobe": 1})
    assert (one_list >= exact - 1e-6).all()
    assert (offsets >= 0).all()


def test_binary_filter(codes: tuple[np.ndarray, np.ndarray]) -> None:
    vectors, queries = codes
    valid = np.zeros(len(vectors), dtype=bool)
    valid[::7] = True
    for index_type in ("BIN_FLAT", "BIN_IVF_FLAT"):
        index = build_index(parse_index_spec(index_type, "", {"nlist": 16}, field()), vectors, DIM)
        distances, offsets = index.search(queries, 10, {"nprobe": 2}, valid=valid)
        assert (offsets % 7 == 0).all()
        subset_best = np.sort(reference_distances(vectors[valid], queries, "HAMMING"), axis=1)
        assert (distances >= subset_best[:, :10] - 1e-6).all()


def test_all_zero_codes_have_jaccard_distance_zero() -> None:
    vectors = np.zeros((3, 2), dtype=np.uint8)
    vectors[1] = [0xFF, 0x00]
    distances, offsets = brute_force_search(vectors, np.zeros((1, 2), np.uint8), 3, "JACCARD")
    assert offsets[0, :2].tolist() == [0, 2]
    np.testing.assert_allclose(distances, [[0.0, 0.0, 1.0]])
