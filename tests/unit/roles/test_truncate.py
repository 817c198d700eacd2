"""TruncateCollection on the standalone roles: every row inserted before the truncate
is gone for every reader (growing, sealed and flushed alike), later rows stay, the
segments wholly older are dropped, datanodes do not write the older rows, and a
restart, before or after the channels' checkpoints pass the truncate, agrees."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from roles_harness import RoleSet, make_rows, wait_until

from elanus import dml
from elanus.meta import CollectionInfo, SegmentState


@pytest.fixture
def roles(tmp_path: Path) -> Iterator[RoleSet]:
    started = RoleSet(tmp_path).start()
    yield started
    started.stop()


def insert(roles: RoleSet, info: CollectionInfo, pks: range, tag: str) -> None:
    roles.writer.insert(info, info.partitions[0].partition_id, make_rows(info.schema, pks, tag))


def truncate(roles: RoleSet, info: CollectionInfo) -> int:
    """What the TruncateCollection handler does: record, then mark every channel."""
    outcome = roles.writer.truncate(
        info, lambda ts: roles.coordinator.truncate_collection(info.collection_id, ts)
    )
    return outcome.timestamp


def live_rows(roles: RoleSet, info: CollectionInfo) -> int:
    """Rows the coordinator's segment records hold (what get_collection_stats counts)."""
    return roles.coordinator.collection_statistics(info.collection_id).row_count


def test_a_truncate_hides_every_older_row_and_keeps_later_ones(roles: RoleSet) -> None:
    info = roles.create_collection(shards=2)
    roles.load(info)
    insert(roles, info, range(0, 20), "old")
    roles.flush_and_wait(info)
    insert(roles, info, range(20, 30), "old")  # growing at the truncate
    assert len(roles.rows_by_pk(info)) == 30

    truncate_ts = truncate(roles, info)

    assert roles.rows_by_pk(info) == {}
    assert roles.search(info, [1, 2, 3]).num_hits == 0
    assert roles.coordinator.describe_collection("default", "docs").truncated_ts == truncate_ts
    # The flushed segments are dropped; the growing ones were sealed and flush empty.
    segments = roles.coordinator.segments.of_collection(info.collection_id, [SegmentState.DROPPED])
    assert segments
    insert(roles, info, range(25, 35), "new")  # keys seen before the truncate too
    assert roles.rows_by_pk(info) == {pk: "new" for pk in range(25, 35)}
    roles.flush_and_wait(info)
    wait_until(lambda: live_rows(roles, info) == 10, what="stats count only the new rows")
    assert roles.rows_by_pk(info) == {pk: "new" for pk in range(25, 35)}


@pytest.mark.parametrize("flush_first", [False, True], ids=["marks-replayed", "past-checkpoint"])
def test_a_restart_keeps_the_truncate(tmp_path: Path, flush_first: bool) -> None:
    roles = RoleSet(tmp_path).start()
    try:
        info = roles.create_collection(shards=1)
        roles.load(info)
        insert(roles, info, range(0, 10), "old")
        roles.flush_and_wait(info)
        insert(roles, info, range(10, 15), "old")
        truncate(roles, info)
        insert(roles, info, range(100, 104), "new")
        if flush_first:
            roles.flush_and_wait(info)
    finally:
        roles.stop()

    again = RoleSet(tmp_path).start()
    try:
        info = again.info()
        again.load(info)
        assert again.rows_by_pk(info) == {pk: "new" for pk in range(100, 104)}
    finally:
        again.stop()


def test_a_truncate_mark_round_trips_on_the_wire() -> None:
    mark = dml.TruncateMark(dml.Stamp(7, 123456, 2), 99, "ch_99v0")
    assert dml.decode(dml.encode_truncate(mark)) == mark
