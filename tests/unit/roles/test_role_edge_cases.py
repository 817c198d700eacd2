"""Edge cases of the roles working together: drops, reloads, growing data, bad messages."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest
from roles_harness import RoleSet, make_rows, wait_until

from elanus import errors
from elanus.meta import DEFAULT_DB, CollectionInfo


@pytest.fixture
def roles(tmp_path: Path) -> Iterator[RoleSet]:
    started = RoleSet(tmp_path).start()
    yield started
    started.stop()


def _checkpoint(roles: RoleSet, vchannel: str) -> int:
    return roles.coordinator.channel_snapshot(vchannel).checkpoint.position


def _with_partition(roles: RoleSet) -> tuple[CollectionInfo, int, int]:
    info = roles.create_collection(shards=1)
    roles.coordinator.create_partition(DEFAULT_DB, "docs", "p1")
    info = roles.info()
    default, p1 = (p.partition_id for p in info.partitions)
    return info, default, p1


def test_dropped_partition_does_not_hold_the_checkpoint(roles: RoleSet) -> None:
    info, default, p1 = _with_partition(roles)
    roles.load(info, [default])
    vchannel, pchannel = info.vchannels[0], info.pchannels[0]
    roles.writer.insert(info, p1, make_rows(info.schema, range(10)))
    after_p1 = roles.stream.end_position(pchannel)
    roles.writer.insert(info, default, make_rows(info.schema, range(100, 105)))
    roles.coordinator.drop_partition(DEFAULT_DB, "docs", "p1")
    # The default partition's rows stay buffered (growing); p1's must not.
    wait_until(lambda: _checkpoint(roles, vchannel) >= after_p1, what="checkpoint past p1")
    roles.flush_and_wait(info)
    assert set(roles.rows_by_pk(info)) == set(range(100, 105))
    assert roles.coordinator.collection_statistics(info.collection_id).row_count == 5
    wait_until(  # the coordinator removes them off its caller's thread
        lambda: not [k for k in roles.storage.list("") if f"/{p1}/" in k],
        what="files of the dropped partition removed",
    )


def test_rows_of_a_dropped_partition_replayed_after_restart(tmp_path: Path) -> None:
    """The datanode dies holding rows of a partition that is then dropped: after a
    restart it replays rows of a segment the coordinator no longer knows."""
    roles = RoleSet(tmp_path).start()
    try:
        info, default, p1 = _with_partition(roles)
        vchannel, pchannel = info.vchannels[0], info.pchannels[0]
        roles.writer.insert(info, p1, make_rows(info.schema, range(10)))
        roles.datanode.stop()  # its buffer dies with it; the checkpoint stays before the rows
        roles.coordinator.drop_partition(DEFAULT_DB, "docs", "p1")
    finally:
        roles.stop()
    again = RoleSet(tmp_path).start()
    try:
        info = again.info()
        end = again.stream.end_position(pchannel)
        wait_until(lambda: _checkpoint(again, vchannel) >= end, what="checkpoint past old rows")
        again.flush_and_wait(info)
    finally:
        again.stop()


def test_release_and_load_again(roles: RoleSet) -> None:
    info = roles.create_collection()
    roles.load(info)
    roles.writer.insert(info, info.partitions[0].partition_id, make_rows(info.schema, range(30)))
    assert len(roles.rows_by_pk(info)) == 30
    for _ in range(3):
        roles.coordinator.release_collection(info.collection_id)
        with pytest.raises(errors.CollectionNotLoaded):
            roles.query(info)
        roles.load(info)
        assert len(roles.rows_by_pk(info)) == 30
    # A release racing the load it follows leaves nothing serving.
    roles.coordinator.load_collection(info.collection_id)
    roles.coordinator.release_collection(info.collection_id)
    roles.coordinator.wait_idle()
    assert all(roles.querynode.delegator(v) is None for v in info.vchannels)


def test_drop_collection_while_loaded(roles: RoleSet) -> None:
    info = roles.create_collection()
    roles.load(info)
    roles.writer.insert(info, info.partitions[0].partition_id, make_rows(info.schema, range(30)))
    roles.flush_and_wait(info)
    roles.writer.insert(
        info, info.partitions[0].partition_id, make_rows(info.schema, range(30, 40))
    )
    roles.coordinator.drop_collection(DEFAULT_DB, "docs")
    with pytest.raises(errors.CollectionNotFound):
        roles.info()
    roles.coordinator.wait_idle()
    assert all(roles.querynode.delegator(v) is None for v in info.vchannels)
    # Its files stay for the GC's grace period (a search may still read them), then go.
    flushed = roles.storage.list("")
    assert flushed
    gc, grace_ms = roles.coordinator.gc, int(roles.config.coordinator.gc_grace_s * 1000)
    assert gc.run_once(now_ms=1_000_000) == []
    assert set(gc.run_once(now_ms=1_000_000 + grace_ms)) == set(flushed)
    assert roles.storage.list("") == []
    # The name is free again, as a new, empty collection.
    fresh = roles.create_collection()
    assert fresh.collection_id != info.collection_id
    roles.load(fresh)
    assert roles.rows_by_pk(fresh) == {}


def test_search_ignore_growing(roles: RoleSet) -> None:
    info = roles.create_collection(shards=1)
    roles.load(info)
    partition = info.partitions[0].partition_id
    roles.writer.insert(info, partition, make_rows(info.schema, range(10)))
    roles.flush_and_wait(info)
    wait_until(lambda: not roles.delegator(info.vchannels[0]).segment_ids()[1])
    roles.writer.insert(info, partition, make_rows(info.schema, range(10, 20)))
    assert roles.search(info, [15], topk=1).pks.to_pylist() == [15]
    sealed_only = roles.search(info, [15], topk=20, ignore_growing=True).pks.to_pylist()
    assert sorted(sealed_only) == list(range(10))


def test_same_key_inserted_twice_reads_once_as_newest(roles: RoleSet) -> None:
    info = roles.create_collection(shards=2)
    roles.load(info)
    partition = info.partitions[0].partition_id
    roles.writer.insert(info, partition, make_rows(info.schema, [1, 2, 3], tag="old"))
    roles.writer.insert(info, partition, make_rows(info.schema, [2, 3], tag="new"))
    assert roles.rows_by_pk(info) == {1: "old", 2: "new", 3: "new"}
    hits = roles.search(info, [2], topk=3)
    assert hits.pks.to_pylist().count(2) == 1
    roles.flush_and_wait(info)
    assert roles.rows_by_pk(info) == {1: "old", 2: "new", 3: "new"}
    # A key repeated inside one insert is kept once, too.
    roles.writer.insert(info, partition, make_rows(info.schema, [9, 9], tag="x"))
    assert roles.rows_by_pk(info)[9] == "x"


def test_bad_message_does_not_stop_serve_time(roles: RoleSet) -> None:
    """A message the delegator cannot apply is reported, not a silent 10 s stall for ever."""
    info = roles.create_collection(shards=1)
    roles.load(info)
    partition = info.partitions[0].partition_id
    roles.stream.produce(info.pchannels[0], [b"\xff\xfe not a protobuf"])
    bad_rows = pa.table({"pk": pa.array([1], type=pa.int64())})  # no vector column
    roles.writer.insert(info, partition, bad_rows)
    roles.writer.insert(info, partition, make_rows(info.schema, range(5)))
    assert set(roles.rows_by_pk(info)) == set(range(5))
    # The datanode carried on too: the good rows flush.
    roles.flush_and_wait(info)
    assert roles.coordinator.collection_statistics(info.collection_id).row_count >= 5
