"""The coordinator's administration reads (coordinator/admin.py): segments by state,
the segments its querynodes serve, replicas, and what compaction plans merge."""

from __future__ import annotations

import dataclasses
import random
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from test_coordinator_core import Env, Recorder, create, lease_of

from coordinator import Coordinator
from elanus import errors
from elanus.meta import DEFAULT_DB, CollectionInfo, CompactionPlan, SegmentInfo, SegmentState
from elanus.services import CompactionMerge


def flush_all(coord: Coordinator, info: CollectionInfo, rows: int | None = None) -> list[int]:
    """Flush the collection and report every sealed segment written, as a datanode would."""
    result = coord.flush(info.collection_id)
    for segment_id in result.segment_ids:
        seg = coord.segments.get(segment_id)
        assert seg is not None
        written = dataclasses.replace(
            seg, num_rows=seg.num_rows if rows is None else rows, data_key=f"k/{segment_id}"
        )
        coord.segment_flushed(written, lease_of(coord, seg.vchannel))
    return list(result.segment_ids)


def load(env: Env, info: CollectionInfo, partition_ids: list[int] | None = None) -> None:
    coord = env.coordinator
    if not coord.indexes.of_collection(info.collection_id):
        coord.create_index(info.collection_id, "v", "v_idx", "FLAT", "L2", {}, {})
    coord.load_collection(info.collection_id, partition_ids or [])
    env.idle()


# --- segments by state


def test_persistent_segments_are_the_sealed_and_flushed_ones(env: Env) -> None:
    coord = env.coordinator
    info = create(coord)
    part = info.partitions[0].partition_id
    growing = coord.assign_segment(info.collection_id, part, info.vchannels[0], 7)
    assert coord.list_segments(info.collection_id) == []
    [asked] = coord.list_segments(info.collection_id, [SegmentState.GROWING])
    assert (asked.segment_id, asked.num_rows) == (growing, 7)

    coord.flush(info.collection_id)
    [sealed] = coord.list_segments(info.collection_id)
    assert (sealed.segment_id, sealed.state, sealed.num_rows) == (growing, SegmentState.SEALED, 7)
    assert coord.list_segments(info.collection_id, [SegmentState.GROWING]) == []

    coord.segment_flushed(
        dataclasses.replace(sealed, num_rows=7, data_key="k"), lease_of(coord, sealed.vchannel)
    )
    [flushed] = coord.list_segments(info.collection_id)
    assert (flushed.state, flushed.num_rows, flushed.partition_id) == (
        SegmentState.FLUSHED,
        7,
        part,
    )
    with pytest.raises(errors.CollectionNotFound):
        coord.list_segments(info.collection_id + 1000)


def test_an_empty_flushed_segment_is_listed_only_as_dropped(env: Env) -> None:
    coord = env.coordinator
    info = create(coord)
    coord.assign_segment(info.collection_id, info.partitions[0].partition_id, info.vchannels[0], 3)
    [segment_id] = flush_all(coord, info, rows=0)
    assert coord.list_segments(info.collection_id) == []
    [dropped] = coord.list_segments(info.collection_id, [SegmentState.DROPPED])
    assert dropped.segment_id == segment_id


@dataclass
class SegmentModel:
    """What the listing must say: each segment's state and rows, and the growing segment
    of each channel (sealed once an assignment would take it past ``max_rows``)."""

    max_rows: int
    states: dict[int, SegmentState] = field(default_factory=dict)
    rows: dict[int, int] = field(default_factory=dict)
    growing: dict[str, int] = field(default_factory=dict)  # vchannel -> segment id

    def assign(self, vchannel: str, rows: int, segment_id: int) -> None:
        current = self.growing.get(vchannel)
        if current is not None and self.rows[current] + rows > self.max_rows:
            self.states[current] = SegmentState.SEALED
            current = None
        if current is None:
            assert segment_id not in self.states, "a new segment was due"
            self.growing[vchannel] = segment_id
            self.states[segment_id], self.rows[segment_id] = SegmentState.GROWING, 0
        assert self.growing[vchannel] == segment_id
        self.rows[segment_id] += rows

    def flush(self) -> None:
        for segment_id in self.growing.values():
            self.states[segment_id] = SegmentState.SEALED
        self.growing.clear()

    def listed(self, states: tuple[SegmentState, ...]) -> dict[int, int]:
        return {s: self.rows[s] for s, state in self.states.items() if state in states}


def test_listing_follows_a_random_walk_of_assign_seal_and_flush(env: Env) -> None:
    """Random assignments, flushes and flush reports against an in-memory model."""
    coord = env.coordinator  # segment_max_rows=100: a large assignment seals the segment
    info = create(coord)
    part = info.partitions[0].partition_id
    model = SegmentModel(max_rows=100)
    rng = random.Random(19)
    for _ in range(80):
        op = rng.choice(["assign", "assign", "assign", "flush", "report"])
        if op == "assign":
            vchannel, rows = rng.choice(info.vchannels), rng.randint(1, 60)
            model.assign(
                vchannel, rows, coord.assign_segment(info.collection_id, part, vchannel, rows)
            )
        elif op == "flush":
            coord.flush(info.collection_id)
            model.flush()
        else:
            sealed = sorted(s for s, st in model.states.items() if st is SegmentState.SEALED)
            if sealed:
                chosen = rng.choice(sealed)
                seg = coord.segments.get(chosen)
                assert seg is not None
                written = dataclasses.replace(seg, data_key=f"k/{chosen}")
                coord.segment_flushed(written, lease_of(coord, seg.vchannel))
                model.states[chosen] = SegmentState.FLUSHED
        persistent = {s.segment_id: s.num_rows for s in coord.list_segments(info.collection_id)}
        assert persistent == model.listed((SegmentState.SEALED, SegmentState.FLUSHED)), op
        for state in (SegmentState.GROWING, SegmentState.SEALED, SegmentState.FLUSHED):
            listed = coord.list_segments(info.collection_id, [state])
            assert {s.segment_id: s.num_rows for s in listed} == model.listed((state,)), op
            assert {s.state for s in listed} <= {state}


# --- what querynodes serve, and replicas


def test_loaded_segments_are_the_flushed_ones_of_loaded_partitions_on_their_leader(
    env: Env,
) -> None:
    coord = env.coordinator
    info = create(coord)
    coord.create_partition(DEFAULT_DB, "c", "p1")
    info = coord.describe_collection(DEFAULT_DB, "c")
    default, p1 = (p.partition_id for p in info.partitions)
    assert coord.loaded_segments(info.collection_id) == []  # not loaded
    for partition in (default, p1):
        coord.assign_segment(info.collection_id, partition, info.vchannels[0], 4)
    segment_ids = flush_all(coord, info)
    load(env, info, [p1])
    [served] = coord.loaded_segments(info.collection_id)
    segment = coord.segments.get(served.segment_id)
    assert segment is not None and segment.partition_id == p1
    assert served.segment_id in segment_ids
    assert (served.num_rows, served.node_ids, served.index_id) == (4, (1,), 0)
    assert served.index_name == ""

    [index] = coord.indexes.of_collection(info.collection_id)
    coord.segments.add_index_file(served.segment_id, index.index_id, "idx/key")
    [indexed] = coord.loaded_segments(info.collection_id)
    assert (indexed.index_id, indexed.index_name) == (index.index_id, "v_idx")

    coord.release_collection(info.collection_id)
    assert coord.loaded_segments(info.collection_id) == []


def test_a_loaded_collection_has_one_replica_whose_id_survives_a_restart(env: Env) -> None:
    coord = env.coordinator
    info = create(coord, shards=2)
    other = create(coord, name="other", shards=1)
    assert coord.replicas(info.collection_id) == []
    load(env, info)
    load(env, other)
    [replica] = coord.replicas(info.collection_id)
    assert replica.replica_id > 0
    assert replica.collection_id == info.collection_id
    assert replica.partition_ids == ()
    assert replica.node_ids == (1,)
    assert [(s.vchannel, s.leader_id, s.node_ids) for s in replica.shards] == [
        (v, 1, (1,)) for v in info.vchannels
    ]
    assert {s.leader_address for s in replica.shards} == {""}  # an in-process querynode
    assert coord.replicas(other.collection_id)[0].replica_id != replica.replica_id

    coord = env.reopen()
    env.idle()
    [again] = coord.replicas(info.collection_id)
    assert again.replica_id == replica.replica_id
    coord.release_collection(info.collection_id)
    assert coord.replicas(info.collection_id) == []
    with pytest.raises(errors.CollectionNotFound):
        coord.replicas(info.collection_id + 1000)


def test_a_replica_lists_its_shards_only_once_each_has_a_leader(env: Env) -> None:
    coord = env.coordinator
    info = create(coord, shards=2)
    load(env, info)
    state = coord.loads.get(info.collection_id)
    assert state is not None
    coord.loads.channel_unassigned(info.collection_id, info.vchannels[0], 1)
    [replica] = coord.replicas(info.collection_id)
    assert replica.shards == ()


def test_a_querynode_address_comes_from_its_registration(env: Env) -> None:
    coord = env.coordinator
    coord.nodes.register_querynode(7, Recorder(), "10.0.0.7:21123")
    assert coord.nodes.querynode_address(7) == "10.0.0.7:21123"
    assert coord.nodes.querynode_ids() == [1, 7]
    coord.nodes.unregister_querynode(7)
    assert coord.nodes.querynode_address(7) == ""


# --- compaction plans


class MergingDataNode(Recorder):
    """A datanode whose compaction writes the merged segment once ``release`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def compact(self, plan: CompactionPlan) -> SegmentInfo:
        assert self.release.wait(10)
        first = plan.segments[0]
        return SegmentInfo(
            segment_id=plan.result_segment_id,
            collection_id=first.collection_id,
            partition_id=first.partition_id,
            vchannel=first.vchannel,
            state=SegmentState.FLUSHED,
            num_rows=sum(s.num_rows for s in plan.segments),
            data_key=f"k/{plan.result_segment_id}",
        )


def test_compaction_reports_each_plans_sources_and_then_its_target(tmp_path: Path) -> None:
    datanode = MergingDataNode()
    env = Env(tmp_path, datanode=datanode)
    coord = env.open()
    try:
        info = create(coord, shards=1)
        part, vchannel = info.partitions[0].partition_id, info.vchannels[0]
        sources = []
        for _ in range(2):
            coord.assign_segment(info.collection_id, part, vchannel, 5)
            sources += flush_all(coord, info)
        job = coord.manual_compaction(info.collection_id)
        running = coord.compaction_state(job)
        assert running.state == "Executing"
        assert running.merges == (CompactionMerge(tuple(sorted(sources)), -1),)

        datanode.release.set()
        deadline = time.monotonic() + 10
        while coord.compaction_state(job).state != "Completed" and time.monotonic() < deadline:
            time.sleep(0.05)
        done = coord.compaction_state(job)
        assert done.state == "Completed" and done.completed == 1
        [merge] = done.merges
        assert merge.sources == tuple(sorted(sources))
        [result] = coord.list_segments(info.collection_id)
        assert (merge.target, result.num_rows) == (result.segment_id, 10)
        assert coord.compaction_state(job + 12345).merges == ()  # unknown: nothing to report
    finally:
        datanode.release.set()
        env.close()


# --- the roles that run (GetMetrics)


def test_cluster_nodes_are_the_described_roles_in_process_ones_read_now(env: Env) -> None:
    from elanus.hardware import from_session_extra, read_hardware, session_extra
    from elanus.services import NodeDescription

    admin = env.coordinator.admin
    assert env.coordinator.cluster_nodes() == []
    started, remote = from_session_extra(session_extra("."))
    assert started > 0 and remote is not None
    admin.node_joined(NodeDescription("querynode", 5, "10.0.0.5:1", started, remote))
    admin.node_joined(NodeDescription("coordinator", 1, "", started))
    [coordinator, querynode] = env.coordinator.cluster_nodes()
    assert querynode == NodeDescription("querynode", 5, "10.0.0.5:1", started, remote)
    assert coordinator.hardware is not None  # in-process: read when asked
    assert coordinator.hardware.read_ms >= remote.read_ms
    admin.node_left("querynode", 5)
    assert [n.role for n in env.coordinator.cluster_nodes()] == ["coordinator"]
    assert from_session_extra({}) == (0, None)  # a role that wrote no hardware

    here = read_hardware(env.root)
    assert here.cpu_core_count >= 1
    assert 0 < here.memory_usage <= here.memory
    assert 0 < here.disk_usage <= here.disk
    assert 0 <= here.cpu_core_usage <= 100
