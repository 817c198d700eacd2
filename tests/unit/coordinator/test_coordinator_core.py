"""The coordinator alone, on the embedded KV and log, with recording stand-ins for its nodes."""

from __future__ import annotations

import dataclasses
import functools
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from coordinator import Coordinator
from coordinator.dispatch import Dispatcher
from elanus import errors
from elanus.config import CoordinatorConfig
from elanus.kv.embedded import EmbeddedKV
from elanus.meta import (
    DEFAULT_DB,
    CollectionInfo,
    ConsistencyLevel,
    IndexBuildTask,
    SegmentState,
)
from elanus.schema import CollectionSchema, DataType, FieldSchema
from elanus.services import ChannelLease
from elanus.storage.local_dir import LocalDirStore
from elanus.stream.embedded_log import EmbeddedLog


def schema(name: str = "c", dim: int = 4) -> CollectionSchema:
    return CollectionSchema(
        name,
        (
            FieldSchema("id", DataType.INT64, is_primary=True),
            FieldSchema("v", DataType.FLOAT_VECTOR, type_params={"dim": str(dim)}),
        ),
    ).with_field_ids()


@dataclass
class Recorder:
    """Any node: records each call by name. Node calls are about what the coordinator asks."""

    calls: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return lambda *args: self.calls.append((name, args))

    def named(self, name: str) -> list[tuple[Any, ...]]:
        return [args for call, args in self.calls if call == name]


@dataclass
class Env:
    root: Path
    kv: EmbeddedKV = field(init=False)
    stream: EmbeddedLog = field(init=False)
    storage: LocalDirStore = field(init=False)
    coordinator: Coordinator = field(init=False)
    datanode: Recorder = field(default_factory=Recorder)
    querynode: Recorder = field(default_factory=Recorder)
    indexnode: Recorder = field(default_factory=Recorder)

    def open(self, max_rows: int = 100) -> Coordinator:
        self.kv = EmbeddedKV(self.root / "kv.sqlite")
        self.stream = EmbeddedLog(self.root / "log")
        self.storage = LocalDirStore(self.root / "objects")
        config = CoordinatorConfig(dml_channel_pool=4, segment_max_rows=max_rows)
        self.coordinator = Coordinator(config, self.kv, self.stream, self.storage)
        self.coordinator.register_datanode(1, self.datanode)
        self.coordinator.register_querynode(1, self.querynode)
        self.coordinator.register_indexnode(1, self.indexnode)
        self.coordinator.start()
        return self.coordinator

    def close(self) -> None:
        self.coordinator.stop()
        self.stream.close()
        self.kv.close()

    def reopen(self, max_rows: int = 100) -> Coordinator:
        self.close()
        self.datanode, self.querynode, self.indexnode = Recorder(), Recorder(), Recorder()
        return self.open(max_rows)

    def idle(self) -> None:
        assert self.coordinator.wait_idle(5.0)


def create(coord: Coordinator, name: str = "c", shards: int = 2) -> CollectionInfo:
    return coord.create_collection(DEFAULT_DB, schema(name), shards, ConsistencyLevel.BOUNDED, {})


# --- DDL


def test_create_describe_drop(env: Env) -> None:
    coord = env.coordinator
    info = create(coord, shards=3)
    assert coord.describe_collection(DEFAULT_DB, "c") == info
    assert coord.describe_collection(DEFAULT_DB, collection_id=info.collection_id) == info
    with pytest.raises(errors.CollectionNotFound):
        coord.describe_collection(DEFAULT_DB, "other", collection_id=info.collection_id)
    assert len(info.vchannels) == len(set(info.vchannels)) == 3
    assert [p.name for p in info.partitions] == ["_default"]
    keys = {kv.key for kv in env.kv.get_prefix("")}
    assert f"collections/{info.collection_id}" in keys
    assert f"collection-names/{DEFAULT_DB}/c" in keys
    assert {f"checkpoints/{v}" for v in info.vchannels} <= keys
    env.idle()
    assert sorted(a[0] for a in env.datanode.named("watch_channel")) == sorted(info.vchannels)

    coord.drop_collection(DEFAULT_DB, "c")
    with pytest.raises(errors.CollectionNotFound):
        coord.describe_collection(DEFAULT_DB, "c")
    leftover = [kv.key for kv in env.kv.get_prefix("") if str(info.collection_id) in kv.key]
    assert leftover == []
    env.idle()
    assert sorted(a[0] for a in env.datanode.named("unwatch_channel")) == sorted(info.vchannels)


def test_duplicate_create(env: Env) -> None:
    coord = env.coordinator
    info = create(coord)
    assert create(coord) == info
    assert len(coord.list_collections(DEFAULT_DB)) == 1
    with pytest.raises(errors.ParameterInvalid):
        coord.create_collection(DEFAULT_DB, schema("c", dim=8), 2, ConsistencyLevel.BOUNDED, {})
    with pytest.raises(errors.ParameterInvalid):
        create(coord, shards=3)
    with pytest.raises(errors.ParameterInvalid):
        create(coord, name="big", shards=17)
    # The same name in another database is another collection.
    with pytest.raises(errors.DatabaseNotFound):
        coord.create_collection("db2", schema("c"), 2, ConsistencyLevel.BOUNDED, {})
    coord.create_database("db2", {})
    other = coord.create_collection("db2", schema("c"), 2, ConsistencyLevel.BOUNDED, {})
    assert other.collection_id != info.collection_id
    assert [i.name for i in coord.list_collections("db2")] == ["c"]


def test_metadata_survives_restart(env: Env) -> None:
    info = create(env.coordinator)
    env.coordinator.create_partition(DEFAULT_DB, "c", "p1")
    before = env.coordinator.describe_collection(DEFAULT_DB, "c")
    coord = env.reopen()
    assert coord.describe_collection(DEFAULT_DB, "c") == before
    assert coord.alloc_timestamp() > info.created_ts
    env.idle()
    assert sorted(a[0] for a in env.datanode.named("watch_channel")) == sorted(info.vchannels)


def test_partitions(env: Env) -> None:
    coord = env.coordinator
    create(coord)
    coord.create_partition(DEFAULT_DB, "c", "p1")
    coord.create_partition(DEFAULT_DB, "c", "p1")  # again: no-op
    info = coord.describe_collection(DEFAULT_DB, "c")
    assert [p.name for p in info.partitions] == ["_default", "p1"]
    coord.drop_partition(DEFAULT_DB, "c", "p1")
    coord.drop_partition(DEFAULT_DB, "c", "p1")  # gone already: no-op
    assert [p.name for p in coord.describe_collection(DEFAULT_DB, "c").partitions] == ["_default"]
    with pytest.raises(errors.CollectionNotFound):
        coord.create_partition(DEFAULT_DB, "nope", "p")


def test_loaded_partition_cannot_be_dropped(env: Env) -> None:
    coord = env.coordinator
    info = create(coord)
    coord.create_partition(DEFAULT_DB, "c", "p1")
    coord.create_index(info.collection_id, "v", "", "FLAT", "L2", {}, {})
    coord.load_collection(info.collection_id)
    with pytest.raises(errors.ParameterInvalid):
        coord.drop_partition(DEFAULT_DB, "c", "p1")


# --- segments and flush


def test_assign_reuses_then_seals_by_size(env: Env) -> None:
    coord = env.coordinator  # segment_max_rows=100
    info = create(coord)
    part, vchannel = info.partitions[0].partition_id, info.vchannels[0]
    first = coord.assign_segment(info.collection_id, part, vchannel, 60)
    assert coord.assign_segment(info.collection_id, part, vchannel, 40) == first
    other_channel = coord.assign_segment(info.collection_id, part, info.vchannels[1], 10)
    assert other_channel != first
    second = coord.assign_segment(info.collection_id, part, vchannel, 1)
    assert second != first
    sealed = coord.segments.get(first)
    assert sealed is not None and sealed.state is SegmentState.SEALED and sealed.num_rows == 100
    env.idle()
    assert env.datanode.named("seal_segment") == [(vchannel, first, sealed.seal_ts)]
    assert coord.collection_statistics(info.collection_id).row_count == 111


def lease_of(coord: Coordinator, vchannel: str) -> ChannelLease:
    """The lease of the channel's datanode, as the datanode would carry it."""
    owner, _ = coord.nodes.channel_owner(vchannel)
    return ChannelLease(owner.node_id, owner.epoch)


def test_flush_bookkeeping_and_flush_state(env: Env) -> None:
    coord = env.coordinator
    info = create(coord)
    part = info.partitions[0].partition_id
    ids = [coord.assign_segment(info.collection_id, part, v, 5) for v in info.vchannels]
    before = coord.alloc_timestamp()
    result = coord.flush(info.collection_id)
    assert sorted(result.segment_ids) == sorted(ids)
    assert result.flush_ts > before
    env.idle()
    assert sorted(a[1] for a in env.datanode.named("seal_segment")) == sorted(ids)
    assert sorted(env.datanode.named("flush_channel")) == sorted(
        (v, result.flush_ts) for v in info.vchannels
    )
    assert not coord.flush_state(info.collection_id, result.segment_ids, result.flush_ts)

    for segment_id in ids:
        seg = coord.segments.get(segment_id)
        assert seg is not None
        flushed = dataclasses.replace(seg, num_rows=5, data_key=f"k/{segment_id}")
        coord.segment_flushed(flushed, lease_of(coord, seg.vchannel))
    # Segments are flushed, but the channels have not confirmed the flush timestamp yet.
    assert coord.flush_state(info.collection_id, result.segment_ids, 0)
    assert not coord.flush_state(info.collection_id, result.segment_ids, result.flush_ts)
    coord.channel_flushed(info.vchannels[0], result.flush_ts, lease_of(coord, info.vchannels[0]))
    assert not coord.flush_state(info.collection_id, result.segment_ids, result.flush_ts)
    coord.channel_flushed(info.vchannels[1], result.flush_ts, lease_of(coord, info.vchannels[1]))
    assert coord.flush_state(info.collection_id, result.segment_ids, result.flush_ts)

    again = coord.flush(info.collection_id)
    assert again.segment_ids == () and sorted(again.flushed_segment_ids) == sorted(ids)
    assert coord.collection_statistics(info.collection_id).row_count == 10


def test_empty_segment_is_dropped_when_flushed(env: Env) -> None:
    coord = env.coordinator
    info = create(coord)
    seg_id = coord.assign_segment(
        info.collection_id, info.partitions[0].partition_id, info.vchannels[0], 3
    )
    coord.flush(info.collection_id)
    seg = coord.segments.get(seg_id)
    assert seg is not None
    coord.segment_flushed(dataclasses.replace(seg, num_rows=0), lease_of(coord, seg.vchannel))
    dropped = coord.segments.get(seg_id)
    assert dropped is not None and dropped.state is SegmentState.DROPPED
    assert coord.flush_state(info.collection_id, [seg_id], 0)


def test_checkpoint_only_moves_forward(env: Env) -> None:
    coord = env.coordinator
    info = create(coord)
    vchannel = info.vchannels[0]
    start = coord.channel_snapshot(vchannel).checkpoint
    lease = lease_of(coord, vchannel)
    coord.update_checkpoint(dataclasses.replace(start, position=start.position + 10), lease)
    coord.update_checkpoint(dataclasses.replace(start, position=start.position + 3), lease)
    assert coord.channel_snapshot(vchannel).checkpoint.position == start.position + 10


def test_restart_seals_growing_segments(env: Env) -> None:
    info = create(env.coordinator)
    part = info.partitions[0].partition_id
    seg_id = env.coordinator.assign_segment(info.collection_id, part, info.vchannels[0], 5)
    last_ts = env.coordinator.alloc_timestamp()
    coord = env.reopen()
    seg = coord.segments.get(seg_id)
    assert seg is not None and seg.state is SegmentState.SEALED and seg.seal_ts > last_ts
    snapshot = coord.channel_snapshot(info.vchannels[0])
    assert [s.segment_id for s in snapshot.segments] == [seg_id]
    # A new assignment after the restart opens a new segment.
    assert coord.assign_segment(info.collection_id, part, info.vchannels[0], 1) != seg_id


def test_every_sealed_segment_is_announced_to_the_datanode(env: Env) -> None:
    """A segment the datanode never hears is sealed stays in its buffer for ever."""
    coord = env.coordinator
    info = create(coord)
    coord.create_partition(DEFAULT_DB, "c", "p1")
    info = coord.describe_collection(DEFAULT_DB, "c")
    default, p1 = (p.partition_id for p in info.partitions)
    kept = coord.assign_segment(info.collection_id, default, info.vchannels[0], 5)
    gone = coord.assign_segment(info.collection_id, p1, info.vchannels[0], 5)
    coord.drop_partition(DEFAULT_DB, "c", "p1")
    env.idle()
    announced = {args[1] for args in env.datanode.named("seal_segment")}
    sealed = {
        s.segment_id
        for s in coord.segments.of_collection(info.collection_id, [SegmentState.SEALED])
    }
    assert sealed <= announced
    # The dropped partition's segment must be sealed on the datanode too, so its
    # buffered rows leave memory and stop holding the checkpoint back.
    assert gone in announced
    assert coord.segments.get(kept) is not None


def test_assign_to_a_dropped_partition_is_refused(env: Env) -> None:
    coord = env.coordinator
    info = create(coord)
    coord.create_partition(DEFAULT_DB, "c", "p1")
    p1 = coord.describe_collection(DEFAULT_DB, "c").partition("p1")
    assert p1 is not None
    coord.drop_partition(DEFAULT_DB, "c", "p1")
    with pytest.raises(errors.PartitionNotFound):
        coord.assign_segment(info.collection_id, p1.partition_id, info.vchannels[0], 1)
    with pytest.raises(errors.CollectionNotFound):
        coord.assign_segment(info.collection_id + 999, p1.partition_id, info.vchannels[0], 1)


def test_files_of_a_segment_flushed_after_its_partition_was_dropped_are_removed(
    env: Env,
) -> None:
    coord = env.coordinator
    info = create(coord)
    coord.create_partition(DEFAULT_DB, "c", "p1")
    p1 = coord.describe_collection(DEFAULT_DB, "c").partition("p1")
    assert p1 is not None
    seg_id = coord.assign_segment(info.collection_id, p1.partition_id, info.vchannels[0], 2)
    seg = coord.segments.get(seg_id)
    assert seg is not None
    coord.drop_partition(DEFAULT_DB, "c", "p1")
    env.storage.put("segments/late/data", b"x")
    env.storage.put("segments/late/stats", b"y")
    coord.segment_flushed(
        dataclasses.replace(
            seg, num_rows=2, data_key="segments/late/data", pk_stats_key="segments/late/stats"
        ),
        lease_of(coord, seg.vchannel),
    )
    env.idle()
    assert coord.segments.get(seg_id) is None
    assert not env.storage.exists("segments/late/data")
    assert not env.storage.exists("segments/late/stats")


# --- indexes and loads


def test_index_duplicate_rules(env: Env) -> None:
    coord = env.coordinator
    info = create(coord)
    cid = info.collection_id
    first = coord.create_index(cid, "v", "idx", "IVF_FLAT", "L2", {"nlist": 8}, {})
    assert coord.create_index(cid, "v", "idx", "IVF_FLAT", "L2", {"nlist": 8}, {}) == first
    with pytest.raises(errors.ParameterInvalid):
        coord.create_index(cid, "v", "idx", "IVF_FLAT", "L2", {"nlist": 16}, {})
    with pytest.raises(errors.ParameterInvalid):
        coord.create_index(cid, "v", "other", "FLAT", "L2", {}, {})
    assert [p.index.index_name for p in coord.describe_indexes(cid)] == ["idx"]
    coord.drop_index(cid, "v", "idx")
    assert coord.describe_indexes(cid) == []
    default_name = coord.create_index(cid, "v", "", "FLAT", "IP", {}, {})
    assert default_name.index_name == "v"
    coord.load_collection(cid)
    with pytest.raises(errors.ParameterInvalid):
        coord.drop_index(cid, "v", "v")


def test_index_builds_for_flushed_segments(env: Env) -> None:
    coord = env.coordinator
    info = create(coord)
    seg_id = coord.assign_segment(
        info.collection_id, info.partitions[0].partition_id, info.vchannels[0], 4
    )
    coord.flush(info.collection_id)
    seg = coord.segments.get(seg_id)
    assert seg is not None
    coord.segment_flushed(dataclasses.replace(seg, num_rows=4), lease_of(coord, seg.vchannel))
    index = coord.create_index(info.collection_id, "v", "", "FLAT", "L2", {}, {})
    env.idle()
    tasks: list[IndexBuildTask] = [a[0] for a in env.indexnode.named("submit")]
    assert [(t.segment.segment_id, t.index.index_id, t.dim) for t in tasks] == [
        (seg_id, index.index_id, 4)
    ]
    assert coord.describe_indexes(info.collection_id)[0].state == "InProgress"
    env.storage.put("index/file", b"i")
    coord.index_built(tasks[0], "index/file")
    progress = coord.describe_indexes(info.collection_id)[0]
    assert (progress.state, progress.indexed_rows, progress.total_rows) == ("Finished", 4, 4)


def test_load_requires_a_vector_index(env: Env) -> None:
    coord = env.coordinator
    info = create(coord)
    with pytest.raises(errors.IndexNotFound) as caught:
        coord.load_collection(info.collection_id)
    assert caught.value.reason == f"index not found[collection={info.name}]"
    assert coord.load_progress(info.collection_id).state == "NotLoad"
    with pytest.raises(errors.CollectionNotLoaded):
        coord.shard_leaders(info.collection_id)
    coord.create_index(info.collection_id, "v", "", "FLAT", "L2", {}, {})
    coord.load_collection(info.collection_id)
    env.idle()
    assert sorted(a[0] for a in env.querynode.named("load_channel")) == sorted(info.vchannels)
    assert coord.load_progress(info.collection_id).state == "Loaded"
    assert set(coord.shard_leaders(info.collection_id)) == set(info.vchannels)


def test_more_replicas_than_querynodes_are_refused_and_change_nothing(env: Env) -> None:
    coord = env.coordinator  # one querynode registered
    info = create(coord)
    coord.create_index(info.collection_id, "v", "", "FLAT", "L2", {}, {})
    with pytest.raises(errors.ServiceResourceInsufficient) as caught:
        coord.load_collection(info.collection_id, (), replica_number=2)
    assert caught.value.code == 12
    assert caught.value.reason == (
        "call query coordinator LoadCollection: when load 2 replica count: "
        "service resource insufficient[currentStreamingNode=1][expectedStreamingNode=2]"
    )
    env.idle()
    assert coord.load_progress(info.collection_id).state == "NotLoad"
    assert env.querynode.named("load_channel") == []
    coord.load_collection(info.collection_id, (), replica_number=1)
    env.idle()
    assert coord.load_progress(info.collection_id).state == "Loaded"


def test_release_then_load_again(env: Env) -> None:
    coord = env.coordinator
    info = create(coord)
    coord.create_index(info.collection_id, "v", "", "FLAT", "L2", {}, {})
    coord.load_collection(info.collection_id)
    coord.release_collection(info.collection_id)
    coord.load_collection(info.collection_id)
    env.idle()
    names = [c for c, _ in env.querynode.calls]
    # Whatever ran when, the last word per channel is a load after the release.
    assert names.count("release_collection") == 1
    assert names[-len(info.vchannels) :] == ["load_channel"] * len(info.vchannels)
    assert coord.load_progress(info.collection_id).state == "Loaded"
    coord.release_collection(info.collection_id)
    env.idle()
    assert coord.load_progress(info.collection_id).state == "NotLoad"
    assert env.querynode.calls[-1] == ("release_collection", (info.collection_id,))


def test_load_survives_restart(env: Env) -> None:
    info = create(env.coordinator)
    env.coordinator.create_index(info.collection_id, "v", "", "FLAT", "L2", {}, {})
    env.coordinator.load_collection(info.collection_id)
    env.idle()
    coord = env.reopen()
    env.idle()
    assert sorted(a[0] for a in env.querynode.named("load_channel")) == sorted(info.vchannels)
    assert coord.load_progress(info.collection_id).state == "Loaded"


@dataclass
class SlowLoadingQueryNode(Recorder):
    """A querynode whose load takes a while, so a release can arrive during it."""

    def load_channel(self, vchannel: str, partition_ids: list[int]) -> None:
        time.sleep(0.3)
        self.calls.append(("load_channel", (vchannel, partition_ids)))


def test_release_during_a_load_is_applied_after_it(tmp_path: Path) -> None:
    env = Env(tmp_path, querynode=SlowLoadingQueryNode())
    coord = env.open()
    try:
        info = create(coord, shards=1)
        coord.create_index(info.collection_id, "v", "", "FLAT", "L2", {}, {})
        coord.load_collection(info.collection_id)
        time.sleep(0.1)  # the load is under way on the querynode
        coord.release_collection(info.collection_id)
        env.idle()
        assert env.querynode.calls[-1] == ("release_collection", (info.collection_id,))
    finally:
        env.close()


def test_dispatcher_idle_means_everything_submitted_before_ran() -> None:
    dispatcher = Dispatcher("test-dispatch")
    stop = threading.Event()

    def background() -> None:
        for _ in range(200_000):
            if stop.is_set():
                return
            dispatcher.submit("noise", lambda: None)
            time.sleep(0)

    noise = threading.Thread(target=background)
    noise.start()
    try:
        for i in range(3000):
            done: list[int] = []
            dispatcher.submit("mine", functools.partial(done.append, i))
            assert dispatcher.wait_idle(5.0)
            assert done == [i], f"wait_idle returned before call {i} ran"
    finally:
        stop.set()
        noise.join(10)
        dispatcher.close()
