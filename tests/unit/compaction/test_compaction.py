"""Compaction end to end, in process: merge, purge deletes, swap, rebuild indexes, restart."""

from __future__ import annotations

import threading
from pathlib import Path

import pyarrow as pa
import pytest
from roles_harness import RoleSet, make_rows, wait_until

from elanus.config import Config
from elanus.meta import CollectionInfo, SegmentState


def _no_auto(config: Config) -> None:
    config.coordinator.compaction_auto = False


@pytest.fixture
def roles(tmp_path: Path):
    started = RoleSet(tmp_path).start(_no_auto)
    yield started
    started.stop()


def _insert_flushed_batches(roles: RoleSet, info: CollectionInfo, batches: int, size: int) -> None:
    """``batches`` flushes of ``size`` rows each: that many small segments per shard."""
    partition = info.partitions[0].partition_id
    for b in range(batches):
        pks = range(b * size, (b + 1) * size)
        roles.writer.insert(info, partition, make_rows(info.schema, pks, tag=f"t{b}"))
        roles.flush_and_wait(info)


def _flushed(roles: RoleSet, info: CollectionInfo) -> list:
    return roles.coordinator.segments.of_collection(info.collection_id, [SegmentState.FLUSHED])


def _stored_bytes(roles: RoleSet, info: CollectionInfo) -> int:
    return sum(s.size_bytes for s in _flushed(roles, info))


def _indexed(roles: RoleSet, info: CollectionInfo) -> bool:
    segments = _flushed(roles, info)
    if not all(s.index_files for s in segments):
        return False
    for vchannel in info.vchannels:
        delegator = roles.querynode.delegator(vchannel)
        assert delegator is not None
        sealed, _ = delegator.segment_ids()
        if not all(delegator.indexed_fields(s) == ["vec"] for s in sealed):
            return False
    return True


def _compact(roles: RoleSet, info: CollectionInfo) -> None:
    compaction_id = roles.coordinator.manual_compaction(info.collection_id)
    wait_until(
        lambda: roles.coordinator.compaction_state(compaction_id).state == "Completed",
        what="compaction completed",
    )
    assert roles.coordinator.compaction_state(compaction_id).failed == 0
    assert roles.coordinator.wait_idle()


def _search_pks(roles: RoleSet, info: CollectionInfo, keys: list[int]) -> list[list[int]]:
    result = roles.search(info, keys, topk=5)
    pks = result.pks.to_pylist()
    out: list[list[int]] = [[] for _ in keys]
    for q, pk in zip(result.query_index.tolist(), pks, strict=True):
        out[q].append(pk)
    return out


def test_compaction_merges_purges_and_keeps_results(roles: RoleSet) -> None:
    info = roles.create_collection(shards=1)
    roles.load(info)
    _insert_flushed_batches(roles, info, batches=4, size=50)
    assert len(_flushed(roles, info)) == 4
    wait_until(lambda: _indexed(roles, info), what="indexes built")
    probes = list(range(0, 200, 7))
    before = _search_pks(roles, info, probes)
    size_before = _stored_bytes(roles, info)

    deleted = set(range(0, 200, 2))
    roles.writer.delete(info, 0, pa.array(sorted(deleted), type=pa.int64()))
    roles.flush_and_wait(info)  # the deletes are in a delta log now
    expected_after = [[p for p in hits if p not in deleted] for hits in before]
    _compact(roles, info)

    segments = _flushed(roles, info)
    assert len(segments) == 1
    assert segments[0].num_rows == 100
    assert segments[0].compacted_from
    assert _stored_bytes(roles, info) < size_before * 0.7
    assert set(roles.rows_by_pk(info)) == set(range(200)) - deleted
    wait_until(lambda: _indexed(roles, info), what="index rebuilt on the compacted segment")
    after = _search_pks(roles, info, probes)
    for hits, expected in zip(after, expected_after, strict=True):
        # The deleted rows' places are taken by the next nearest: a prefix matches.
        assert hits[: len(expected)] == expected
    dropped = roles.coordinator.segments.dropped()
    assert {s.compacted_to for s in dropped} == {segments[0].segment_id}


def test_restart_after_compaction_keeps_exactly_the_rows(tmp_path: Path) -> None:
    roles = RoleSet(tmp_path).start(_no_auto)
    try:
        info = roles.create_collection(shards=2)
        roles.load(info)
        _insert_flushed_batches(roles, info, batches=3, size=40)
        roles.writer.delete(info, 0, pa.array(range(0, 120, 3), type=pa.int64()))
        roles.flush_and_wait(info)
        _compact(roles, info)
        # Deletes after the compaction live only in delta logs and the stream.
        roles.writer.delete(info, 0, pa.array([1, 2, 4], type=pa.int64()))
        expected = set(range(120)) - set(range(0, 120, 3)) - {1, 2, 4}
        assert set(roles.rows_by_pk(info)) == expected
    finally:
        roles.stop()
    again = RoleSet(tmp_path).start(_no_auto)
    try:
        info = again.info()
        again.load(info)
        assert set(again.rows_by_pk(info)) == expected
        assert again.query(info, count_only=True).count == len(expected)
    finally:
        again.stop()


def test_deletes_racing_a_compaction_are_not_lost(roles: RoleSet) -> None:
    info = roles.create_collection(shards=1)
    roles.load(info)
    _insert_flushed_batches(roles, info, batches=4, size=50)
    done = threading.Event()
    racing: list[int] = []

    def delete_while_compacting() -> None:
        for pk in range(1, 200, 2):
            if done.is_set() and len(racing) > 10:
                return
            roles.writer.delete(info, 0, pa.array([pk], type=pa.int64()))
            racing.append(pk)

    deleter = threading.Thread(target=delete_while_compacting)
    deleter.start()
    _compact(roles, info)
    done.set()
    deleter.join(30)
    assert not deleter.is_alive()
    assert len(_flushed(roles, info)) == 1
    assert set(roles.rows_by_pk(info)) == set(range(200)) - set(racing)
    roles.flush_and_wait(info)
    _compact(roles, info)  # purges what the first one could not see
    assert set(roles.rows_by_pk(info)) == set(range(200)) - set(racing)
    assert sum(s.num_rows for s in _flushed(roles, info)) == 200 - len(racing)


def test_automatic_policy_merges_many_small_segments(tmp_path: Path) -> None:
    def configure(config: Config) -> None:
        config.coordinator.compaction_interval_s = 0.2
        config.coordinator.compaction_min_segments = 3

    roles = RoleSet(tmp_path).start(configure)
    try:
        info = roles.create_collection(shards=1)
        roles.load(info)
        _insert_flushed_batches(roles, info, batches=2, size=10)
        # Two small segments are below the policy's minimum: they stay.
        assert len(_flushed(roles, info)) == 2
        roles.writer.insert(
            info, info.partitions[0].partition_id, make_rows(info.schema, range(20, 30))
        )
        roles.flush_and_wait(info)
        wait_until(lambda: len(_flushed(roles, info)) == 1, what="automatic compaction")
        assert _flushed(roles, info)[0].num_rows == 30
        assert roles.coordinator.wait_idle()
        assert set(roles.rows_by_pk(info)) == set(range(30))
    finally:
        roles.stop()
