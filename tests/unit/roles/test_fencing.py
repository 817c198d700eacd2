"""Issue 6 on the standalone roles: one writer per channel, late writes dropped alike by
every consumer, no false success from a proxy that lost its session, index builds
that outlive their indexnode."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pytest
from roles_harness import RoleSet, make_rows, wait_until

from datanode import DataNode
from datanode.channel_writer import ChannelWriter
from elanus import dml, errors
from elanus.cluster.sessions import Session, SessionKeeper
from elanus.kv.embedded import EmbeddedKV
from elanus.meta import ChannelCheckpoint, ChannelSnapshot, CollectionInfo, DeltaLog, SegmentInfo
from elanus.services import ChannelLease
from proxy.writer import DmlWriter
from querynode.delegator import ShardDelegator


@pytest.fixture
def roles(tmp_path: Path) -> Iterator[RoleSet]:
    started = RoleSet(tmp_path).start()
    yield started
    started.stop()


def insert(roles: RoleSet, info: CollectionInfo, pks: range, tag: str = "a") -> None:
    roles.writer.insert(info, info.partitions[0].partition_id, make_rows(info.schema, pks, tag))


def checkpoint_position(roles: RoleSet, vchannel: str) -> int:
    return roles.coordinator.channel_snapshot(vchannel).checkpoint.position


# --- one writer per channel


def test_a_stale_datanode_is_refused_stops_and_the_new_owner_carries_on(roles: RoleSet) -> None:
    info = roles.create_collection(shards=1)
    vchannel = info.vchannels[0]
    roles.load(info)
    insert(roles, info, range(20))
    roles.flush_and_wait(info)
    old_writer = roles.datanode.writer(vchannel)
    assert old_writer is not None and old_writer.lease.epoch == 1

    # Datanode 1's session expires while it still runs: the coordinator forgets it
    # and gives its channel to datanode 2, which takes over under epoch 2.
    successor = DataNode(2, roles.config.datanode, roles.stream, roles.storage, roles.coordinator)
    try:
        roles.coordinator.nodes.unregister_datanode(1)
        roles.coordinator.register_datanode(2, successor)
        roles.coordinator.watch_channel(vchannel)
        assert roles.coordinator.wait_idle(5.0)
        assert successor.watched_channels() == {vchannel: successor.writer(vchannel).lease}  # type: ignore[union-attr]
        assert successor.watched_channels()[vchannel].epoch == 2

        # Datanode 1's next report (a checkpoint at the next tick) is refused: it stops.
        wait_until(lambda: old_writer.lease_lost, what="the stale writer refused")
        wait_until(lambda: not roles.datanode.watched_channels(), what="the stale node forgot it")
        before = checkpoint_position(roles, vchannel)

        insert(roles, info, range(20, 35), "b")
        roles.flush_and_wait(info)
        assert checkpoint_position(roles, vchannel) >= before  # never backwards
        rows = roles.rows_by_pk(info)
        assert sorted(rows) == list(range(35))
        assert roles.coordinator.collection_statistics(info.collection_id).row_count == 35
    finally:
        successor.stop()


# --- late writes


def publish_late_insert(roles: RoleSet, info: CollectionInfo, pks: range) -> int:
    """An insert stamped below a tick already on the channel, as a proxy cut off from
    the ticks could leave behind: returns its timestamp."""
    vchannel, pchannel = info.vchannels[0], info.pchannels[0]
    stamp_ts = roles.coordinator.alloc_timestamp()
    delegator = roles.querynode.delegator(vchannel)
    assert delegator is not None
    wait_until(
        lambda: delegator.late_writes.last_tick_ts >= stamp_ts, what="a tick above the stamp"
    )
    segment_id = roles.coordinator.assign_segment(
        info.collection_id, info.partitions[0].partition_id, vchannel, len(pks)
    )
    batch = dml.InsertBatch(
        dml.Stamp(msg_id=1, timestamp=stamp_ts, source_id=77),
        info.collection_id,
        info.partitions[0].partition_id,
        segment_id,
        vchannel,
        make_rows(info.schema, pks, "late"),
    )
    roles.stream.produce(pchannel, [dml.encode_insert(batch)])
    return stamp_ts


def test_a_late_write_is_dropped_by_the_querynode_and_the_datanode_alike(
    roles: RoleSet,
) -> None:
    info = roles.create_collection(shards=1)
    vchannel = info.vchannels[0]
    roles.load(info)
    insert(roles, info, range(10))
    publish_late_insert(roles, info, range(100, 105))
    insert(roles, info, range(10, 20))

    delegator = roles.querynode.delegator(vchannel)
    writer = roles.datanode.writer(vchannel)
    assert delegator is not None and writer is not None
    wait_until(lambda: delegator.late_writes.dropped == 1, what="the querynode drops it")
    wait_until(lambda: writer.late_writes.dropped == 1, what="the datanode drops it")
    assert sorted(roles.rows_by_pk(info)) == list(range(20))  # growing, in the querynode

    roles.flush_and_wait(info)
    assert roles.coordinator.collection_statistics(info.collection_id).row_count == 20
    # Served again from what the datanode persisted: the same rows.
    roles.coordinator.release_collection(info.collection_id)
    roles.load(info)
    assert sorted(roles.rows_by_pk(info)) == list(range(20))


@dataclass
class ReportsOnly:
    """The coordinator as one channel writer sees it, recording its checkpoints."""

    snapshot: ChannelSnapshot
    checkpoints: list[ChannelCheckpoint] = field(default_factory=list)

    def channel_snapshot(self, vchannel: str) -> ChannelSnapshot:
        return self.snapshot

    def alloc_ids(self, count: int) -> int:
        return 424242

    def update_checkpoint(self, checkpoint: ChannelCheckpoint, lease: ChannelLease) -> None:
        self.checkpoints.append(checkpoint)

    def add_delta_log(self, log: DeltaLog, lease: ChannelLease) -> None:
        pass

    def segment_flushed(self, segment: SegmentInfo, lease: ChannelLease) -> None:
        pass

    def channel_flushed(self, vchannel: str, flush_ts: int, lease: ChannelLease) -> None:
        pass


def test_consumers_starting_at_a_checkpoint_drop_exactly_what_the_first_one_did(
    roles: RoleSet,
) -> None:
    """A checkpoint carries the highest tick before its position, so a consumer that
    starts there (a datanode taking over, a querynode loading) judges late writes
    exactly as the one that wrote the checkpoint."""
    info = roles.create_collection(shards=1)
    vchannel = info.vchannels[0]
    part = info.partitions[0].partition_id
    snapshot = roles.coordinator.channel_snapshot(vchannel)
    base = roles.stream.end_position(info.pchannels[0]) + 1_000_000  # past any replay

    def stamp(ts: int) -> dml.Stamp:  # ``ts`` after the collection's creation
        return dml.Stamp(msg_id=ts, timestamp=snapshot.checkpoint.timestamp + ts, source_id=5)

    def rows(pks: range) -> pa.Table:
        return make_rows(info.schema, pks)

    log = [
        dml.encode_time_tick(stamp(100)),
        dml.encode_delete(
            dml.DeleteBatch(stamp(150), info.collection_id, 0, vchannel, pa.array([7]))
        ),
        dml.encode_time_tick(stamp(200)),
        dml.encode_insert(
            dml.InsertBatch(stamp(250), info.collection_id, part, 11, vchannel, rows(range(3)))
        ),
        # Late: stamped below tick 200, which is *before* the checkpoint made below.
        dml.encode_insert(
            dml.InsertBatch(stamp(190), info.collection_id, part, 12, vchannel, rows(range(50, 52)))
        ),
        dml.encode_time_tick(stamp(300)),
    ]
    first = ReportsOnly(snapshot)
    config = dataclasses.replace(roles.config.datanode, delete_flush_interval_s=3600.0)
    writer = ChannelWriter(vchannel, config, roles.stream, roles.storage, first, ChannelLease(1, 1))
    writer._take_over()
    for offset, payload in enumerate(log):
        writer._handle(payload, base + offset)
    writer.flush(
        snapshot.checkpoint.timestamp + 250
    )  # persists the delete at the next tick: the checkpoint jumps
    writer._handle(dml.encode_time_tick(stamp(400)), base + len(log))
    checkpoint = first.checkpoints[-1]
    assert checkpoint.position == base + 3
    assert checkpoint.timestamp == snapshot.checkpoint.timestamp + 200
    assert writer.late_writes.dropped == 1

    # A datanode taking over at the checkpoint, and a querynode loading from it.
    restarted = ReportsOnly(dataclasses.replace(snapshot, checkpoint=checkpoint))
    successor = ChannelWriter(
        vchannel, config, roles.stream, roles.storage, restarted, ChannelLease(2, 2)
    )
    successor._take_over()
    delegator = ShardDelegator(
        restarted.snapshot, roles.stream, roles.storage, 1.0, lambda: restarted.snapshot.collection
    )
    for offset in range(3, len(log)):
        successor._handle(log[offset], base + offset)
        delegator._apply(dml.decode(log[offset]), base + offset)
    assert successor.late_writes.dropped == 1
    assert delegator.late_writes.dropped == 1
    assert sorted(delegator._growing) == [11]  # the late segment's rows never appeared


# --- a proxy that lost its session


def test_a_proxy_that_is_not_live_answers_an_error_not_success(roles: RoleSet) -> None:
    info = roles.create_collection(shards=2)
    roles.load(info)
    live = [True]
    proxy = DmlWriter(2, roles.stream, roles.coordinator, 0.02, is_live=lambda: live[0])
    proxy.register()
    try:
        rows = make_rows(info.schema, range(5))
        proxy.insert(info, info.partitions[0].partition_id, rows)
        live[0] = False
        with pytest.raises(errors.ServiceUnavailable, match="lost its session"):
            proxy.insert(info, info.partitions[0].partition_id, make_rows(info.schema, range(5, 9)))
        with pytest.raises(errors.ServiceUnavailable):
            proxy.delete(info, 0, pa.array([1], type=pa.int64()))
    finally:
        live[0] = True
        proxy.stop()


def test_liveness_is_checked_after_the_publish_acks(roles: RoleSet) -> None:
    """A session lost while the write was in flight: the write may be in the log, but the
    client hears an error (it retries; it never hears success for a write that may be
    dropped as late)."""
    info = roles.create_collection(shards=1)
    answers = iter([True, False])  # live when it starts, gone by the acks
    proxy = DmlWriter(3, roles.stream, roles.coordinator, 0.02, is_live=lambda: next(answers))
    proxy.register()
    end = roles.stream.end_position(info.pchannels[0])
    try:
        with pytest.raises(errors.ServiceUnavailable, match="may not be visible"):
            proxy.insert(info, info.partitions[0].partition_id, make_rows(info.schema, range(3)))
        assert roles.stream.end_position(info.pchannels[0]) > end  # it was published
    finally:
        proxy.stop()


def test_a_session_keeper_is_alive_only_while_its_lease_surely_holds(tmp_path: Path) -> None:
    kv = EmbeddedKV(tmp_path / "kv.sqlite")
    keeper = SessionKeeper(kv, Session("proxy", 9, "127.0.0.1:1"), ttl_s=0.6)
    try:
        assert not keeper.alive  # before it holds a session
        keeper.start()
        assert keeper.alive
        time.sleep(0.5)
        assert keeper.alive  # refreshed meanwhile
        assert keeper._lease is not None
        kv.revoke_lease(keeper._lease)  # etcd lost it (expired while we were paused)
        wait_until(lambda: not keeper.alive, timeout_s=2.0, what="keeper not alive")
    finally:
        keeper.stop()
        kv.close()


# --- index builds outliving their indexnode


class SilentIndexNode:
    """Takes builds and never reports: an indexnode that dies with its queue."""

    def __init__(self) -> None:
        self.tasks: list[object] = []

    def submit(self, task: object) -> None:
        self.tasks.append(task)


def test_an_index_build_of_a_departed_indexnode_completes_on_another(roles: RoleSet) -> None:
    info = roles.create_collection(shards=1, index=False)
    insert(roles, info, range(30))
    roles.flush_and_wait(info)
    doomed = SilentIndexNode()
    roles.coordinator.nodes.unregister_indexnode(1)
    roles.coordinator.register_indexnode(7, doomed)
    roles.coordinator.create_index(info.collection_id, "vec", "", "FLAT", "L2", {}, {})
    assert roles.coordinator.wait_idle(5.0)
    assert len(doomed.tasks) == 1
    assert roles.coordinator.describe_indexes(info.collection_id)[0].state == "InProgress"

    # Node 7's session ends; the real indexnode is (again) registered.
    roles.coordinator.nodes.unregister_indexnode(7)
    roles.coordinator.register_indexnode(1, roles.indexnode)
    roles.coordinator.indexnode_left(7)
    wait_until(
        lambda: roles.coordinator.describe_indexes(info.collection_id)[0].state == "Finished",
        what="index finished on the other node",
    )
    [progress] = roles.coordinator.describe_indexes(info.collection_id)
    assert progress.indexed_rows == 30
