"""The data path end to end, in process: write, read, delete, flush, hand off, index, restart."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from roles_harness import RoleSet, make_rows, wait_until

from elanus.meta import CollectionInfo


@pytest.fixture
def roles(tmp_path: Path):
    started = RoleSet(tmp_path).start()
    yield started
    started.stop()


def _segments_of(roles: RoleSet, info: CollectionInfo) -> tuple[list[int], list[int]]:
    sealed: list[int] = []
    growing: list[int] = []
    for vchannel in info.vchannels:
        delegator = roles.querynode.delegator(vchannel)
        assert delegator is not None
        s, g = delegator.segment_ids()
        sealed += s
        growing += g
    return sealed, growing


def _top_hit(roles: RoleSet, info: CollectionInfo, pk: int, **kwargs) -> list[int]:
    result = roles.search(info, [pk], topk=3, **kwargs)
    return result.pks.to_pylist()


def test_insert_search_delete_flush_index_restart(tmp_path: Path) -> None:
    roles = RoleSet(tmp_path).start()
    try:
        info = roles.create_collection()
        roles.load(info)
        roles.writer.insert(
            info, info.partitions[0].partition_id, make_rows(info.schema, range(100))
        )

        hits = roles.search(info, [5, 42], topk=3)
        assert hits.query_index.tolist() == [0, 0, 0, 1, 1, 1]
        assert hits.pks.to_pylist()[0] == 5 and hits.pks.to_pylist()[3] == 42
        assert hits.scores[0] == pytest.approx(0.0, abs=1e-5)
        assert hits.fields.column("tag").to_pylist() == ["a"] * 6
        assert set(roles.rows_by_pk(info)) == set(range(100))
        assert roles.query(info, count_only=True).count == 100

        import pyarrow as pa

        roles.writer.delete(info, 0, pa.array(range(10), type=pa.int64()))
        assert set(roles.rows_by_pk(info)) == set(range(10, 100))
        assert 3 not in _top_hit(roles, info, 3)

        roles.flush_and_wait(info)
        sealed, growing = wait_until(
            lambda: (s := _segments_of(roles, info)) and not s[1] and s[0] and s,
            what="handoff of every growing segment",
        )
        assert len(sealed) == len(info.vchannels)
        assert set(roles.rows_by_pk(info)) == set(range(10, 100)), "handoff resurrected rows"
        assert 3 not in _top_hit(roles, info, 3)

        # The FLAT index declared before the flush gets built for the flushed segments.
        wait_until(
            lambda: roles.coordinator.describe_indexes(info.collection_id)[0].state == "Finished",
            what="index built",
        )
        progress = roles.coordinator.describe_indexes(info.collection_id)[0]
        assert progress.indexed_rows == progress.total_rows == 100
        wait_until(
            lambda: all(
                roles.delegator(v).indexed_fields(s) == ["vec"]
                for v in info.vchannels
                for s in roles.delegator(v).segment_ids()[0]
            ),
            what="querynode loaded the index files",
        )
        assert _top_hit(roles, info, 50)[0] == 50

        # Rows still growing at shutdown: replayed after restart.
        roles.writer.insert(
            info, info.partitions[0].partition_id, make_rows(info.schema, range(100, 120))
        )
        roles.writer.delete(info, 0, pa.array([100, 101, 55], type=pa.int64()))
        roles.writer.upsert(
            info, info.partitions[0].partition_id, make_rows(info.schema, [60, 110], tag="b")
        )
        before = roles.rows_by_pk(info)
        expected = set(range(10, 120)) - {100, 101, 55}
        assert set(before) == expected
        assert before[60] == "b" and before[110] == "b" and before[61] == "a"
    finally:
        roles.stop()

    again = RoleSet(tmp_path).start()
    try:
        info = again.info()
        wait_until(
            lambda: again.coordinator.load_progress(info.collection_id).state == "Loaded",
            what="reload after restart",
        )
        assert again.rows_by_pk(info) == before
        assert again.query(info, count_only=True).count == len(before)
        assert _top_hit(again, info, 70)[0] == 70
        assert 55 not in _top_hit(again, info, 55)
        # Replay is idempotent also through a second flush and a third start.
        again.flush_and_wait(info)
        wait_until(lambda: not _segments_of(again, info)[1], what="handoff after restart")
        assert again.rows_by_pk(info) == before
    finally:
        again.stop()

    third = RoleSet(tmp_path).start()
    try:
        info = third.info()
        wait_until(
            lambda: third.coordinator.load_progress(info.collection_id).state == "Loaded",
            what="reload after second restart",
        )
        assert third.rows_by_pk(info) == before
        stats = third.coordinator.collection_statistics(info.collection_id)
        assert stats.row_count == 100 + 20 + 2  # rows written, deletes do not subtract
    finally:
        third.stop()


def test_upsert_keeps_only_the_new_row(roles: RoleSet) -> None:
    info = roles.create_collection()
    roles.load(info)
    partition = info.partitions[0].partition_id
    roles.writer.insert(info, partition, make_rows(info.schema, range(20)))
    roles.writer.upsert(info, partition, make_rows(info.schema, [3, 4, 25], tag="new"))
    rows = roles.rows_by_pk(info)
    assert set(rows) == set(range(20)) | {25}
    assert {k for k, tag in rows.items() if tag == "new"} == {3, 4, 25}
    # Searching by 3's vector finds it once, as its new row.
    hits = roles.search(info, [3], topk=5)
    pks = hits.pks.to_pylist()
    assert pks.count(3) == 1
    assert hits.fields.column("tag").to_pylist()[pks.index(3)] == "new"
    roles.flush_and_wait(info)
    wait_until(lambda: not _segments_of(roles, info)[1], what="handoff")
    assert roles.rows_by_pk(info) == rows


def test_search_results_match_numpy(roles: RoleSet) -> None:
    info = roles.create_collection(shards=3)
    roles.load(info)
    keys = list(range(300))
    roles.writer.insert(info, info.partitions[0].partition_id, make_rows(info.schema, keys))
    from roles_harness import vectors_for

    data = vectors_for(keys)
    queries = vectors_for([1000, 1001])
    result = roles.search(info, [1000, 1001], topk=7)
    for q in range(2):
        distances = ((data - queries[q]) ** 2).sum(axis=1)
        expected = np.argsort(distances, kind="stable")[:7].tolist()
        got = result.pks.to_numpy()[result.query_index == q].tolist()
        assert got == expected


def test_query_spans_sealed_and_growing_segments_of_one_shard(roles: RoleSet) -> None:
    """A shard holding a flushed segment (read from its file) and a growing one."""
    info = roles.create_collection(shards=1)
    roles.load(info)
    partition = info.partitions[0].partition_id
    roles.writer.insert(info, partition, make_rows(info.schema, range(10)))
    roles.flush_and_wait(info)
    wait_until(lambda: not _segments_of(roles, info)[1], what="handoff")
    roles.writer.insert(info, partition, make_rows(info.schema, range(10, 15)))
    assert set(roles.rows_by_pk(info)) == set(range(15))
    assert roles.search(info, [12], topk=2).pks.to_pylist()[0] == 12
