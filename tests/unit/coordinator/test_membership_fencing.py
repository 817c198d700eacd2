"""Through the sessions: when a datanode's session goes its lease goes with it, and
the builds of an indexnode whose session goes are handed to another indexnode."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from test_channel_leases import Recorder, create, current_lease

from coordinator import Coordinator
from coordinator.membership import CHANNEL_OWNERS_KEY, Membership, decode_channel_owners
from elanus import errors
from elanus.cluster.sessions import Session, SessionKeeper
from elanus.config import CoordinatorConfig
from elanus.kv.embedded import EmbeddedKV
from elanus.meta import IndexBuildTask
from elanus.services import ChannelLease
from elanus.storage.local_dir import LocalDirStore
from elanus.stream.embedded_log import EmbeddedLog


class Sessions:
    """A coordinator with its membership, and nodes that join and leave by session."""

    def __init__(self, root: Path) -> None:
        self.kv = EmbeddedKV(root / "kv.sqlite")
        self.stream = EmbeddedLog(root / "log")
        config = CoordinatorConfig(dml_channel_pool=2)
        self.core = Coordinator(config, self.kv, self.stream, LocalDirStore(root / "objects"))
        self.nodes: dict[tuple[str, int], Recorder] = {}
        self.keepers: dict[tuple[str, int], SessionKeeper] = {}
        self.membership = Membership(self.core, self.kv, self._connect, reconcile_interval_s=0.1)
        self.membership.start()
        self.core.start()
        self.membership.start_reconciling()

    def _connect(self, session: Session) -> Recorder:
        return self.nodes.setdefault((session.role, session.node_id), Recorder())

    def join(self, role: str, node_id: int) -> Recorder:
        keeper = SessionKeeper(self.kv, Session(role, node_id, f"127.0.0.1:{node_id}"), 2.0)
        keeper.start()
        self.keepers[(role, node_id)] = keeper
        until(lambda: (role, node_id) in self.nodes)
        return self.nodes[(role, node_id)]

    def leave(self, role: str, node_id: int) -> None:
        self.keepers.pop((role, node_id)).stop()

    def close(self) -> None:
        for keeper in self.keepers.values():
            keeper.stop()
        self.membership.stop()
        self.core.stop()
        self.stream.close()
        self.kv.close()


def until(condition: Callable[[], object], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


@pytest.fixture
def sessions(tmp_path: Path) -> Iterator[Sessions]:
    s = Sessions(tmp_path)
    yield s
    s.close()


def test_a_datanode_whose_session_went_is_refused_and_the_epoch_is_saved(
    sessions: Sessions,
) -> None:
    first = sessions.join("datanode", 1)
    info = create(sessions.core)
    vchannel = info.vchannels[0]
    until(lambda: first.named("watch_channel") == [(vchannel, 1)])
    stale = ChannelLease(1, 1)
    second = sessions.join("datanode", 2)

    sessions.leave("datanode", 1)
    until(lambda: second.named("watch_channel") == [(vchannel, 2)])
    start = sessions.core.channel_snapshot(vchannel).checkpoint
    with pytest.raises(errors.ChannelLeaseLost):
        sessions.core.update_checkpoint(
            dataclasses.replace(start, position=start.position + 1), stale
        )
    assert current_lease(sessions.core, vchannel) == ChannelLease(2, 2)
    until(lambda: sessions.kv.get(CHANNEL_OWNERS_KEY) is not None)
    saved = sessions.kv.get(CHANNEL_OWNERS_KEY)
    assert saved is not None
    owner = decode_channel_owners(saved.value)[vchannel]
    assert (owner.node_id, owner.epoch) == (2, 2)


def test_the_builds_of_an_indexnode_whose_session_went_go_to_another(
    sessions: Sessions,
) -> None:
    sessions.join("datanode", 1)
    doomed = sessions.join("indexnode", 1)
    info = create(sessions.core)
    vchannel = info.vchannels[0]
    seg_id = sessions.core.assign_segment(
        info.collection_id, info.partitions[0].partition_id, vchannel, 4
    )
    sessions.core.flush(info.collection_id)
    segment = sessions.core.segments.get(seg_id)
    assert segment is not None
    until(lambda: sessions.core.nodes.channel_owners().get(vchannel) == 1)
    sessions.core.segment_flushed(
        dataclasses.replace(segment, num_rows=4), current_lease(sessions.core, vchannel)
    )
    sessions.core.create_index(info.collection_id, "v", "", "FLAT", "L2", {}, {})
    until(lambda: len(doomed.named("submit")) == 1)

    survivor = sessions.join("indexnode", 2)
    sessions.leave("indexnode", 1)
    until(lambda: len(survivor.named("submit")) == 1)
    [retried] = survivor.named("submit")
    task: IndexBuildTask = retried[0]
    assert task.segment.segment_id == seg_id
    assert task.build_id != doomed.named("submit")[0][0].build_id


def test_an_owner_chosen_on_the_way_is_told_to_watch(sessions: Sessions) -> None:
    """A flush right after a datanode went picks the new owner itself (datanode_for);
    the next reconcile sends it watch_channel with its epoch, so the channel is
    consumed and the owner's reports carry the lease it holds."""
    sessions.join("datanode", 1)
    info = create(sessions.core)
    vchannel = info.vchannels[0]
    second = sessions.join("datanode", 2)
    until(lambda: sessions.core.nodes.channel_owners().get(vchannel) == 1)
    # The membership watcher registers a joining node asynchronously: without this
    # wait the flush may find no datanode at all (seen in CI on a loaded machine).
    until(lambda: 2 in sessions.core.nodes.datanode_ids())
    sessions.core.nodes.unregister_datanode(1)  # gone; membership has not reconciled yet
    sessions.core.flush(info.collection_id)
    until(lambda: second.named("watch_channel") == [(vchannel, 2)])
    assert sessions.core.nodes.unannounced_channels() == []
