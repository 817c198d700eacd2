"""FlushAll through pymilvus's ``flush_all`` (issue 19 point 6): every collection
of the database has its growing data sealed and written to storage before the
call returns, and a collection created afterwards does not hold it up."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pymilvus import MilvusClient
from pymilvus.grpc_gen import milvus_pb2

from .helpers import ON_MILVUS_LITE, random_vectors

DIM = 8

pytestmark = pytest.mark.not_on_milvus_lite("Milvus Lite does not implement FlushAll")


def rows(first: int, count: int) -> list[dict]:
    vectors = random_vectors(count, DIM, first)
    return [{"id": first + i, "vector": vectors[i].tolist()} for i in range(count)]


def segments_of(client: MilvusClient, name: str) -> tuple[list[int], list[int]]:
    """(still sealing, flushed) segment ids, as Flush answers them for the collection."""
    stub = client._get_connection()._stub
    reply = stub.Flush(milvus_pb2.FlushRequest(collection_names=[name]), timeout=60)
    assert reply.status.code == 0, reply.status.reason
    return list(reply.coll_segIDs[name].data), list(reply.flush_coll_segIDs[name].data)


def test_flush_all_writes_every_collections_growing_rows_to_storage(
    client: MilvusClient, new_collection_name: Callable[[str], str]
) -> None:
    if ON_MILVUS_LITE:
        pytest.skip("Milvus Lite")
    names = [new_collection_name("flushall") for _ in range(2)]
    for number, name in enumerate(names):
        client.create_collection(name, dimension=DIM)
        client.insert(name, rows(number * 1000, 50))
    if hasattr(client, "flush_all"):
        client.flush_all(timeout=120)
    else:  # pymilvus 2.5's MilvusClient lacks it; its connection has the same call
        client._get_connection().flush_all(timeout=120)
    for name in names:
        sealing, flushed = segments_of(client, name)
        assert sealing == [], f"{name}: segments still sealing after flush_all: {sealing}"
        assert flushed, f"{name}: no flushed segment after flush_all"
        found = client.query(name, filter="id >= 0", output_fields=["count(*)"])
        assert found[0]["count(*)"] == 50


def test_get_flush_all_state_is_refused_for_a_missing_timestamp(client: MilvusClient) -> None:
    if ON_MILVUS_LITE:
        pytest.skip("Milvus Lite")
    stub = client._get_connection()._stub
    reply = stub.GetFlushAllState(milvus_pb2.GetFlushAllStateRequest(), timeout=30)
    assert reply.status.code == 1100
    assert "flush_all_ts" in reply.status.reason
