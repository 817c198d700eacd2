"""Collection properties in the compaction path, every role in process: the TTL's
purge by a manual compaction, and ``collection.autocompaction.enabled`` = false
keeping the periodic compaction away from one collection while it runs on another."""

from __future__ import annotations

import time
from pathlib import Path

from roles_harness import RoleSet, make_rows, make_schema, wait_until

from elanus.config import Config
from elanus.meta import DEFAULT_DB, CollectionInfo, SegmentState
from elanus.properties import AUTOCOMPACTION_ENABLED, TTL_SECONDS


def _flushed(roles: RoleSet, info: CollectionInfo) -> list[int]:
    segments = roles.coordinator.segments.of_collection(info.collection_id, [SegmentState.FLUSHED])
    return sorted(s.segment_id for s in segments)


def _count(roles: RoleSet, name: str) -> int:
    return roles.query(roles.info(name), count_only=True).count  # fresh properties


def _assert_purged_not_hidden(roles: RoleSet) -> None:
    """With the TTL removed, the purged rows stay gone. The catalog commits a compaction
    before the querynodes are told to drop its sources, so a read in between may still
    see the old segment for a moment; a segment never dropped keeps its rows forever."""
    wait_until(lambda: _count(roles, "docs") == 0, 20, what="purged rows gone once TTL removed")


def test_expired_rows_vanish_from_growing_and_sealed_and_compaction_purges_them(
    tmp_path: Path,
) -> None:
    def no_auto(config: Config) -> None:
        config.coordinator.compaction_auto = False

    roles = RoleSet(tmp_path).start(no_auto)
    try:
        info = roles.create_collection(shards=1)
        roles.load(info)
        partition = info.partitions[0].partition_id
        roles.writer.insert(info, partition, make_rows(info.schema, range(0, 20)))
        roles.flush_and_wait(info)
        roles.writer.insert(info, partition, make_rows(info.schema, range(20, 30)))  # growing
        assert _count(roles, "docs") == 30
        roles.coordinator.alter_collection(DEFAULT_DB, "docs", {TTL_SECONDS: "1"}, ())
        wait_until(lambda: _count(roles, "docs") == 0, 20, what="rows expired")
        assert roles.search(roles.info(), [0, 25]).num_hits == 0

        roles.flush_and_wait(info)
        assert _flushed(roles, info)
        compaction_id = roles.coordinator.manual_compaction(info.collection_id)
        wait_until(
            lambda: roles.coordinator.compaction_state(compaction_id).state == "Completed",
            what="compaction completed",
        )
        assert roles.coordinator.compaction_state(compaction_id).failed == 0
        assert _flushed(roles, info) == []  # every row purged: no segment left
        roles.coordinator.alter_collection(DEFAULT_DB, "docs", {}, (TTL_SECONDS,))
        _assert_purged_not_hidden(roles)
    finally:
        roles.stop()


def test_automatic_compaction_skips_a_collection_that_disables_it(tmp_path: Path) -> None:
    def fast_auto(config: Config) -> None:
        config.coordinator.compaction_auto = True
        config.coordinator.compaction_interval_s = 0.2
        config.coordinator.compaction_min_segments = 2

    roles = RoleSet(tmp_path).start(fast_auto)
    try:
        kept = roles.create_collection(make_schema("kept"), shards=1)
        merged = roles.create_collection(make_schema("merged"), shards=1)
        roles.coordinator.alter_collection(
            DEFAULT_DB, "kept", {AUTOCOMPACTION_ENABLED: "false"}, ()
        )
        for info in (kept, merged):
            for b in range(3):
                rows = make_rows(info.schema, range(b * 10, (b + 1) * 10))
                roles.writer.insert(info, info.partitions[0].partition_id, rows)
                roles.flush_and_wait(info)
        before = _flushed(roles, kept)
        assert len(before) == 3
        wait_until(lambda: len(_flushed(roles, merged)) == 1, 30, what="automatic compaction")
        time.sleep(1.0)  # five more periods of the policy
        assert _flushed(roles, kept) == before
        # Enabled again (the key removed): the policy takes it up.
        roles.coordinator.alter_collection(DEFAULT_DB, "kept", {}, (AUTOCOMPACTION_ENABLED,))
        wait_until(lambda: len(_flushed(roles, kept)) == 1, 30, what="compaction once enabled")
    finally:
        roles.stop()


def test_the_periodic_policy_purges_a_segment_whose_rows_expired(tmp_path: Path) -> None:
    def fast_auto(config: Config) -> None:
        config.coordinator.compaction_auto = True
        config.coordinator.compaction_interval_s = 0.2

    roles = RoleSet(tmp_path).start(fast_auto)
    try:
        info = roles.create_collection(shards=1)
        roles.load(info)
        rows = make_rows(info.schema, range(0, 20))
        roles.writer.insert(info, info.partitions[0].partition_id, rows)
        roles.flush_and_wait(info)
        assert len(_flushed(roles, info)) == 1
        roles.coordinator.alter_collection(DEFAULT_DB, "docs", {TTL_SECONDS: "1"}, ())
        wait_until(lambda: _flushed(roles, info) == [], 30, what="expired segment purged")
        roles.coordinator.alter_collection(DEFAULT_DB, "docs", {}, (TTL_SECONDS,))
        _assert_purged_not_hidden(roles)
    finally:
        roles.stop()
