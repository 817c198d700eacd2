"""Bad 1.x requests: a non-OK Status with 1.x's error code, and nothing changed."""

from __future__ import annotations

from typing import Any

from milvus import IndexType, MetricType

# Milvus 1.x's ErrorCode values (status.proto).
COLLECTION_NOT_EXISTS = 4
ILLEGAL_ARGUMENT = 5
ILLEGAL_DIMENSION = 7
ILLEGAL_INDEX_TYPE = 8
ILLEGAL_COLLECTION_NAME = 9
ILLEGAL_TOPK = 10
ILLEGAL_METRIC_TYPE = 23


def _collection(client: Any, name: str, dim: int = 8) -> list[int]:
    assert client.create_collection({"collection_name": name, "dimension": dim}).OK()
    status, ids = client.insert(name, [[float(i)] * dim for i in range(5)], ids=list(range(5)))
    assert status.OK()
    return list(ids)


def _count(client: Any, name: str) -> int:
    status, count = client.count_entities(name)
    assert status.OK(), status
    return int(count)


def test_wrong_dimension_changes_nothing(client: Any, new_name: Any) -> None:
    name = new_name("baddim")
    _collection(client, name)
    status, ids = client.insert(name, [[1.0] * 7, [1.0] * 7], ids=[100, 101])
    assert not status.OK() and status.code == ILLEGAL_DIMENSION and ids == []
    assert _count(client, name) == 5
    status, results = client.search(name, 1, [[1.0] * 9])
    assert not status.OK() and status.code == ILLEGAL_DIMENSION


def test_invalid_dimension_and_metric_refused(client: Any, new_name: Any) -> None:
    name = new_name("badparam")
    status = client.create_collection({"collection_name": name, "dimension": 0})
    # pymilvus 1.x checks the dimension itself; either way the collection is not created
    assert not status.OK()
    status = client.create_collection(
        {"collection_name": name, "dimension": 12, "metric_type": MetricType.HAMMING}
    )
    assert not status.OK() and status.code == ILLEGAL_DIMENSION  # binary: a multiple of 8
    status = client.create_collection(
        {"collection_name": name, "dimension": 8, "metric_type": MetricType.SUBSTRUCTURE}
    )
    assert not status.OK() and status.code == ILLEGAL_METRIC_TYPE
    assert "SUBSTRUCTURE" in status.message
    _, exists = client.has_collection(name)
    assert not exists


def test_unknown_collection(client: Any) -> None:
    name = "no_such_collection_1x"
    status, exists = client.has_collection(name)
    assert status.OK() and not exists
    checks = [
        client.get_collection_info(name)[0],
        client.count_entities(name)[0],
        client.insert(name, [[1.0] * 8])[0],
        client.search(name, 1, [[1.0] * 8])[0],
        client.delete_entity_by_id(name, [1]),
        client.drop_collection(name),
        client.create_partition(name, "p"),
        client.create_index(name, IndexType.IVF_FLAT, {"nlist": 8}),
    ]
    for status in checks:
        assert not status.OK() and status.code == COLLECTION_NOT_EXISTS, status


def test_invalid_names(client: Any, new_name: Any) -> None:
    for bad in ("bad-name", "1starts_with_digit", "a b", "x" * 300):
        status = client.create_collection({"collection_name": bad, "dimension": 8})
        assert not status.OK() and status.code == ILLEGAL_COLLECTION_NAME, (bad, status)
    status, names = client.list_collections()
    assert status.OK() and "bad-name" not in names
    name = new_name("badtag")
    _collection(client, name)
    status = client.create_partition(name, "bad tag")
    assert not status.OK() and status.code == ILLEGAL_ARGUMENT
    status, partitions = client.list_partitions(name)
    assert [p.tag for p in partitions] == ["_default"]


def test_duplicate_collection_and_unknown_partition(client: Any, new_name: Any) -> None:
    name = new_name("dup")
    _collection(client, name)
    status = client.create_collection({"collection_name": name, "dimension": 16})
    assert not status.OK()
    status, schema = client.get_collection_info(name)
    assert schema.dimension == 8
    status, _ = client.insert(name, [[1.0] * 8], partition_tag="nope")
    assert not status.OK()
    status, _ = client.search(name, 1, [[1.0] * 8], partition_tags=["nope"])
    assert not status.OK()
    assert _count(client, name) == 5


def test_refused_index_types_and_topk(client: Any, new_name: Any) -> None:
    name = new_name("badindex")
    _collection(client, name)
    for index_type in (IndexType.RNSG, IndexType.ANNOY):
        status = client.create_index(name, index_type, {})
        assert not status.OK() and status.code == ILLEGAL_INDEX_TYPE
        assert index_type.name in status.message
    status, index = client.get_index_info(name)
    assert status.OK() and index.index_type == IndexType.FLAT
    status, _ = client.search(name, 100000, [[1.0] * 8])
    assert not status.OK() and status.code == ILLEGAL_TOPK
