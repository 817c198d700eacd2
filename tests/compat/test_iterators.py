"""pymilvus's search and query iterators, MilvusClient and ORM, end to end.

Each iterator walks a few thousand rows in batches; every row must come back
exactly once, in order (best first for search, by primary key for query),
with and without a filter, and rows written after the iterator started must
not appear (it reads the snapshot of its first page).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from pymilvus import Collection, DataType, MilvusClient, connections

DIM = 8
ROWS = 3000
BATCH = 256
VECTORS = np.random.default_rng(21).random((ROWS, DIM), dtype=np.float32)


@pytest.fixture(scope="module")
def collection(server_uri: str) -> Iterator[str]:
    client = MilvusClient(uri=server_uri, timeout=60)
    name = "iterators_surface"
    if client.has_collection(name):
        client.drop_collection(name)
    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("bucket", DataType.INT32)
    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=DIM)
    index = client.prepare_index_params()
    index.add_index(field_name="vec", index_type="FLAT", metric_type="L2")
    client.create_collection(name, schema=schema, index_params=index, consistency_level="Strong")
    for start in range(0, ROWS, 1000):
        client.insert(
            name,
            [
                {"id": i, "bucket": i % 5, "vec": VECTORS[i].tolist()}
                for i in range(start, min(ROWS, start + 1000))
            ],
        )
    client.flush(name)
    yield name
    # A fresh client: pymilvus 2.5 shares connections per address, and other
    # tests' clients closing may have taken this one's with them.
    cleanup = MilvusClient(uri=server_uri, timeout=60)
    cleanup.drop_collection(name)
    cleanup.close()


def drain(iterator, max_pages: int = 200) -> list[list[dict]]:
    pages: list[list[dict]] = []
    for _ in range(max_pages):
        page = iterator.next()
        if page is None or len(page) == 0:  # pymilvus ends a limited iterator with None
            iterator.close()
            return pages
        pages.append(list(page))
    raise AssertionError(f"the iterator did not end within {max_pages} pages")


def test_search_iterator_returns_every_row_once_best_first(
    client: MilvusClient, collection: str
) -> None:
    query = VECTORS[0] + 0.01
    iterator = client.search_iterator(
        collection,
        data=[query.tolist()],
        batch_size=BATCH,
        search_params={"metric_type": "L2"},
        output_fields=["bucket"],
    )
    pages = drain(iterator)
    hits = [hit for page in pages for hit in page]
    ids = [hit["id"] for hit in hits]
    assert len(ids) == ROWS and len(set(ids)) == ROWS
    assert all(len(page) == BATCH for page in pages[:-1])
    distances = np.array([hit["distance"] for hit in hits])
    assert (np.diff(distances) >= 0).all()
    expected = ((VECTORS.astype(np.float64) - query) ** 2).sum(axis=1)
    assert ids[:20] == np.argsort(expected, kind="stable")[:20].tolist()
    assert all(hit["entity"]["bucket"] == hit["id"] % 5 for hit in hits)


def test_search_iterator_with_filter_and_limit(client: MilvusClient, collection: str) -> None:
    iterator = client.search_iterator(
        collection,
        data=[VECTORS[3].tolist()],
        batch_size=100,
        limit=450,
        filter="bucket in [1, 2]",
        search_params={"metric_type": "L2"},
        output_fields=["bucket"],
    )
    hits = [hit for page in drain(iterator) for hit in page]
    assert len(hits) == 450 and len({h["id"] for h in hits}) == 450
    assert all(h["entity"]["bucket"] in (1, 2) for h in hits)


def test_query_iterator_walks_by_primary_key(client: MilvusClient, collection: str) -> None:
    iterator = client.query_iterator(
        collection, batch_size=BATCH, filter="bucket != 4", output_fields=["bucket"]
    )
    rows = [row for page in drain(iterator) for row in page]
    ids = [row["id"] for row in rows]
    assert ids == [i for i in range(ROWS) if i % 5 != 4]
    # Rows written after the first page stay out: the iterator reads one snapshot.
    late = client.query_iterator(collection, batch_size=BATCH, output_fields=["bucket"])
    first = late.next()
    client.insert(collection, [{"id": ROWS + 5, "bucket": 0, "vec": VECTORS[0].tolist()}])
    rest = [row for page in drain(late) for row in page]
    seen = [row["id"] for row in list(first) + rest]
    assert seen == list(range(ROWS))
    client.delete(collection, ids=[ROWS + 5])


def test_orm_query_iterator(server_uri: str, collection: str) -> None:
    alias = "orm_iterators"
    # No disconnect afterwards: pymilvus 2.5 shares one channel per address between
    # ORM aliases and MilvusClient, and closing it would break the other clients.
    connections.connect(alias=alias, uri=server_uri)
    orm = Collection(collection, using=alias)
    iterator = orm.query_iterator(batch_size=500, expr="id < 1200", output_fields=["bucket"])
    ids = [row["id"] for page in drain(iterator) for row in page]
    assert ids == list(range(1200))
