"""The channel lease: only the channel's current datanode (node id and assignment
epoch) may change its state at the coordinator; a node cut off meanwhile is refused."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from coordinator import Coordinator
from coordinator.membership import decode_channel_owners, encode_channel_owners
from coordinator.nodes import ChannelOwner
from elanus import errors
from elanus.config import CoordinatorConfig
from elanus.kv.embedded import EmbeddedKV
from elanus.meta import DEFAULT_DB, CollectionInfo, ConsistencyLevel, DeltaLog, SegmentState
from elanus.schema import CollectionSchema, DataType, FieldSchema
from elanus.services import ChannelLease
from elanus.storage.local_dir import LocalDirStore
from elanus.stream.embedded_log import EmbeddedLog


@dataclass
class Recorder:
    calls: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return lambda *args: self.calls.append((name, args))

    def named(self, name: str) -> list[tuple[Any, ...]]:
        return [args for call, args in self.calls if call == name]


@pytest.fixture
def coord(tmp_path: Path) -> Iterator[Coordinator]:
    kv = EmbeddedKV(tmp_path / "kv.sqlite")
    stream = EmbeddedLog(tmp_path / "log")
    config = CoordinatorConfig(dml_channel_pool=2, segment_max_rows=100)
    core = Coordinator(config, kv, stream, LocalDirStore(tmp_path / "objects"))
    core.register_datanode(1, Recorder())
    core.start()
    yield core
    core.stop()
    stream.close()
    kv.close()


def create(core: Coordinator) -> CollectionInfo:
    schema = CollectionSchema(
        "c",
        (
            FieldSchema("id", DataType.INT64, is_primary=True),
            FieldSchema("v", DataType.FLOAT_VECTOR, type_params={"dim": "4"}),
        ),
    ).with_field_ids()
    return core.create_collection(DEFAULT_DB, schema, 1, ConsistencyLevel.STRONG, {})


def current_lease(core: Coordinator, vchannel: str) -> ChannelLease:
    owner, _ = core.nodes.channel_owner(vchannel)
    return ChannelLease(owner.node_id, owner.epoch)


def move_channel(core: Coordinator, to_node: int, client: Any) -> None:
    """What membership does when datanode 1's session ends: unregister it, let the
    channels be re-watched on whoever is left."""
    core.nodes.unregister_datanode(1)
    core.register_datanode(to_node, client)
    for info in core.catalog.all():
        for vchannel in info.vchannels:
            core.watch_channel(vchannel)
    assert core.wait_idle(5.0)


def test_the_owner_is_told_its_epoch_and_its_reports_apply(coord: Coordinator) -> None:
    info = create(coord)
    vchannel = info.vchannels[0]
    assert coord.wait_idle(5.0)
    datanode = coord.nodes.datanode_for(vchannel)
    assert isinstance(datanode, Recorder)
    assert datanode.named("watch_channel") == [(vchannel, 1)]
    start = coord.channel_snapshot(vchannel).checkpoint
    moved = dataclasses.replace(start, position=start.position + 5)
    coord.update_checkpoint(moved, ChannelLease(1, 1))
    assert coord.channel_snapshot(vchannel).checkpoint.position == start.position + 5


def test_a_cut_off_datanode_cannot_report_once_its_channel_moved(coord: Coordinator) -> None:
    info = create(coord)
    vchannel = info.vchannels[0]
    segment_id = coord.assign_segment(
        info.collection_id, info.partitions[0].partition_id, vchannel, 3
    )
    coord.flush(info.collection_id)
    stale = current_lease(coord, vchannel)
    start = coord.channel_snapshot(vchannel).checkpoint

    successor = Recorder()
    move_channel(coord, 2, successor)
    assert successor.named("watch_channel") == [(vchannel, 2)]
    fresh = current_lease(coord, vchannel)
    assert fresh == ChannelLease(2, 2)

    segment = coord.segments.get(segment_id)
    assert segment is not None
    reports = [
        lambda: coord.update_checkpoint(
            dataclasses.replace(start, position=start.position + 7), stale
        ),
        lambda: coord.segment_flushed(dataclasses.replace(segment, num_rows=3), stale),
        lambda: coord.add_delta_log(
            DeltaLog(99, info.collection_id, vchannel, "deltas/x", 1, 1), stale
        ),
        lambda: coord.channel_flushed(vchannel, 1 << 60, stale),
    ]
    for report in reports:
        with pytest.raises(errors.ChannelLeaseLost) as refused:
            report()
        assert "datanode 1 (epoch 1) no longer owns" in refused.value.reason
    # Nothing the stale node said took effect.
    assert coord.channel_snapshot(vchannel).checkpoint == start
    assert coord.segments.get(segment_id).state is SegmentState.SEALED  # type: ignore[union-attr]
    assert coord.segments.deltas_of_channel(vchannel) == []
    assert coord.segments.flushed_ts(vchannel) == 0

    # The new owner's reports apply.
    coord.update_checkpoint(dataclasses.replace(start, position=start.position + 7), fresh)
    assert coord.channel_snapshot(vchannel).checkpoint.position == start.position + 7


def test_the_same_node_id_back_with_an_old_epoch_is_refused(coord: Coordinator) -> None:
    """A node restarted under its configured id gets a new epoch; the old process,
    still running with the old one, is refused although its node id matches."""
    info = create(coord)
    vchannel = info.vchannels[0]
    old = current_lease(coord, vchannel)
    move_channel(coord, 1, Recorder())  # node 1 leaves and the same id comes back
    assert current_lease(coord, vchannel) == ChannelLease(1, 2)
    start = coord.channel_snapshot(vchannel).checkpoint
    with pytest.raises(errors.ChannelLeaseLost):
        coord.update_checkpoint(dataclasses.replace(start, position=start.position + 1), old)
    assert coord.channel_snapshot(vchannel).checkpoint == start


def test_a_channel_without_an_owner_refuses_every_report(coord: Coordinator) -> None:
    info = create(coord)
    vchannel = info.vchannels[0]
    lease = current_lease(coord, vchannel)
    coord.nodes.unregister_datanode(1)  # session gone, no other datanode yet
    start = coord.channel_snapshot(vchannel).checkpoint
    with pytest.raises(errors.ChannelLeaseLost, match="it is now no datanode"):
        coord.update_checkpoint(dataclasses.replace(start, position=start.position + 1), lease)


def test_checkpoints_never_move_backwards(coord: Coordinator) -> None:
    info = create(coord)
    vchannel = info.vchannels[0]
    lease = current_lease(coord, vchannel)
    start = coord.channel_snapshot(vchannel).checkpoint
    for delta in (4, 9, 2, 9, 0, 3):
        coord.update_checkpoint(dataclasses.replace(start, position=start.position + delta), lease)
    assert coord.channel_snapshot(vchannel).checkpoint.position == start.position + 9


def test_epochs_survive_a_coordinator_restart_in_the_saved_owners() -> None:
    owners = {"a": ChannelOwner(3, 7), "b": ChannelOwner(1, 1)}
    assert decode_channel_owners(encode_channel_owners(owners)) == owners
    # Owners saved before epochs existed read as epoch 1.
    assert decode_channel_owners(b'{"a": 2}') == {"a": ChannelOwner(2, 1)}


def test_restored_owners_draw_higher_epochs_when_they_move(tmp_path: Path) -> None:
    from coordinator.nodes import NodeRegistry

    registry = NodeRegistry()
    registry.restore_channel_owners({"ch": ChannelOwner(5, 4)})
    registry.register_datanode(6, Recorder())  # node 5 is gone after the restart
    owner, _ = registry.channel_owner("ch")
    assert owner == ChannelOwner(6, 5)


def test_a_dropped_collections_channels_leave_the_owners(coord: Coordinator) -> None:
    """Owners are saved in the KV: a dropped channel must not stay there forever."""
    info = create(coord)
    vchannel = info.vchannels[0]
    stale = current_lease(coord, vchannel)
    assert vchannel in coord.nodes.channel_owners()
    coord.drop_collection(DEFAULT_DB, info.name)
    assert coord.wait_idle(5.0)
    assert vchannel not in coord.nodes.channel_owners()
    with pytest.raises(errors.ChannelLeaseLost):
        coord.channel_flushed(vchannel, 1, stale)


def test_a_report_on_a_dropped_channel_says_it_was_dropped(coord: Coordinator) -> None:
    """The datanode logs this loss at INFO: the collection went, nothing went wrong."""
    info = create(coord)
    vchannel = info.vchannels[0]
    lease = current_lease(coord, vchannel)
    start = coord.channel_snapshot(vchannel).checkpoint
    coord.drop_collection(DEFAULT_DB, info.name)
    with pytest.raises(errors.ChannelLeaseLost, match=errors.CHANNEL_DROPPED):
        coord.update_checkpoint(dataclasses.replace(start, position=start.position + 1), lease)
