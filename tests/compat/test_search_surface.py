"""The search surface beyond plain top-k, held to numpy brute force.

Several queries per request with limit/offset/round_decimal, output fields
(vectors and "*"), range search (radius/range_filter, Milvus's semantics per
metric), group_by_field, search by primary keys, ignore_growing, and query
with "*", count(*) and template values.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pymilvus
import pytest
from pymilvus import DataType, MilvusClient

from .helpers import INVALID_PARAMETER, raises_milvus, wait_until

DIM = 16
ROWS = 2000
CATEGORIES = 7
VECTORS = np.random.default_rng(11).random((ROWS, DIM), dtype=np.float32)
QUERIES = np.random.default_rng(12).random((3, DIM), dtype=np.float32)


def make_collection(client: MilvusClient, name: str, metric: str) -> None:
    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("category", DataType.INT32)
    schema.add_field("tag", DataType.VARCHAR, max_length=16)
    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=DIM)
    index = client.prepare_index_params()
    index.add_index(field_name="vec", index_type="FLAT", metric_type=metric)
    client.create_collection(name, schema=schema, index_params=index, consistency_level="Strong")
    rows = [
        {"id": i, "category": i % CATEGORIES, "tag": f"t{i % 3}", "vec": VECTORS[i].tolist()}
        for i in range(ROWS)
    ]
    client.insert(name, rows)


def scores(metric: str, queries: np.ndarray) -> np.ndarray:
    """(nq, ROWS) scores in Milvus's conventions, float64."""
    data, q = VECTORS.astype(np.float64), queries.astype(np.float64)
    if metric == "L2":
        return ((q[:, None, :] - data[None, :, :]) ** 2).sum(axis=2)
    return q @ data.T


def ranked(metric: str, row_scores: np.ndarray) -> np.ndarray:
    order = np.argsort(row_scores, kind="stable")
    return order if metric == "L2" else order[::-1]


@pytest.fixture(scope="module")
def l2_collection(server_uri: str) -> Iterator[str]:
    client = MilvusClient(uri=server_uri, timeout=60)
    name = "surface_l2"
    if client.has_collection(name):
        client.drop_collection(name)
    make_collection(client, name, "L2")
    yield name
    # A fresh client: pymilvus 2.5 shares connections per address, and other
    # tests' clients closing may have taken this one's with them.
    cleanup = MilvusClient(uri=server_uri, timeout=60)
    cleanup.drop_collection(name)
    cleanup.close()


def test_several_queries_with_offset_and_round_decimal(
    client: MilvusClient, l2_collection: str
) -> None:
    results = client.search(
        l2_collection,
        data=QUERIES.tolist(),
        limit=5,
        offset=2,
        round_decimal=3,
        output_fields=["category"],
    )
    assert len(results) == len(QUERIES)
    expected = scores("L2", QUERIES)
    for q, hits in enumerate(results):
        order = ranked("L2", expected[q])
        assert [h["id"] for h in hits] == order[2:7].tolist()
        for hit in hits:
            assert hit["distance"] == pytest.approx(round(expected[q][hit["id"]], 3), abs=2e-3)
            assert round(hit["distance"], 3) == pytest.approx(hit["distance"], abs=1e-6)
            assert hit["entity"]["category"] == hit["id"] % CATEGORIES


def test_output_fields_with_vectors_and_star(client: MilvusClient, l2_collection: str) -> None:
    hits = client.search(l2_collection, data=[VECTORS[42].tolist()], limit=3, output_fields=["*"])
    first = hits[0][0]
    assert first["id"] == 42
    entity = first["entity"]
    assert set(entity) >= {"category", "tag", "vec"}
    np.testing.assert_allclose(entity["vec"], VECTORS[42], rtol=1e-6)
    assert entity["tag"] == "t0"
    only_vec = client.search(
        l2_collection, data=[VECTORS[7].tolist()], limit=1, output_fields=["vec"]
    )
    np.testing.assert_allclose(only_vec[0][0]["entity"]["vec"], VECTORS[7], rtol=1e-6)


def test_range_search_l2(client: MilvusClient, l2_collection: str) -> None:
    expected = scores("L2", QUERIES[:1])[0]
    order = ranked("L2", expected)
    # A window that excludes the 5 nearest rows and ends past the 30th.
    range_filter = float(expected[order[5]]) - 1e-4
    radius = float(expected[order[30]]) + 1e-4
    hits = client.search(
        l2_collection,
        data=QUERIES[:1].tolist(),
        limit=10,
        search_params={
            "metric_type": "L2",
            "params": {"radius": radius, "range_filter": range_filter},
        },
    )[0]
    assert [h["id"] for h in hits] == order[5:15].tolist()
    assert all(range_filter <= h["distance"] < radius for h in hits)
    # Fewer rows in the window than the limit: all of them, no more.
    narrow = client.search(
        l2_collection,
        data=QUERIES[:1].tolist(),
        limit=50,
        search_params={"params": {"radius": float(expected[order[3]]) + 1e-4}},
    )[0]
    assert [h["id"] for h in narrow] == order[:4].tolist()


def test_range_search_refuses_inverted_bounds(client: MilvusClient, l2_collection: str) -> None:
    with raises_milvus(INVALID_PARAMETER):
        client.search(
            l2_collection,
            data=QUERIES[:1].tolist(),
            limit=5,
            search_params={"params": {"radius": 1.0, "range_filter": 2.0}},
        )


def test_range_search_ip(client: MilvusClient, new_collection_name) -> None:
    name = new_collection_name("range_ip")
    make_collection(client, name, "IP")
    expected = scores("IP", QUERIES[1:2])[0]
    order = ranked("IP", expected)
    range_filter = float(expected[order[3]]) + 1e-4  # keeps s <= range_filter: drops 3 best
    radius = float(expected[order[20]]) - 1e-4  # keeps s > radius
    hits = client.search(
        name,
        data=QUERIES[1:2].tolist(),
        limit=8,
        search_params={
            "metric_type": "IP",
            "params": {"radius": radius, "range_filter": range_filter},
        },
    )[0]
    assert [h["id"] for h in hits] == order[3:11].tolist()
    assert all(radius < h["distance"] <= range_filter for h in hits)


def test_group_by_field(client: MilvusClient, l2_collection: str) -> None:
    expected = scores("L2", QUERIES[:1])[0]
    order = ranked("L2", expected)
    best_per_group: dict[int, list[int]] = {}
    for row in order.tolist():
        best_per_group.setdefault(row % CATEGORIES, []).append(row)
    groups_in_order = list(dict.fromkeys(row % CATEGORIES for row in order.tolist()))
    hits = client.search(
        l2_collection,
        data=QUERIES[:1].tolist(),
        limit=4,
        group_by_field="category",
        output_fields=["category"],
    )[0]
    assert [h["entity"]["category"] for h in hits] == groups_in_order[:4]
    assert [h["id"] for h in hits] == [best_per_group[g][0] for g in groups_in_order[:4]]

    sized = client.search(
        l2_collection,
        data=QUERIES[:1].tolist(),
        limit=3,
        group_by_field="category",
        group_size=2,
        strict_group_size=True,
        output_fields=["category"],
    )[0]
    expected_ids = sorted(row for g in groups_in_order[:3] for row in best_per_group[g][:2])
    assert sorted(h["id"] for h in sized) == expected_ids


@pytest.mark.skipif(
    int(pymilvus.__version__.split(".")[0]) < 3,
    reason="pymilvus 2.5's MilvusClient.search has no ids= argument",
)
def test_search_by_primary_keys(client: MilvusClient, l2_collection: str) -> None:
    results = client.search(l2_collection, ids=[5, 1234], limit=3, output_fields=["category"])
    assert len(results) == 2
    for wanted, hits in zip([5, 1234], results, strict=True):
        assert hits[0]["id"] == wanted
        assert hits[0]["distance"] == pytest.approx(0.0, abs=1e-5)
        expected = ranked("L2", scores("L2", VECTORS[wanted : wanted + 1])[0])[:3]
        assert [h["id"] for h in hits] == expected.tolist()
    with raises_milvus(INVALID_PARAMETER):
        client.search(l2_collection, ids=[ROWS + 10], limit=3)


def test_ignore_growing(client: MilvusClient, new_collection_name) -> None:
    name = new_collection_name("growing")
    make_collection(client, name, "L2")  # nothing flushed: every row is growing
    query = VECTORS[:1].tolist()
    assert client.search(name, data=query, limit=3, ignore_growing=True)[0] == []
    assert len(client.search(name, data=query, limit=3)[0]) == 3
    client.flush(name)
    assert wait_until(
        lambda: len(client.search(name, data=query, limit=3, ignore_growing=True)[0]) == 3, 30
    )


def test_query_star_count_and_templates(client: MilvusClient, l2_collection: str) -> None:
    rows = client.query(l2_collection, filter="id in [3, 4]", output_fields=["*"])
    assert sorted(r["id"] for r in rows) == [3, 4]
    assert set(rows[0]) == {"id", "category", "tag", "vec"}
    np.testing.assert_allclose(rows[0]["vec"], VECTORS[rows[0]["id"]], rtol=1e-6)
    counted = client.query(l2_collection, filter="category == 2", output_fields=["count(*)"])
    assert counted[0]["count(*)"] == sum(1 for i in range(ROWS) if i % CATEGORIES == 2)
    templated = client.query(
        l2_collection,
        filter="category in {cats} and id < {top}",
        filter_params={"cats": [1, 3], "top": 50},
        output_fields=["category"],
    )
    assert sorted(r["id"] for r in templated) == [i for i in range(50) if i % CATEGORIES in (1, 3)]
    searched = client.search(
        l2_collection,
        data=QUERIES[:1].tolist(),
        filter="tag == {t}",
        filter_params={"t": "t1"},
        limit=5,
        output_fields=["tag"],
    )[0]
    assert len(searched) == 5 and all(h["entity"]["tag"] == "t1" for h in searched)


def test_hits_are_keyed_by_the_primary_field_name(
    client: MilvusClient, new_collection_name
) -> None:
    """SearchResultData.primary_field_name, as Milvus 2.6 sets it: stores such as
    LangChain's index hits by the primary key's own name."""
    name = new_collection_name("doc_key")
    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("doc_key", DataType.VARCHAR, is_primary=True, max_length=32)
    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=DIM)
    index = client.prepare_index_params()
    index.add_index(field_name="vec", index_type="FLAT", metric_type="L2")
    client.create_collection(name, schema=schema, index_params=index, consistency_level="Strong")
    client.insert(name, [{"doc_key": f"d{i}", "vec": VECTORS[i].tolist()} for i in range(20)])
    hits = client.search(name, data=[VECTORS[7].tolist()], limit=3)[0]
    assert hits[0]["doc_key"] == "d7"
    assert "id" not in hits[0]
    assert hits[0]["distance"] == pytest.approx(0.0, abs=1e-5)
