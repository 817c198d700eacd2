"""A coordinator killed at every KV write of every DDL: the next one finds it done or undone.

The KV below the coordinator dies at its Nth write (that write and every later
call raise, as in a killed process); a fresh coordinator then starts on the
same store. Whatever N, what it serves must be either the state before the DDL
or the state after it, and the metadata must hold together: nothing names a
collection, partition or index that is gone, and no drop is left pending.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from coordinator import Coordinator
from elanus.config import CoordinatorConfig
from elanus.kv import Compare, Delete, KeyValue, Put
from elanus.kv.embedded import EmbeddedKV
from elanus.meta import (
    DEFAULT_DB,
    CollectionInfo,
    ConsistencyLevel,
    DeltaLog,
    SegmentInfo,
    SegmentState,
)
from elanus.schema import CollectionSchema, DataType, FieldSchema
from elanus.segment import paths
from elanus.storage.local_dir import LocalDirStore
from elanus.stream.embedded_log import EmbeddedLog

# Tests and the GC tests share this harness.
__all__ = [
    "Crash",
    "CrashingKV",
    "Recorder",
    "Stack",
    "add_delta",
    "add_index_files",
    "create",
    "flushed_segment",
]


class Crash(Exception):
    """The process died: the write that raised it did not happen."""


class CrashingKV:
    """The embedded KV, dead from its Nth write on (``crash_after``); counts writes."""

    def __init__(self, inner: EmbeddedKV) -> None:
        self.inner = inner
        self.writes = 0
        self._crash_at: int | None = None
        self._transient = False
        self.dead = False

    def crash_after(self, writes: int | None, transient: bool = False) -> None:
        """Die at the write after ``writes`` more; ``transient``: only that write fails
        (a KV error the process survives)."""
        self._crash_at = None if writes is None else self.writes + writes
        self._transient = transient

    def _alive(self) -> None:
        if self.dead:
            raise Crash("the coordinator is dead")

    def _write(self) -> None:
        self._alive()
        if self._crash_at is not None and self.writes >= self._crash_at:
            self._crash_at, self.dead = None, not self._transient
            raise Crash(f"killed at write {self.writes}")
        self.writes += 1

    def get(self, key: str) -> KeyValue | None:
        self._alive()
        return self.inner.get(key)

    def get_prefix(self, prefix: str) -> list[KeyValue]:
        self._alive()
        return self.inner.get_prefix(prefix)

    def put(self, key: str, value: bytes, lease: int | None = None) -> int:
        self._write()
        return self.inner.put(key, value, lease)

    def delete(self, key: str, prefix: bool = False) -> int:
        self._write()
        return self.inner.delete(key, prefix)

    def txn(self, compares: Sequence[Compare], success: Sequence[Put | Delete]) -> bool:
        self._write()
        return self.inner.txn(compares, success)

    def __getattr__(self, name: str) -> Any:
        # watches and leases: the coordinator's DDL does not use them
        self._alive()
        return getattr(self.inner, name)


@dataclass
class Recorder:
    """Any node: records each call by name."""

    calls: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return lambda *args: self.calls.append((name, args))

    def named(self, name: str) -> list[tuple[Any, ...]]:
        return [args for call, args in self.calls if call == name]


def schema(name: str = "c", dim: int = 4) -> CollectionSchema:
    return CollectionSchema(
        name,
        (
            FieldSchema("id", DataType.INT64, is_primary=True),
            FieldSchema("v", DataType.FLOAT_VECTOR, type_params={"dim": str(dim)}),
        ),
    ).with_field_ids()


@dataclass
class Stack:
    """One coordinator with recording nodes over a KV file, a log and a directory store."""

    root: Path
    # No background KV writes (a TSO window refill, a seal, GC) may land inside a DDL.
    config: CoordinatorConfig = field(
        default_factory=lambda: CoordinatorConfig(
            dml_channel_pool=4,
            segment_max_rows=100,
            tso_window_s=3600.0,
            seal_check_interval_s=3600.0,
            compaction_auto=False,
            gc_interval_s=3600.0,
        )
    )
    kv: CrashingKV = field(init=False)
    stream: EmbeddedLog = field(init=False)
    storage: LocalDirStore = field(init=False)
    coordinator: Coordinator = field(init=False)
    querynode: Recorder = field(default_factory=Recorder)
    datanode: Recorder = field(default_factory=Recorder)

    def open(self) -> Coordinator:
        self.kv = CrashingKV(EmbeddedKV(self.root / "kv.sqlite"))
        self.stream = EmbeddedLog(self.root / "log")
        self.storage = LocalDirStore(self.root / "objects")
        self.querynode, self.datanode = Recorder(), Recorder()
        self.coordinator = Coordinator(self.config, self.kv, self.stream, self.storage)
        self.coordinator.register_datanode(1, self.datanode)
        self.coordinator.register_querynode(1, self.querynode)
        self.coordinator.start()
        return self.coordinator

    def close(self) -> None:
        # A dead coordinator's threads fail on the dead KV; they only need to stop.
        with contextlib.suppress(Crash):
            self.coordinator.stop()
        self.stream.close()
        self.kv.inner.close()

    def restart(self) -> Coordinator:
        self.close()
        return self.open()

    def idle(self) -> None:
        assert self.coordinator.wait_idle(5.0)


def create(coord: Coordinator, name: str = "c", shards: int = 2) -> CollectionInfo:
    return coord.create_collection(DEFAULT_DB, schema(name), shards, ConsistencyLevel.BOUNDED, {})


def flushed_segment(stack: Stack, info: CollectionInfo, partition: str, rows: int) -> SegmentInfo:
    """A segment flushed with its files in the store, as a datanode would leave it."""
    coord = stack.coordinator
    part = info.partition(partition) or coord.catalog.get(info.collection_id).partition(partition)
    assert part is not None
    vchannel = info.vchannels[0]
    segment_id = coord.assign_segment(info.collection_id, part.partition_id, vchannel, rows)
    sealed = coord.segments.seal_collection(info.collection_id, coord.alloc_timestamp())
    assert [s.segment_id for s in sealed] == [segment_id]
    data_key = paths.segment_data_key(info.collection_id, part.partition_id, segment_id)
    stats_key = paths.pk_stats_key(info.collection_id, part.partition_id, segment_id)
    stack.storage.put(data_key, b"rows")
    stack.storage.put(stats_key, b"stats")
    segment = SegmentInfo(
        segment_id,
        info.collection_id,
        part.partition_id,
        vchannel,
        SegmentState.FLUSHED,
        num_rows=rows,
        data_key=data_key,
        pk_stats_key=stats_key,
    )
    flushed = coord.segments.mark_flushed(segment)
    assert flushed is not None
    return flushed


def add_index_files(stack: Stack, info: CollectionInfo, index_name: str) -> list[str]:
    coord = stack.coordinator
    index = coord.indexes.find(info.collection_id, index_name=index_name)[0]
    keys = []
    for segment in coord.segments.of_collection(info.collection_id, [SegmentState.FLUSHED]):
        key = paths.index_file_key(info.collection_id, segment.segment_id, index.index_id, 1)
        stack.storage.put(key, b"faiss")
        assert coord.segments.add_index_file(segment.segment_id, index.index_id, key) is not None
        keys.append(key)
    return keys


def add_delta(stack: Stack, info: CollectionInfo) -> str:
    coord = stack.coordinator
    log_id = coord.alloc_ids(1)
    key = paths.delta_log_key(info.collection_id, info.vchannels[0], log_id)
    stack.storage.put(key, b"deletes")
    coord.segments.add_delta(DeltaLog(log_id, info.collection_id, info.vchannels[0], key, 1, 1))
    return key


# --- the state a client (and the nodes) would see, by names


def observe(coord: Coordinator) -> dict[str, Any]:
    """Collections by name: partitions, segments, indexes, index files, load."""
    seen: dict[str, Any] = {}
    for info in coord.list_collections(DEFAULT_DB):
        cid = info.collection_id
        names = {p.partition_id: p.name for p in info.partitions}
        indexes = {i.index_id: i.index_name for i in coord.indexes.of_collection(cid)}
        segments = sorted(
            (  # ids are not compared: each run allocates its own
                names[s.partition_id],
                s.state is SegmentState.FLUSHED,  # growing ones are sealed by a restart
                tuple(sorted(indexes[i] for i in s.index_files)),
            )
            for s in coord.segments.of_collection(cid)
        )
        load = coord.loads.persisted().get(cid)
        seen[info.name] = {
            "partitions": sorted(names.values()),
            "segments": segments,
            "indexes": sorted(indexes.values()),
            "load": None if load is None else sorted(names[p] for p in load),
        }
    return seen


def assert_consistent(kv: EmbeddedKV) -> None:
    """Every record names a live collection, partition, channel and index; no drop pending."""
    items = {item.key: item.value for item in kv.get_prefix("")}
    collections = {
        int(k.split("/")[1]): json.loads(v)
        for k, v in items.items()
        if k.startswith("collections/")
    }
    names = {k: int(v) for k, v in items.items() if k.startswith("collection-names/")}
    assert sorted(names.values()) == sorted(collections)
    vchannels = {v for c in collections.values() for v in c["vchannels"]}
    partitions = {
        cid: {p["partition_id"] for p in c["partitions"]} for cid, c in collections.items()
    }
    indexes = {
        int(k.split("/")[2]): int(k.split("/")[1]) for k in items if k.startswith("indexes/")
    }
    assert set(indexes.values()) <= set(collections)
    for key, value in items.items():
        kind = key.split("/")[0]
        assert kind != "ddl", f"drop left pending: {key}"
        if kind in ("segments", "deltas", "loads"):
            assert int(key.split("/")[1]) in collections, key
        if kind in ("checkpoints", "flush-requests", "channel-flushed"):
            assert key.split("/", 1)[1] in vchannels, key
        if kind == "segments":
            segment = json.loads(value)
            assert segment["partition_id"] in partitions[segment["collection_id"]], key
            if segment["state"] != SegmentState.DROPPED.value:
                for index_id in segment["index_files"]:
                    assert indexes.get(int(index_id)) == segment["collection_id"], key
        if kind == "loads":
            loaded = set(json.loads(value)["partition_ids"])
            assert loaded <= partitions[int(key.split("/")[1])], key
    assert {f"checkpoints/{v}" for v in vchannels} <= set(items)


# --- the DDLs, each with the state it starts from


def _one_collection(stack: Stack) -> None:
    info = create(stack.coordinator)
    stack.coordinator.create_partition(DEFAULT_DB, "c", "p1")
    flushed_segment(stack, info, "_default", 5)
    flushed_segment(stack, info, "p1", 7)
    add_delta(stack, info)


def _indexed(stack: Stack) -> None:
    _one_collection(stack)
    info = stack.coordinator.describe_collection(DEFAULT_DB, "c")
    stack.coordinator.create_index(info.collection_id, "v", "idx", "FLAT", "L2", {}, {})
    add_index_files(stack, info, "idx")


def _loaded(stack: Stack) -> None:
    _indexed(stack)
    stack.coordinator.load_collection(
        stack.coordinator.describe_collection(DEFAULT_DB, "c").collection_id
    )
    create(stack.coordinator, "other")  # untouched by every DDL below


def _cid(coord: Coordinator) -> int:
    return coord.describe_collection(DEFAULT_DB, "c").collection_id


@dataclass(frozen=True)
class Ddl:
    name: str
    setup: Callable[[Stack], object]
    run: Callable[[Coordinator], object]


DDLS = [
    Ddl("create_collection", lambda s: create(s.coordinator, "other"), lambda c: create(c)),
    Ddl("drop_collection", _loaded, lambda c: c.drop_collection(DEFAULT_DB, "c")),
    Ddl(
        "create_partition",
        _one_collection,
        lambda c: c.create_partition(DEFAULT_DB, "c", "p2"),
    ),
    Ddl("drop_partition", _indexed, lambda c: c.drop_partition(DEFAULT_DB, "c", "p1")),
    Ddl(
        "create_index",
        _one_collection,
        lambda c: c.create_index(_cid(c), "v", "idx", "IVF_FLAT", "L2", {"nlist": 8}, {}),
    ),
    Ddl("drop_index", _indexed, lambda c: c.drop_index(_cid(c), "v", "idx")),
    Ddl("load_collection", _indexed, lambda c: c.load_collection(_cid(c))),
    Ddl(
        "load_partitions",
        _indexed,
        lambda c: c.load_collection(
            _cid(c), [c.describe_collection(DEFAULT_DB, "c").partitions[1].partition_id]
        ),
    ),
    Ddl("release_collection", _loaded, lambda c: c.release_collection(_cid(c))),
    Ddl(
        "release_partitions",
        _loaded,
        lambda c: c.release_partitions(
            _cid(c), [c.describe_collection(DEFAULT_DB, "c").partitions[1].partition_id]
        ),
    ),
]


@pytest.fixture
def stacks(tmp_path: Path) -> Iterator[Callable[[str], Stack]]:
    opened: list[Stack] = []

    def make(name: str) -> Stack:
        stack = Stack(tmp_path / name)
        stack.open()
        opened.append(stack)
        return stack

    yield make
    for stack in opened:
        stack.close()


def _outcome(stack: Stack) -> dict[str, Any]:
    """Restart; the metadata holds together and the nodes serve what it says."""
    coord = stack.restart()
    assert_consistent(stack.kv.inner)
    stack.idle()
    collections = coord.list_collections(DEFAULT_DB)
    watched = {args[0] for args in stack.datanode.named("watch_channel")}
    assert watched == {v for c in collections for v in c.vchannels}
    loading = {args[0] for args in stack.querynode.named("load_channel")}
    loaded = {c.collection_id for c in collections if coord.loads.get(c.collection_id)}
    assert loading == {v for c in collections if c.collection_id in loaded for v in c.vchannels}
    return observe(coord)


@pytest.mark.parametrize("ddl", DDLS, ids=[d.name for d in DDLS])
def test_a_crash_at_any_write_leaves_the_ddl_done_or_undone(
    ddl: Ddl, stacks: Callable[[str], Stack]
) -> None:
    before_stack = stacks("before")
    ddl.setup(before_stack)
    before = _outcome(before_stack)

    after_stack = stacks("after")
    ddl.setup(after_stack)
    writes_before = after_stack.kv.writes
    ddl.run(after_stack.coordinator)
    writes = after_stack.kv.writes - writes_before
    after = _outcome(after_stack)
    assert before != after
    assert writes >= 1

    outcomes = []
    for crash_at in range(writes):
        stack = stacks(f"crash{crash_at}")
        ddl.setup(stack)
        stack.kv.crash_after(crash_at)
        with pytest.raises(Crash):
            ddl.run(stack.coordinator)
        seen = _outcome(stack)
        assert seen in (before, after), f"crash at write {crash_at}: {seen}"
        outcomes.append(seen == after)
        # What a restart finished stays finished.
        assert observe(stack.restart()) == seen
    # The last write of a DDL is never its commit point alone: an early crash undoes it.
    assert outcomes[0] is False
