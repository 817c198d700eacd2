"""The classic hello_milvus walk-through, end to end, with 3000 rows."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from pymilvus import Collection, CollectionSchema, DataType, FieldSchema, connections, utility

from .helpers import unique_name

ROWS = 3000
DIM = 8


@pytest.fixture
def alias(server_uri: str) -> Iterator[str]:
    name = unique_name("hello")
    connections.connect(alias=name, uri=server_uri, timeout=60)
    try:
        yield name
    finally:
        connections.disconnect(name)


def test_hello_milvus(alias: str) -> None:
    name = unique_name("hello_milvus")
    assert not utility.has_collection(name, using=alias)
    fields = [
        FieldSchema(name="pk", dtype=DataType.INT64, is_primary=True, auto_id=False),
        FieldSchema(name="random", dtype=DataType.DOUBLE),
        FieldSchema(name="label", dtype=DataType.VARCHAR, max_length=32),
        FieldSchema(name="embeddings", dtype=DataType.FLOAT_VECTOR, dim=DIM),
    ]
    schema = CollectionSchema(fields, "hello_milvus is the simplest demo")
    hello = Collection(name, schema, using=alias, consistency_level="Strong")
    try:
        rng = np.random.default_rng(19530)
        randoms = rng.random(ROWS).tolist()
        labels = [f"label_{i % 7}" for i in range(ROWS)]
        vectors = rng.random((ROWS, DIM), dtype=np.float32)
        inserted = hello.insert([list(range(ROWS)), randoms, labels, vectors])
        assert inserted.insert_count == ROWS
        hello.flush()
        assert hello.num_entities == ROWS

        hello.create_index(
            "embeddings",
            {"index_type": "IVF_FLAT", "metric_type": "L2", "params": {"nlist": 64}},
        )
        hello.load()

        search_params = {"metric_type": "L2", "params": {"nprobe": 64}}
        probes = vectors[-2:].tolist()
        results = hello.search(
            probes, "embeddings", search_params, limit=3, output_fields=["random"]
        )
        assert len(results) == 2
        for expected_pk, hits in zip((ROWS - 2, ROWS - 1), results, strict=True):
            assert len(hits) == 3
            assert hits[0].id == expected_pk
            assert hits[0].distance == pytest.approx(0.0, abs=1e-5)
            assert hits[0].entity.get("random") == pytest.approx(randoms[expected_pk])
            assert list(hits.distances) == sorted(hits.distances)

        rows = hello.query(expr="random > 0.5", output_fields=["random", "embeddings"])
        assert sorted(row["pk"] for row in rows) == [i for i in range(ROWS) if randoms[i] > 0.5]
        for row in rows[:50]:
            assert row["random"] == pytest.approx(randoms[row["pk"]])
            assert row["embeddings"] == pytest.approx(vectors[row["pk"]].tolist())

        filtered = hello.search(
            probes,
            "embeddings",
            search_params,
            limit=3,
            expr="random > 0.5",
            output_fields=["random"],
        )
        for hits in filtered:
            assert len(hits) == 3
            assert all(hit.entity.get("random") > 0.5 for hit in hits)

        victims = [0, 1]
        expr = f"pk in {victims}"
        before = hello.query(expr=expr, output_fields=["random", "embeddings"])
        assert sorted(row["pk"] for row in before) == victims
        hello.delete(expr)
        assert hello.query(expr=expr) == []
        total = hello.query(expr="", output_fields=["count(*)"])[0]["count(*)"]
        assert total == ROWS - len(victims)
        gone = hello.search(vectors[:1].tolist(), "embeddings", search_params, limit=5)
        assert 0 not in gone[0].ids
    finally:
        hello.drop()
    assert not utility.has_collection(name, using=alias)
