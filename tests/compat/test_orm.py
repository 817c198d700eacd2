"""The ORM style: connections, FieldSchema/CollectionSchema/Collection, Partition, Index."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from pymilvus import (
    Collection,
    CollectionSchema,
    DataType,
    FieldSchema,
    Index,
    Partition,
    connections,
    utility,
)

from .helpers import ON_MILVUS_LITE, random_vectors, unique_name

DIM = 16


@pytest.fixture
def alias(server_uri: str) -> Iterator[str]:
    name = unique_name("conn")
    connections.connect(alias=name, uri=server_uri, timeout=60)
    try:
        yield name
    finally:
        connections.disconnect(name)


@pytest.fixture
def collection(alias: str) -> Iterator[Collection]:
    schema = CollectionSchema(
        [
            FieldSchema("book_id", DataType.INT64, is_primary=True, auto_id=False),
            FieldSchema("word_count", DataType.INT64),
            FieldSchema("title", DataType.VARCHAR, max_length=64),
            FieldSchema("embedding", DataType.FLOAT_VECTOR, dim=DIM),
        ],
        description="orm test",
    )
    made = Collection(unique_name("orm"), schema, using=alias, consistency_level="Strong")
    try:
        yield made
    finally:
        if utility.has_collection(made.name, using=alias):
            made.drop()


def columns(first_id: int, count: int, seed: int) -> tuple[list, np.ndarray]:
    ids = list(range(first_id, first_id + count))
    vectors = random_vectors(count, DIM, seed)
    data = [ids, [i * 10 for i in ids], [f"title {i}" for i in ids], vectors]
    return data, vectors


def test_collection_object_lifecycle(alias: str, collection: Collection) -> None:
    assert utility.has_collection(collection.name, using=alias)
    assert collection.name in utility.list_collections(using=alias)
    assert collection.description == "orm test"
    assert [field.name for field in collection.schema.fields] == [
        "book_id",
        "word_count",
        "title",
        "embedding",
    ]
    assert collection.primary_field.name == "book_id"
    assert collection.is_empty

    data, vectors = columns(0, 200, seed=1)
    result = collection.insert(data)
    assert result.insert_count == 200
    assert list(result.primary_keys) == list(range(200))
    collection.flush()
    assert collection.num_entities == 200

    collection.create_index(
        "embedding",
        {"index_type": "IVF_FLAT", "metric_type": "L2", "params": {"nlist": 16}},
    )
    assert collection.has_index()
    assert collection.index().params["index_type"] == "IVF_FLAT"
    assert collection.index().params["metric_type"] == "L2"

    collection.load()
    assert utility.loading_progress(collection.name, using=alias)["loading_progress"] == "100%"
    assert str(utility.load_state(collection.name, using=alias)) == "Loaded"

    hits = collection.search(
        data=[vectors[7].tolist()],
        anns_field="embedding",
        param={"metric_type": "L2", "params": {"nprobe": 16}},
        limit=3,
        output_fields=["title"],
    )
    assert hits[0].ids[0] == 7
    assert hits[0].distances[0] == pytest.approx(0.0, abs=1e-4)
    assert hits[0][0].entity.get("title") == "title 7"

    filtered = collection.search(
        data=[vectors[7].tolist()],
        anns_field="embedding",
        param={"metric_type": "L2", "params": {"nprobe": 16}},
        limit=5,
        expr="word_count >= 1000",
    )
    assert len(filtered[0]) == 5
    assert all(hit_id >= 100 for hit_id in filtered[0].ids)

    rows = collection.query(expr="book_id in [3, 4, 5]", output_fields=["word_count", "title"])
    assert sorted((row["book_id"], row["word_count"], row["title"]) for row in rows) == [
        (3, 30, "title 3"),
        (4, 40, "title 4"),
        (5, 50, "title 5"),
    ]

    collection.delete("book_id in [3, 4]")
    remaining = collection.query(expr="book_id in [3, 4, 5]", output_fields=["book_id"])
    assert [row["book_id"] for row in remaining] == [5]
    count = collection.query(expr="", output_fields=["count(*)"])
    assert count[0]["count(*)"] == 198

    collection.release()
    assert str(utility.load_state(collection.name, using=alias)) == "NotLoad"
    collection.drop_index()
    # Milvus drops the field's only index when DropIndex names no index; Milvus Lite 2.5
    # answers success and keeps it.
    if not ON_MILVUS_LITE:
        assert not collection.has_index()

    name = collection.name
    collection.drop()
    assert not utility.has_collection(name, using=alias)
    assert name not in utility.list_collections(using=alias)


def test_index_object(collection: Collection) -> None:
    data, _ = columns(0, 50, seed=2)
    collection.insert(data)
    index = Index(
        collection,
        "embedding",
        {"index_type": "FLAT", "metric_type": "IP", "params": {}},
    )
    assert index.field_name == "embedding"
    assert index.params["index_type"] == "FLAT"
    assert [made.field_name for made in collection.indexes] == ["embedding"]
    index.drop()
    assert collection.indexes == []


@pytest.mark.needs_partitions
def test_partition_objects(alias: str, collection: Collection) -> None:
    partition = Partition(collection, "p_recent", description="newer books")
    assert collection.has_partition("p_recent")
    assert sorted(p.name for p in collection.partitions) == ["_default", "p_recent"]

    old_data, _ = columns(0, 100, seed=3)
    new_data, new_vectors = columns(1000, 100, seed=4)
    collection.insert(old_data)
    partition.insert(new_data)
    collection.flush()
    assert partition.num_entities == 100
    assert collection.num_entities == 200

    collection.create_index("embedding", {"index_type": "FLAT", "metric_type": "L2", "params": {}})
    partition.load()
    hits = partition.search(
        data=[new_vectors[0].tolist()],
        anns_field="embedding",
        param={"metric_type": "L2", "params": {}},
        limit=10,
    )
    assert hits[0].ids[0] == 1000
    assert all(hit_id >= 1000 for hit_id in hits[0].ids)
    queried = partition.query(expr="book_id >= 0", output_fields=["book_id"])
    assert sorted(row["book_id"] for row in queried) == list(range(1000, 1100))

    partition.release()
    partition.drop()
    assert not collection.has_partition("p_recent")
