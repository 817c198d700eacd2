"""Search returns the right answers: FLAT equals numpy brute force, HNSW recalls well.

Milvus's conventions: L2 distances are squared Euclidean, nearest first; IP and
COSINE scores are similarities, largest first.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from pymilvus import DataType, MilvusClient

from .helpers import INVALID_PARAMETER, count_rows, raises_milvus, random_vectors

DIM = 32
ROWS = 1000
TOP_K = 10


def make_collection(
    client: MilvusClient,
    name: str,
    dim: int,
    metric: str,
    index_type: str = "FLAT",
    index_params: dict | None = None,
) -> None:
    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("category", DataType.INT32)
    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=dim)
    index = client.prepare_index_params()
    index.add_index(
        field_name="vec", index_type=index_type, metric_type=metric, params=index_params or {}
    )
    client.create_collection(name, schema=schema, index_params=index, consistency_level="Strong")


def insert_vectors(client: MilvusClient, name: str, vectors: np.ndarray, batch: int = 2500) -> None:
    for start in range(0, len(vectors), batch):
        chunk = vectors[start : start + batch]
        rows = [
            {"id": start + offset, "category": (start + offset) % 10, "vec": vector.tolist()}
            for offset, vector in enumerate(chunk)
        ]
        client.insert(name, rows)


def brute_force(
    data: np.ndarray, queries: np.ndarray, metric: str, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Top-k ids and scores in Milvus's conventions, computed in float64."""
    data64, queries64 = data.astype(np.float64), queries.astype(np.float64)
    if metric == "L2":
        scores = ((queries64[:, None, :] - data64[None, :, :]) ** 2).sum(axis=2)
        order = np.argsort(scores, axis=1, kind="stable")
    else:
        if metric == "COSINE":
            data64 = data64 / np.linalg.norm(data64, axis=1, keepdims=True)
            queries64 = queries64 / np.linalg.norm(queries64, axis=1, keepdims=True)
        scores = queries64 @ data64.T
        order = np.argsort(-scores, axis=1, kind="stable")
    top = order[:, :k]
    return top, np.take_along_axis(scores, top, axis=1)


def test_query_vector_equal_to_inserted_finds_itself_at_distance_zero(
    client: MilvusClient, new_collection_name: Callable[[str], str]
) -> None:
    name = new_collection_name("self")
    make_collection(client, name, DIM, "L2")
    vectors = random_vectors(ROWS, DIM, seed=21)
    insert_vectors(client, name, vectors)
    probe_ids = [0, 1, 500, 998, 999]
    results = client.search(name, data=vectors[probe_ids].tolist(), limit=3)
    assert len(results) == len(probe_ids)
    for probe_id, hits in zip(probe_ids, results, strict=True):
        assert hits[0]["id"] == probe_id
        assert hits[0]["distance"] == pytest.approx(0.0, abs=1e-6)
        assert hits[1]["distance"] > 0.0


@pytest.mark.parametrize("metric", ["L2", "IP", "COSINE"])
def test_flat_equals_numpy_brute_force(
    client: MilvusClient, new_collection_name: Callable[[str], str], metric: str
) -> None:
    name = new_collection_name(f"flat_{metric.lower()}")
    make_collection(client, name, DIM, metric)
    rng = np.random.default_rng(22)
    vectors = rng.normal(size=(ROWS, DIM)).astype(np.float32)
    queries = rng.normal(size=(5, DIM)).astype(np.float32)
    insert_vectors(client, name, vectors)
    expected_ids, expected_scores = brute_force(vectors, queries, metric, TOP_K + 1)
    gaps = np.abs(np.diff(expected_scores, axis=1))
    assert gaps.min() > 1e-4, "test data has near ties; pick another seed"

    results = client.search(
        name, data=queries.tolist(), limit=TOP_K, search_params={"metric_type": metric}
    )
    assert len(results) == len(queries)
    for row, hits in enumerate(results):
        assert [hit["id"] for hit in hits] == expected_ids[row, :TOP_K].tolist()
        assert [hit["distance"] for hit in hits] == pytest.approx(
            expected_scores[row, :TOP_K].tolist(), rel=1e-4, abs=1e-4
        )


def test_filtered_search_returns_only_matching_rows(
    client: MilvusClient, new_collection_name: Callable[[str], str]
) -> None:
    name = new_collection_name("filtered")
    make_collection(client, name, DIM, "L2")
    vectors = random_vectors(ROWS, DIM, seed=23)
    insert_vectors(client, name, vectors)
    queries = random_vectors(3, DIM, seed=24)

    expr = "category in [2, 7] and id < 800"
    results = client.search(
        name, data=queries.tolist(), filter=expr, limit=TOP_K, output_fields=["category"]
    )
    matching = np.array([i for i in range(ROWS) if i % 10 in (2, 7) and i < 800])
    expected_local, _ = brute_force(vectors[matching], queries, "L2", TOP_K)
    for row, hits in enumerate(results):
        assert len(hits) == TOP_K
        for hit in hits:
            assert hit["entity"]["category"] in (2, 7) and hit["id"] < 800
        assert [hit["id"] for hit in hits] == matching[expected_local[row]].tolist()

    few = client.search(name, data=queries[:1].tolist(), filter="id in [3, 9, 27]", limit=TOP_K)
    assert sorted(hit["id"] for hit in few[0]) == [3, 9, 27], "fewer matches than limit"
    none = client.search(name, data=queries[:1].tolist(), filter="id < 0", limit=TOP_K)
    assert len(none) == 1 and len(none[0]) == 0


@pytest.mark.needs_partitions
def test_partition_names_restrict_results(
    client: MilvusClient, new_collection_name: Callable[[str], str]
) -> None:
    name = new_collection_name("part_search")
    make_collection(client, name, DIM, "L2")
    client.create_partition(name, "left")
    client.create_partition(name, "right")
    vectors = random_vectors(200, DIM, seed=25)
    rows = [{"id": i, "category": 0, "vec": vectors[i].tolist()} for i in range(200)]
    client.insert(name, rows[:100], partition_name="left")
    client.insert(name, rows[100:], partition_name="right")
    client.load_collection(name)
    assert count_rows(client, name) == 200

    probe = vectors[150].tolist()  # lives in "right"
    left_only = client.search(name, data=[probe], limit=20, partition_names=["left"])[0]
    assert len(left_only) == 20 and all(hit["id"] < 100 for hit in left_only)
    right_only = client.search(name, data=[probe], limit=20, partition_names=["right"])[0]
    assert right_only[0]["id"] == 150 and all(hit["id"] >= 100 for hit in right_only)
    both = client.search(name, data=[probe], limit=5, partition_names=["left", "right"])[0]
    assert both[0]["id"] == 150


def clustered_vectors(
    count: int, dim: int, clusters: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """A seeded Gaussian mixture, plus queries drawn from the same mixture."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=1.0, size=(clusters, dim))
    labels = rng.integers(0, clusters, count)
    data = centers[labels] + rng.normal(size=(count, dim))
    query_labels = rng.integers(0, clusters, 100)
    queries = centers[query_labels] + rng.normal(size=(100, dim))
    return data.astype(np.float32), queries.astype(np.float32)


@pytest.mark.slow
@pytest.mark.not_on_milvus_lite("2.5 builds only FLAT, IVF_FLAT and AUTOINDEX")
def test_hnsw_recall_at_10_on_clustered_vectors(
    client: MilvusClient, new_collection_name: Callable[[str], str]
) -> None:
    name = new_collection_name("hnsw")
    dim = 64
    data, queries = clustered_vectors(10_000, dim, clusters=50, seed=26)
    make_collection(client, name, dim, "L2", "HNSW", {"M": 16, "efConstruction": 200})
    insert_vectors(client, name, data)
    client.flush(name)
    assert count_rows(client, name) == 10_000

    expected_ids, _ = brute_force(data, queries, "L2", TOP_K)
    found = 0
    for start in range(0, len(queries), 25):
        batch = queries[start : start + 25]
        results = client.search(
            name, data=batch.tolist(), limit=TOP_K,
            search_params={"metric_type": "L2", "params": {"ef": 64}},
        )  # fmt: skip
        for offset, hits in enumerate(results):
            truth = set(expected_ids[start + offset].tolist())
            found += len(truth & {hit["id"] for hit in hits})
    recall = found / (len(queries) * TOP_K)
    assert recall >= 0.95, f"HNSW recall@10 = {recall:.3f}"


# Milvus 2.6's quantized indexes, refined (issue 18 point 5): build, describe, search.
QUANTIZED = [
    (
        "HNSW_SQ",
        {"M": 16, "efConstruction": 100, "sq_type": "SQ6", "refine": True, "refine_type": "FP32"},
        {"ef": 64, "refine_k": 2},
        "sq_type",
    ),
    (
        "HNSW_PQ",
        {"M": 16, "efConstruction": 100, "m": 8, "nbits": 6, "refine": True, "refine_type": "FP16"},
        {"ef": 64, "refine_k": 4},
        "m",
    ),
    (
        "HNSW_PRQ",
        {"M": 16, "efConstruction": 100, "m": 4, "nrq": 2, "nbits": 5, "refine": True,
         "refine_type": "SQ8"},
        {"ef": 64, "refine_k": 8},
        "nrq",
    ),
    (
        "IVF_RABITQ",
        {"nlist": 16, "refine": True, "refine_type": "FP32"},
        {"nprobe": 8, "rbq_bits_query": 4, "refine_k": 4},
        "nlist",
    ),
]  # fmt: skip


@pytest.mark.not_on_milvus_lite("Milvus Lite builds only FLAT, IVF_FLAT and AUTOINDEX")
@pytest.mark.parametrize(("index_type", "params", "search", "shown"), QUANTIZED)
def test_quantized_index_is_built_described_and_searched(
    client: MilvusClient,
    new_collection_name: Callable[[str], str],
    index_type: str,
    params: dict,
    search: dict,
    shown: str,
) -> None:
    name = new_collection_name(index_type.lower())
    data, queries = clustered_vectors(3000, DIM, clusters=20, seed=27)
    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("category", DataType.INT32)
    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=DIM)
    client.create_collection(name, schema=schema, consistency_level="Strong")
    insert_vectors(client, name, data.astype(np.float32))
    client.flush(name)
    index = client.prepare_index_params()
    index.add_index(
        field_name="vec", index_name="vec_idx", index_type=index_type, metric_type="L2",
        params=params,
    )  # fmt: skip
    client.create_index(name, index)
    described = client.describe_index(name, "vec_idx")
    assert described["index_type"] == index_type and described["metric_type"] == "L2"
    assert str(described[shown]) == str(params[shown])
    assert str(described["refine"]).lower() == "true"
    assert described["refine_type"] == params["refine_type"]
    client.load_collection(name)

    expected_ids, _ = brute_force(data, queries[:40], "L2", TOP_K)
    results = client.search(
        name, data=queries[:40].tolist(), limit=TOP_K,
        search_params={"metric_type": "L2", "params": search},
    )  # fmt: skip
    found = sum(
        len(set(truth.tolist()) & {hit["id"] for hit in hits})
        for truth, hits in zip(expected_ids, results, strict=True)
    )
    recall = found / (40 * TOP_K)
    assert recall >= 0.6, f"{index_type} recall@10 = {recall:.3f}"

    filtered = client.search(
        name, data=queries[:5].tolist(), limit=TOP_K, filter="category == 3",
        search_params={"metric_type": "L2", "params": search}, output_fields=["category"],
    )  # fmt: skip
    assert all(len(hits) == TOP_K for hits in filtered)
    assert all(hit["entity"]["category"] == 3 for hits in filtered for hit in hits)


@pytest.mark.not_on_milvus_lite("Milvus Lite builds only FLAT, IVF_FLAT and AUTOINDEX")
@pytest.mark.parametrize(
    ("index_type", "params", "message"),
    [
        ("HNSW_SQ", {"sq_type": "SQ5"}, "invalid scalar quantizer type"),
        ("HNSW_PQ", {"refine": True, "refine_type": "INT4"}, "invalid refine type type"),
        ("IVF_RABITQ", {"refine": True, "refine_type": "x"}, "invalid refine type : x"),
    ],
)
def test_quantized_index_params_are_refused_with_milvus_s_messages(
    client: MilvusClient,
    new_collection_name: Callable[[str], str],
    index_type: str,
    params: dict,
    message: str,
) -> None:
    name = new_collection_name("badquant")
    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=DIM)
    client.create_collection(name, schema=schema)
    index = client.prepare_index_params()
    index.add_index(field_name="vec", index_type=index_type, metric_type="L2", params=params)
    with raises_milvus(INVALID_PARAMETER) as caught:
        client.create_index(name, index)
    assert message in caught.value.message


@pytest.mark.not_on_milvus_lite("Milvus Lite builds only FLAT, IVF_FLAT and AUTOINDEX")
@pytest.mark.parametrize(
    ("search", "message"),
    [
        ({"ef": 5}, "ef(5) should be larger than k(10)"),
        ({"ef": 32, "refine_k": 0.5}, "Out of range in json: param 'refine_k' (0.5)"),
        ({"ef": 32.0}, "Type conflict in json: param 'ef' (32.0) should be integer"),
    ],
)
def test_quantized_search_params_are_refused_against_the_requested_limit(
    client: MilvusClient, new_collection_name: Callable[[str], str], search: dict, message: str
) -> None:
    """A segment of 4 rows searches k=4; ef is still checked against the limit of 10."""
    name = new_collection_name("efcheck")
    make_collection(client, name, DIM, "L2", "HNSW_SQ", {"M": 8, "efConstruction": 32})
    insert_vectors(client, name, random_vectors(4, DIM, seed=3))
    client.flush(name)
    with raises_milvus(INVALID_PARAMETER) as caught:
        client.search(
            name, data=random_vectors(1, DIM, seed=4).tolist(), limit=TOP_K,
            search_params={"metric_type": "L2", "params": search},
        )  # fmt: skip
    assert message in caught.value.message
