"""Seal policies (age, idle), garbage collection's grace period, and bounded flushes."""

from __future__ import annotations

import time
from pathlib import Path

import pyarrow as pa
import pytest
from roles_harness import RoleSet, make_rows, wait_until

from elanus import errors
from elanus.config import Config
from elanus.meta import CollectionInfo, SegmentState


def _states(roles: RoleSet, info: CollectionInfo) -> list[SegmentState]:
    return [s.state for s in roles.coordinator.segments.of_collection(info.collection_id)]


def _insert(roles: RoleSet, info: CollectionInfo, pks: range) -> None:
    roles.writer.insert(info, info.partitions[0].partition_id, make_rows(info.schema, pks))


def test_idle_segment_is_sealed_and_flushed(tmp_path: Path) -> None:
    def configure(config: Config) -> None:
        config.coordinator.segment_idle_s = 0.3
        config.coordinator.seal_check_interval_s = 0.05

    roles = RoleSet(tmp_path).start(configure)
    try:
        info = roles.create_collection(shards=1)
        _insert(roles, info, range(10))
        assert _states(roles, info) == [SegmentState.GROWING]
        wait_until(lambda: _states(roles, info) == [SegmentState.FLUSHED], what="idle seal")
    finally:
        roles.stop()


def test_old_segment_is_sealed_even_while_written(tmp_path: Path) -> None:
    def configure(config: Config) -> None:
        config.coordinator.segment_max_age_s = 0.4
        config.coordinator.seal_check_interval_s = 0.05

    roles = RoleSet(tmp_path).start(configure)
    try:
        info = roles.create_collection(shards=1)
        deadline = time.monotonic() + 15  # generous: the loop ends at the first flush
        pk = 0
        while time.monotonic() < deadline:  # never idle for long
            _insert(roles, info, range(pk, pk + 5))
            pk += 5
            flushed = roles.coordinator.segments.of_collection(
                info.collection_id, [SegmentState.FLUSHED]
            )
            if flushed:
                break
            time.sleep(0.02)
        assert flushed, "a segment open past segment_max_age_s was not sealed"
    finally:
        roles.stop()


def test_segment_not_sealed_before_its_time(tmp_path: Path) -> None:
    def configure(config: Config) -> None:
        config.coordinator.seal_check_interval_s = 0.05

    roles = RoleSet(tmp_path).start(configure)
    try:
        info = roles.create_collection(shards=1)
        _insert(roles, info, range(10))
        time.sleep(0.3)
        assert _states(roles, info) == [SegmentState.GROWING]
    finally:
        roles.stop()


def test_gc_removes_compacted_files_after_grace_only(tmp_path: Path) -> None:
    def configure(config: Config) -> None:
        config.coordinator.compaction_auto = False
        config.coordinator.gc_interval_s = 3600  # run by hand below

    roles = RoleSet(tmp_path).start(configure)
    try:
        info = roles.create_collection(shards=1)
        roles.load(info)
        for b in range(3):
            _insert(roles, info, range(b * 20, b * 20 + 20))
            roles.flush_and_wait(info)
        roles.writer.delete(info, 0, pa.array(range(5), type=pa.int64()))
        roles.flush_and_wait(info)
        old = roles.coordinator.segments.of_collection(info.collection_id, [SegmentState.FLUSHED])
        compaction_id = roles.coordinator.manual_compaction(info.collection_id)
        wait_until(
            lambda: roles.coordinator.compaction_state(compaction_id).state == "Completed",
            what="compaction",
        )
        old_keys = [s.data_key for s in old] + [s.pk_stats_key for s in old]
        assert all(roles.storage.exists(k) for k in old_keys)
        gc = roles.coordinator.gc
        dropped_at = max(s.dropped_at_ms for s in roles.coordinator.segments.dropped())
        grace_ms = int(roles.config.coordinator.gc_grace_s * 1000)
        assert gc.run_once(now_ms=dropped_at + grace_ms - 1000) == []
        assert all(roles.storage.exists(k) for k in old_keys)
        removed = gc.run_once(now_ms=dropped_at + grace_ms + 1)
        assert set(old_keys) <= set(removed)
        assert not any(roles.storage.exists(k) for k in old_keys)
        assert roles.coordinator.segments.dropped() == []
        assert set(roles.rows_by_pk(info)) == set(range(5, 60))
        # The live segment's files and the delta logs are untouched.
        live = roles.coordinator.segments.of_collection(info.collection_id)
        assert all(roles.storage.exists(s.data_key) for s in live)
    finally:
        roles.stop()


def test_gc_removes_orphans_only_after_seen_for_the_grace(tmp_path: Path) -> None:
    roles = RoleSet(tmp_path).start()
    try:
        info = roles.create_collection(shards=1)
        _insert(roles, info, range(10))
        roles.flush_and_wait(info)
        # The index file is written before its build is reported: until then it is
        # unreferenced, and the fake clock below would let the GC take it.
        wait_until(
            lambda: all(
                p.state == "Finished"
                for p in roles.coordinator.describe_indexes(info.collection_id)
            ),
            what="index built",
        )
        orphan = f"segments/{info.collection_id}/0/999999/data.parquet"
        roles.storage.put(orphan, b"left behind by a crash")
        gc = roles.coordinator.gc
        grace_ms = int(roles.config.coordinator.gc_grace_s * 1000)
        assert orphan not in gc.run_once(now_ms=1_000_000)
        assert orphan not in gc.run_once(now_ms=1_000_000 + grace_ms - 1)
        assert roles.storage.exists(orphan)
        removed = gc.run_once(now_ms=1_000_000 + grace_ms)
        assert removed == [orphan]
        live = roles.coordinator.segments.of_collection(info.collection_id)
        assert all(roles.storage.exists(s.data_key) for s in live)
    finally:
        roles.stop()


def test_flush_without_datanode_fails_clearly_after_the_bound(tmp_path: Path) -> None:
    def configure(config: Config) -> None:
        config.coordinator.flush_timeout_s = 0.5

    roles = RoleSet(tmp_path).start(configure)
    try:
        info = roles.create_collection(shards=1)
        _insert(roles, info, range(10))
        roles.datanode.unwatch_channel(info.vchannels[0])  # nobody persists the channel now
        flushed = roles.coordinator.flush(info.collection_id)
        roles.coordinator.nodes.unregister_datanode(1)
        assert not roles.coordinator.flush_state(
            info.collection_id, flushed.segment_ids, flushed.flush_ts
        )
        time.sleep(0.6)
        with pytest.raises(errors.ServiceUnavailable) as raised:
            roles.coordinator.flush_state(info.collection_id, flushed.segment_ids, flushed.flush_ts)
        message = str(raised.value)
        assert info.vchannels[0] in message and "no datanode" in message
    finally:
        roles.stop()


def test_gc_removes_delta_logs_only_once_compacted_past(tmp_path: Path) -> None:
    def configure(config: Config) -> None:
        config.coordinator.compaction_auto = False
        config.coordinator.gc_interval_s = 3600  # run by hand below

    roles = RoleSet(tmp_path).start(configure)
    try:
        info = roles.create_collection(shards=1)
        roles.load(info)
        vchannel = info.vchannels[0]
        for b in range(2):
            _insert(roles, info, range(b * 20, b * 20 + 20))
            roles.flush_and_wait(info)
        roles.writer.delete(info, 0, pa.array(range(10), type=pa.int64()))
        roles.flush_and_wait(info)
        deltas = roles.coordinator.segments.deltas_of_channel(vchannel)
        assert deltas
        gc = roles.coordinator.gc
        far = int(time.time() * 1000) + 10**9
        grace_ms = int(roles.config.coordinator.gc_grace_s * 1000)
        gc.run_once(now_ms=far)
        gc.run_once(now_ms=far + grace_ms)
        # Not compacted yet: the flushed segments still need their deletes.
        assert all(roles.storage.exists(d.key) for d in deltas)
        compaction_id = roles.coordinator.manual_compaction(info.collection_id)
        wait_until(
            lambda: roles.coordinator.compaction_state(compaction_id).state == "Completed",
            what="compaction",
        )
        # Compacted past now, but the grace starts from when that was first seen.
        first = gc.run_once(now_ms=far + 2 * grace_ms)
        assert not {d.key for d in deltas} & set(first)
        assert all(roles.storage.exists(d.key) for d in deltas)
        removed = gc.run_once(now_ms=far + 3 * grace_ms)
        assert {d.key for d in deltas} <= set(removed)
        assert roles.coordinator.segments.deltas_of_channel(vchannel) == []
        assert set(roles.rows_by_pk(info)) == set(range(10, 40))
    finally:
        roles.stop()
    again = RoleSet(tmp_path).start(configure)
    try:
        info = again.info()
        again.load(info)
        assert set(again.rows_by_pk(info)) == set(range(10, 40))
    finally:
        again.stop()
