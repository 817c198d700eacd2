"""Seed 001 (the pymilvus 1.x README) step by step, as written, with results checked."""

from __future__ import annotations

import random
from typing import Any

import pytest
from milvus import IndexType, MetricType, Milvus

from .conftest import host_port

DIM = 128


def _vectors(count: int) -> list[list[float]]:
    return [[random.random() for _ in range(DIM)] for _ in range(count)]


def test_connect_by_host_port_and_by_uri(server: Any) -> None:
    host, port = host_port(server.uri)
    for client in (Milvus(host=host, port=port), Milvus(uri=f"tcp://{host}:{port}")):
        status, version = client.server_version()
        assert status.OK() and version.startswith("1.1.")
        status, _ = client.list_collections()
        assert status.OK()
        client.close()


def test_quick_start(client: Any, new_name: Any) -> None:
    name = new_name("test01")
    param = {
        "collection_name": name,
        "dimension": DIM,
        "index_file_size": 1024,
        "metric_type": MetricType.L2,
    }
    status = client.create_collection(param)
    assert status.OK(), status
    assert status.message == "Create collection successfully!"

    status, schema = client.get_collection_info(name)
    assert status.OK()
    assert (schema.collection_name, schema.dimension, schema.index_file_size) == (name, DIM, 1024)
    assert schema.metric_type == MetricType.L2
    status, names = client.list_collections()
    assert status.OK() and name in names
    status, exists = client.has_collection(name)
    assert status.OK() and exists

    # partitions
    assert client.create_partition(collection_name=name, partition_tag="tag01").OK()
    status, partitions = client.list_partitions(collection_name=name)
    assert status.OK()
    assert [p.tag for p in partitions] == ["_default", "tag01"]
    assert client.has_partition(name, "tag01") == (client.has_partition(name, "tag01")[0], True)

    # insert without ids, with ids, into a partition
    vectors = _vectors(20)
    status, auto_ids = client.insert(collection_name=name, records=vectors)
    assert status.OK() and len(auto_ids) == 20 and len(set(auto_ids)) == 20
    status, user_ids = client.insert(collection_name=name, records=vectors, ids=list(range(20)))
    assert status.OK() and user_ids == list(range(20))
    part_vectors = _vectors(20)
    status, part_ids = client.insert(name, part_vectors, partition_tag="tag01")
    assert status.OK() and len(part_ids) == 20

    # get by id
    status, got = client.get_entity_by_id(collection_name=name, ids=auto_ids[:10])
    assert status.OK() and len(got) == 10
    for stored, sent in zip(got, vectors[:10], strict=True):
        assert stored == pytest.approx(sent, abs=1e-6)

    # delete by id
    status = client.delete_entity_by_id(name, auto_ids[:10])
    assert status.OK(), status
    status, got = client.get_entity_by_id(collection_name=name, ids=auto_ids[:10])
    assert status.OK() and all(len(v) == 0 for v in got)

    # flush, count, stats, compact
    assert client.flush([name]).OK()
    status, count = client.count_entities(name)
    assert status.OK() and count == 50
    status, stats = client.get_collection_stats(name)
    assert status.OK() and stats["row_count"] == 50
    assert {p["tag"]: p["row_count"] for p in stats["partitions"]} == {"_default": 30, "tag01": 20}
    assert client.compact(collection_name=name).OK()

    # index
    status = client.create_index(name, IndexType.IVF_FLAT, {"nlist": 16})
    assert status.OK(), status
    status, index = client.get_index_info(name)
    assert status.OK()
    assert index.index_type == IndexType.IVF_FLAT and index.params == {"nlist": 16}

    # search with nprobe: each vector finds itself first, at distance 0; deleted ids are gone
    search_param = {"nprobe": 16}
    status, results = client.search(
        collection_name=name, query_records=vectors[:5], top_k=2, params=search_param
    )
    assert status.OK(), status
    assert len(results) == 5
    deleted = set(auto_ids[:10])
    for i, hits in enumerate(results):
        assert len(hits) == 2
        assert hits[0].distance == pytest.approx(0.0, abs=1e-4)
        # ids i (user id) and auto_ids[i] hold the same vector; auto_ids[i] is deleted
        assert hits[0].id == i
        assert all(hit.id not in deleted for hit in hits)
    status, results = client.search(name, 1, vectors[10:12], params=search_param)
    assert status.OK()
    assert {results[0][0].id, results[1][0].id} <= {10, 11, auto_ids[10], auto_ids[11]}

    # search in a partition: only that partition's rows
    status, results = client.search(
        collection_name=name,
        query_records=part_vectors[:5] + vectors[:5],
        top_k=3,
        partition_tags=["tag01"],
        params=search_param,
    )
    assert status.OK(), status
    for i, hits in enumerate(results):
        assert hits and all(hit.id in set(part_ids) for hit in hits)
        if i < 5:
            assert hits[0].id == part_ids[i]
            assert hits[0].distance == pytest.approx(0.0, abs=1e-4)

    # drop the index (back to brute force), the partition, the collection
    assert client.drop_index(name).OK()
    status, index = client.get_index_info(name)
    assert status.OK() and index.index_type == IndexType.FLAT
    status, results = client.search(name, 1, vectors[:1], params=search_param)
    assert status.OK() and results[0][0].id == 0
    assert client.drop_partition(collection_name=name, partition_tag="tag01").OK()
    status, partitions = client.list_partitions(collection_name=name)
    assert [p.tag for p in partitions] == ["_default"]
    status = client.drop_collection(collection_name=name)
    assert status.OK() and status.message == "Delete collection successfully!"
    status, exists = client.has_collection(name)
    assert status.OK() and not exists
    client.close()


@pytest.mark.parametrize(
    ("index_type", "params", "search_params"),
    [
        (IndexType.FLAT, {}, {}),
        (IndexType.IVF_SQ8, {"nlist": 16}, {"nprobe": 16}),
        (IndexType.IVF_SQ8H, {"nlist": 16}, {"nprobe": 16}),
        (IndexType.IVF_PQ, {"nlist": 16, "m": 8}, {"nprobe": 16}),
        (IndexType.HNSW, {"M": 16, "efConstruction": 64}, {"ef": 64}),
    ],
)
def test_index_types(
    client: Any, new_name: Any, index_type: Any, params: Any, search_params: Any
) -> None:
    name = new_name("idx")
    dim = 16
    assert client.create_collection({"collection_name": name, "dimension": dim}).OK()
    rng = random.Random(7)
    vectors = [[rng.random() for _ in range(dim)] for _ in range(300)]
    status, ids = client.insert(name, vectors)
    assert status.OK()
    assert client.flush([name]).OK()
    status = client.create_index(name, index_type, params)
    assert status.OK(), status
    status, results = client.search(name, 5, vectors[:3], params=search_params)
    assert status.OK(), status
    found = sum(hits[0].id == ids[i] for i, hits in enumerate(results))
    assert found >= 2  # quantizing indexes may miss one; exact ones find all


def test_ip_metric_and_search_by_id(client: Any, new_name: Any) -> None:
    name = new_name("ip")
    param = {"collection_name": name, "dimension": 4, "metric_type": MetricType.IP}
    assert client.create_collection(param).OK()
    vectors = [[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0], [0.6, 0.8, 0.0, 0.0]]
    status, ids = client.insert(name, vectors, ids=[10, 20, 30])
    assert status.OK()
    status, results = client.search(name, 3, [[0.0, 1.0, 0.0, 0.0]])
    assert status.OK()
    assert [h.id for h in results[0]] == [20, 30, 10]
    assert [h.distance for h in results[0]] == pytest.approx([1.0, 0.8, 0.0], abs=1e-6)


@pytest.mark.parametrize("metric", [MetricType.HAMMING, MetricType.JACCARD, MetricType.TANIMOTO])
def test_binary_metrics(client: Any, new_name: Any, metric: Any) -> None:
    name = new_name("bin")
    assert client.create_collection(
        {"collection_name": name, "dimension": 16, "metric_type": metric}
    ).OK()
    records = [bytes([0b11110000, 0]), bytes([0b11111111, 0]), bytes([0, 0b1111])]
    status, ids = client.insert(name, records, ids=[1, 2, 3])
    assert status.OK(), status
    status, results = client.search(name, 3, [records[0]])
    assert status.OK(), status
    hits = results[0]
    assert hits[0].id == 1 and hits[0].distance == pytest.approx(0.0, abs=1e-6)
    assert hits[1].id == 2
    expected = {MetricType.HAMMING: 4.0, MetricType.JACCARD: 0.5, MetricType.TANIMOTO: 1.0}
    assert hits[1].distance == pytest.approx(expected[metric], abs=1e-5)
    status, got = client.get_entity_by_id(name, [3])
    assert status.OK() and got == [records[2]]
    status = client.create_index(name, IndexType.IVF_FLAT, {"nlist": 2})
    assert status.OK(), status
    status = client.create_index(name, IndexType.HNSW, {"M": 8, "efConstruction": 16})
    assert not status.OK() and status.code == 8


def test_readme_quick_start(server: Any, new_name: Any) -> None:
    """The snippet in the project README, against this server."""
    host, port = host_port(server.uri)
    name = new_name("readme")
    client = Milvus(host=host, port=port)
    assert client.create_collection(
        {
            "collection_name": name,
            "dimension": 128,
            "index_file_size": 1024,
            "metric_type": MetricType.L2,
        }
    ).OK()
    assert client.create_partition(name, "tag01").OK()
    vectors = [[random.random() for _ in range(128)] for _ in range(20)]
    status, ids = client.insert(collection_name=name, records=vectors)
    assert status.OK()
    assert client.insert(name, vectors, partition_tag="tag01")[0].OK()
    assert client.delete_entity_by_id(name, ids[:10]).OK()
    assert client.flush([name]).OK()
    assert client.create_index(name, IndexType.IVF_FLAT, {"nlist": 4096}).OK()
    status, results = client.search(
        name, top_k=2, query_records=vectors[10:12], params={"nprobe": 16}
    )
    assert status.OK(), status
    for row, wanted in zip(results, ids[10:12], strict=True):
        assert row[0].distance == pytest.approx(0.0, abs=1e-4)
        assert wanted in {hit.id for hit in row}
    assert client.drop_collection(name).OK()
    client.close()
