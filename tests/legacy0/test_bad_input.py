"""Bad 0.x requests: a non-OK Status with 0.x's error code, and nothing changed."""

from __future__ import annotations

from typing import Any

from milvus import IndexType, MetricType

# Milvus 0.x's ErrorCode values (status.proto of pymilvus 0.2.7).
TABLE_NOT_EXISTS = 4
ILLEGAL_ARGUMENT = 5
ILLEGAL_DIMENSION = 7
ILLEGAL_INDEX_TYPE = 8
ILLEGAL_TABLE_NAME = 9
ILLEGAL_TOPK = 10


def _table(milvus: Any, name: str, dim: int = 8) -> None:
    assert milvus.create_table({"table_name": name, "dimension": dim}).OK()
    status, _ = milvus.add_vectors(name, [[float(i)] * dim for i in range(5)], ids=list(range(5)))
    assert status.OK()


def _count(milvus: Any, name: str) -> int:
    status, count = milvus.count_table(name)
    assert status.OK(), status
    return int(count)


def test_wrong_dimension_changes_nothing(milvus: Any, new_name: Any) -> None:
    name = new_name("baddim")
    _table(milvus, name)
    status, ids = milvus.add_vectors(name, [[1.0] * 7, [1.0] * 7], ids=[100, 101])
    assert not status.OK() and status.code == ILLEGAL_DIMENSION and ids == []
    assert _count(milvus, name) == 5
    status, _ = milvus.search(name, 1, 8, [[1.0] * 9])
    assert not status.OK() and status.code == ILLEGAL_DIMENSION


def test_unknown_table(milvus: Any, new_name: Any) -> None:
    name = new_name("missing")
    status, exists = milvus.has_table(name)
    assert status.OK() and not exists
    status, _ = milvus.describe_table(name)
    assert not status.OK() and status.code == TABLE_NOT_EXISTS
    status, _ = milvus.count_table(name)
    assert not status.OK() and status.code == TABLE_NOT_EXISTS
    status, ids = milvus.add_vectors(name, [[1.0] * 8])
    assert not status.OK() and status.code == TABLE_NOT_EXISTS and ids == []
    status, _ = milvus.search(name, 1, 8, [[1.0] * 8])
    assert not status.OK() and status.code == TABLE_NOT_EXISTS
    status = milvus.drop_table(name)
    assert not status.OK() and status.code == TABLE_NOT_EXISTS
    status, tables = milvus.show_tables()
    assert status.OK() and name not in tables


def test_invalid_table_name_creates_nothing(milvus: Any) -> None:
    status = milvus.create_table({"table_name": "1starts_with_a_digit", "dimension": 8})
    assert not status.OK() and status.code == ILLEGAL_TABLE_NAME
    status, tables = milvus.show_tables()
    assert status.OK() and "1starts_with_a_digit" not in tables


def test_existing_table_is_not_replaced(milvus: Any, new_name: Any) -> None:
    name = new_name("twice")
    _table(milvus, name)
    status = milvus.create_table({"table_name": name, "dimension": 16})
    assert not status.OK() and status.code == ILLEGAL_ARGUMENT
    status, table = milvus.describe_table(name)
    assert status.OK() and table.dimension == 8
    assert _count(milvus, name) == 5


def test_binary_metric_needs_a_multiple_of_8(milvus: Any, new_name: Any) -> None:
    name = new_name("badbits")
    param = {"table_name": name, "dimension": 12, "metric_type": MetricType.HAMMING}
    status = milvus.create_table(param)
    assert not status.OK() and status.code == ILLEGAL_DIMENSION
    status, exists = milvus.has_table(name)
    assert status.OK() and not exists


def test_unsupported_index_keeps_the_index(milvus: Any, new_name: Any) -> None:
    name = new_name("badindex")
    _table(milvus, name)
    assert milvus.create_index(name, {"index_type": IndexType.IVFLAT, "nlist": 4}).OK()
    status = milvus.create_index(name, {"index_type": IndexType.RNSG, "nlist": 4})
    assert not status.OK() and status.code == ILLEGAL_INDEX_TYPE
    status, index = milvus.describe_index(name)
    assert status.OK() and index._index_type == IndexType.IVFLAT and index._nlist == 4


def test_bad_topk_and_partition(milvus: Any, new_name: Any) -> None:
    name = new_name("badsearch")
    _table(milvus, name)
    status, _ = milvus.search(name, 100_000, 8, [[1.0] * 8])
    assert not status.OK() and status.code == ILLEGAL_TOPK
    status, _ = milvus.search(name, 1, 8, [[1.0] * 8], partition_tags=["nope"])
    assert not status.OK()
    status, ids = milvus.insert(name, [[1.0] * 8], partition_tag="nope")
    assert not status.OK() and ids == []
    assert _count(milvus, name) == 5


def test_partition_mistakes(milvus: Any, new_name: Any) -> None:
    name = new_name("badpart")
    _table(milvus, name)
    assert milvus.create_partition(name, f"{name}_p", "p1").OK()
    status = milvus.create_partition(name, f"{name}_p", "p1")
    assert not status.OK() and status.code == ILLEGAL_ARGUMENT
    status = milvus.drop_partition(name, "never_made")
    assert not status.OK()
    status, partitions = milvus.show_partitions(name)
    assert status.OK() and [p.tag for p in partitions] == ["p1"]


def test_unknown_command(milvus: Any) -> None:
    status, reply = milvus._cmd("get_config *")
    assert not status.OK() and reply is None
    status, reply = milvus._cmd("no such command")
    assert not status.OK()
