"""Files of dropped collections and partitions: kept through the GC's grace period, then gone."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_ddl_crash import (
    Crash,
    Stack,
    add_delta,
    add_index_files,
    create,
    flushed_segment,
)

from elanus import errors
from elanus.meta import DEFAULT_DB, CollectionInfo
from elanus.segment import paths

GRACE_S = 3600.0


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    s = Stack(tmp_path)
    s.config = dataclasses.replace(s.config, gc_grace_s=GRACE_S)
    s.open()
    yield s
    s.close()


def _populate(stack: Stack, name: str) -> CollectionInfo:
    """A collection with two partitions, a flushed segment in each, an index and a delta log."""
    coord = stack.coordinator
    info = create(coord, name)
    coord.create_partition(DEFAULT_DB, name, "p1")
    flushed_segment(stack, info, "_default", 5)
    flushed_segment(stack, info, "p1", 7)
    coord.create_index(info.collection_id, "v", "idx", "FLAT", "L2", {}, {})
    add_index_files(stack, info, "idx")
    add_delta(stack, info)
    return coord.describe_collection(DEFAULT_DB, name)


def _files(stack: Stack, collection_id: int) -> set[str]:
    return {k for p in paths.collection_prefixes(collection_id) for k in stack.storage.list(p)}


def _files_of_partition(stack: Stack, info: CollectionInfo, partition: str) -> set[str]:
    part = info.partition(partition)
    assert part is not None
    segments = {
        s.segment_id
        for s in stack.coordinator.segments.of_collection(info.collection_id)
        if s.partition_id == part.partition_id
    }
    data = set(stack.storage.list(f"segments/{info.collection_id}/{part.partition_id}/"))
    indexes = {
        k for s in segments for k in stack.storage.list(f"indexes/{info.collection_id}/{s}/")
    }
    assert data and indexes
    return data | indexes


def test_a_dropped_collections_files_stay_through_the_grace_then_go(stack: Stack) -> None:
    dropped = _populate(stack, "c")
    kept = _populate(stack, "other")
    dropped_files, kept_files = (
        _files(stack, dropped.collection_id),
        _files(stack, kept.collection_id),
    )
    assert len(dropped_files) == 7  # 2 x (data, stats, index) + a delta log
    stack.coordinator.drop_collection(DEFAULT_DB, "c")
    stack.idle()
    assert _files(stack, dropped.collection_id) == dropped_files

    gc, grace_ms, t0 = stack.coordinator.gc, int(GRACE_S * 1000), 1_000_000
    assert gc.run_once(now_ms=t0) == []
    assert gc.run_once(now_ms=t0 + grace_ms - 1) == []
    assert _files(stack, dropped.collection_id) == dropped_files
    assert set(gc.run_once(now_ms=t0 + grace_ms)) == dropped_files
    assert _files(stack, dropped.collection_id) == set()
    assert _files(stack, kept.collection_id) == kept_files


def test_a_dropped_partitions_files_stay_through_the_grace_then_go(stack: Stack) -> None:
    info = _populate(stack, "c")
    dropped_files = _files_of_partition(stack, info, "p1")
    kept_files = _files(stack, info.collection_id) - dropped_files
    stack.coordinator.drop_partition(DEFAULT_DB, "c", "p1")
    assert _files(stack, info.collection_id) == dropped_files | kept_files

    gc, grace_ms, t0 = stack.coordinator.gc, int(GRACE_S * 1000), 1_000_000
    assert gc.run_once(now_ms=t0) == []
    assert gc.run_once(now_ms=t0 + grace_ms - 1) == []
    assert set(gc.run_once(now_ms=t0 + grace_ms)) == dropped_files
    assert _files(stack, info.collection_id) == kept_files


def test_a_restart_within_the_grace_keeps_the_files(stack: Stack) -> None:
    info = _populate(stack, "c")
    files = _files(stack, info.collection_id)
    stack.coordinator.drop_collection(DEFAULT_DB, "c")
    gc = stack.coordinator.gc
    assert gc.run_once(now_ms=1_000_000) == []
    coord = stack.restart()
    assert _files(stack, info.collection_id) == files
    # The new coordinator's GC counts the grace from when it first sees them.
    assert coord.gc.run_once(now_ms=1_000_000 + int(GRACE_S * 1000)) == []
    assert set(coord.gc.run_once(now_ms=1_000_000 + int(2 * GRACE_S * 1000))) == files


def test_the_periodic_gc_finishes_a_drop_a_kv_error_interrupted(tmp_path: Path) -> None:
    stack = Stack(tmp_path)
    stack.config = dataclasses.replace(stack.config, gc_grace_s=0.0, gc_interval_s=0.05)
    coord = stack.open()
    try:
        info = _populate(stack, "c")
        # The catalog's transaction commits the drop; the write after it fails.
        stack.kv.crash_after(1, transient=True)
        with pytest.raises(Crash):
            coord.drop_collection(DEFAULT_DB, "c")
        assert not stack.kv.dead
        with pytest.raises(errors.CollectionNotFound):
            coord.describe_collection(DEFAULT_DB, "c")
        assert coord.list_collections(DEFAULT_DB) == []
        assert stack.kv.inner.get_prefix("ddl/") != []

        deadline = time.monotonic() + 10.0
        while time.monotonic() < deadline and (
            stack.kv.inner.get_prefix("ddl/")
            or stack.kv.inner.get_prefix(f"segments/{info.collection_id}/")
            or _files(stack, info.collection_id)
        ):
            time.sleep(0.05)
        assert stack.kv.inner.get_prefix("ddl/") == []
        assert stack.kv.inner.get_prefix(f"segments/{info.collection_id}/") == []
        assert stack.kv.inner.get_prefix(f"indexes/{info.collection_id}/") == []
        assert _files(stack, info.collection_id) == set()
        stack.idle()
        assert (info.collection_id,) in stack.querynode.named("release_collection")
        assert {a[0] for a in stack.datanode.named("unwatch_channel")} == set(info.vchannels)
    finally:
        stack.close()
