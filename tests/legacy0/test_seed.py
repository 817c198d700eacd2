"""The client steps of seed 000 (the Milvus 0.x operations guide), as written, with pymilvus 0.2.7.

Each step is the guide's code with its answer checked. Where pymilvus 0.2.7's
signature differs from the guide's (``create_partition`` takes a partition name
and a tag there), the client's signature is used; the guide's dimension 256 is
kept. DeleteByDate is private in 0.2.7 (``__delete_vectors_by_range``) and
Elanus keeps no insertion dates: it is refused with ILLEGAL_RANGE.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from milvus import IndexType, MetricType, Milvus

from .conftest import Target

DIM = 256
ILLEGAL_RANGE = 6


def _vectors(count: int, seed: int) -> list[list[float]]:
    rng = random.Random(seed)
    return [[rng.random() for _ in range(DIM)] for _ in range(count)]


def _count(milvus: Any, name: str) -> int:
    status, count = milvus.count_table(name)
    assert status.OK(), status
    return int(count)


def test_connect_by_host_port_and_by_uri(server: Target) -> None:
    milvus = Milvus()
    assert milvus.connect(host="127.0.0.1", port=str(server.legacy_port)).OK()
    assert milvus.connected()
    status, version = milvus.server_version()
    assert status.OK() and version.startswith("0.")
    assert milvus.disconnect().OK()

    milvus = Milvus()
    assert milvus.connect(uri=f"tcp://127.0.0.1:{server.legacy_port}").OK()
    status, _ = milvus.server_status()
    assert status.OK()
    assert milvus.disconnect().OK()


def test_the_guide_step_by_step(server: Target, new_name: Any) -> None:
    name = new_name("test01")
    milvus = Milvus()
    assert milvus.connect(host="127.0.0.1", port=str(server.legacy_port)).OK()

    # Create a table, verify its details
    param = {
        "table_name": name,
        "dimension": DIM,
        "index_file_size": 1024,
        "metric_type": MetricType.L2,
    }
    assert milvus.create_table(param).OK()
    status, table = milvus.describe_table(name)
    assert status.OK()
    assert (table.table_name, table.dimension, table.index_file_size) == (name, DIM, 1024)
    assert table.metric_type == MetricType.L2
    status, exists = milvus.has_table(name)
    assert status.OK() and exists
    status, tables = milvus.show_tables()
    assert status.OK() and name in tables

    # Create a partition, verify it
    assert milvus.create_partition(name, f"{name}_tag01", "tag01").OK()
    status, partitions = milvus.show_partitions(table_name=name)
    assert status.OK()
    assert [(p.table_name, p.tag) for p in partitions] == [(name, "tag01")]

    # Create an index, verify it, drop it
    index_param = {"index_type": IndexType.IVFLAT, "nlist": 16384}
    assert milvus.create_index(name, index_param).OK()
    status, index = milvus.describe_index(name)
    assert status.OK()
    assert (index._table_name, index._index_type, index._nlist) == (name, IndexType.IVFLAT, 16384)
    assert milvus.drop_index(name).OK()
    status, index = milvus.describe_index(name)
    assert status.OK() and index._index_type == IndexType.FLAT

    # Insert vectors: ids returned; then with user ids; then into the partition
    vectors = _vectors(20, 1)
    status, ids = milvus.add_vectors(table_name=name, records=vectors)
    assert status.OK() and len(ids) == 20 and len(set(ids)) == 20
    vector_ids = [id for id in range(20)]
    status, given = milvus.add_vectors(table_name=name, records=vectors, ids=vector_ids)
    assert status.OK() and given == vector_ids
    status, tagged = milvus.insert(name, vectors, partition_tag="tag01")
    assert status.OK() and len(tagged) == 20
    assert _count(milvus, name) == 60
    status, count = milvus.get_table_row_count(name)
    assert status.OK() and count == 60

    # Search: every query finds its three copies first, at distance ~0
    q_records = vectors[:3]
    status, results = milvus.search_vectors(
        table_name=name, query_records=q_records, top_k=3, nprobe=16
    )
    assert status.OK()
    assert len(results) == 3
    for q, row in enumerate(results):
        assert {hit.id for hit in row} == {ids[q], q, tagged[q]}
        assert all(hit.distance == pytest.approx(0.0, abs=1e-3) for hit in row)

    # Search in a partition: only that partition's rows
    status, results = milvus.search(
        table_name=name, query_records=q_records, top_k=1, nprobe=8, partition_tags=["tag01"]
    )
    assert status.OK()
    assert [row[0].id for row in results] == tagged[:3]
    status, results = milvus.search(
        table_name=name, query_records=vectors, top_k=5, nprobe=8, partition_tags=["tag01"]
    )
    assert status.OK()
    assert {hit.id for row in results for hit in row} <= set(tagged)

    # Preload, then drop the partition: its rows go with it
    assert milvus.preload_table(name).OK()
    assert milvus.drop_partition(name, "tag01").OK()
    status, partitions = milvus.show_partitions(table_name=name)
    assert status.OK() and partitions == []
    assert _count(milvus, name) == 40

    # Drop the table, disconnect
    assert milvus.delete_table(table_name=name).OK()
    status, exists = milvus.has_table(name)
    assert status.OK() and not exists
    assert milvus.disconnect().OK()


def test_index_types_of_the_guide(milvus: Any, new_name: Any) -> None:
    name = new_name("indexes")
    assert milvus.create_table({"table_name": name, "dimension": 16}).OK()
    rng = random.Random(2)
    vectors = [[rng.random() for _ in range(16)] for _ in range(300)]
    status, ids = milvus.add_vectors(name, vectors)
    assert status.OK()
    # IVF_SQ8H (the GPU hybrid) is built, and described, as IVF_SQ8.
    built = {IndexType.IVF_SQ8H: IndexType.IVF_SQ8}
    for index_type in (IndexType.FLAT, IndexType.IVF_SQ8, IndexType.IVF_SQ8H, IndexType.IVFLAT):
        assert milvus.create_index(name, {"index_type": index_type, "nlist": 8}).OK(), index_type
        status, index = milvus.describe_index(name)
        assert status.OK() and index._index_type == built.get(index_type, index_type)
        status, results = milvus.search(name, 1, 8, vectors[:2])
        assert status.OK() and [row[0].id for row in results] == ids[:2]
    status = milvus.create_index(name, {"index_type": IndexType.RNSG, "nlist": 8})
    assert not status.OK() and status.code == 8 and "RNSG" in status.message


def test_ip_table(milvus: Any, new_name: Any) -> None:
    name = new_name("ip")
    param = {"table_name": name, "dimension": 8, "metric_type": MetricType.IP}
    assert milvus.create_table(param).OK()
    status, table = milvus.describe_table(name)
    assert status.OK() and table.metric_type == MetricType.IP
    vectors = [[1.0 if i == j else 0.0 for i in range(8)] for j in range(8)]
    status, ids = milvus.add_vectors(name, vectors, ids=list(range(8)))
    assert status.OK()
    status, results = milvus.search(name, 2, 1, vectors[:3])
    assert status.OK()
    assert [row[0].id for row in results] == [0, 1, 2]
    assert results[0][0].distance == pytest.approx(1.0)


def test_delete_by_date_is_refused_and_changes_nothing(milvus: Any, new_name: Any) -> None:
    name = new_name("bydate")
    assert milvus.create_table({"table_name": name, "dimension": 8}).OK()
    status, _ = milvus.add_vectors(name, [[0.5] * 8] * 3)
    assert status.OK()
    delete_by_range = milvus._handler._GrpcHandler__delete_vectors_by_range
    status = delete_by_range(name, "2019-01-01", "2099-01-01")
    assert not status.OK() and status.code == ILLEGAL_RANGE
    assert "insertion dates" in status.message
    assert _count(milvus, name) == 3
    # a search with date ranges is refused the same way
    status, _ = milvus.search(name, 1, 1, [[0.5] * 8], query_ranges=[("2019-01-01", "2099-01-01")])
    assert not status.OK() and status.code == ILLEGAL_RANGE
