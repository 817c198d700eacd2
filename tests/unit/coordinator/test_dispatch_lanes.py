"""Node calls run in one lane per node: a slow node delays only itself, and a failed
call's reason reaches whoever waits on it (a flush fails at once, naming the node)."""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from coordinator import Coordinator
from coordinator.dispatch import Dispatcher
from elanus import errors
from elanus.config import CoordinatorConfig
from elanus.kv.embedded import EmbeddedKV
from elanus.meta import DEFAULT_DB, CollectionInfo, CompactionPlan, ConsistencyLevel, SegmentInfo
from elanus.schema import CollectionSchema, DataType, FieldSchema
from elanus.storage.local_dir import LocalDirStore
from elanus.stream.embedded_log import EmbeddedLog


@pytest.fixture
def dispatcher() -> Iterator[Dispatcher]:
    d = Dispatcher("test-lanes")
    yield d
    d.close()


def test_a_blocked_node_does_not_delay_calls_to_another_node(dispatcher: Dispatcher) -> None:
    slow_node, fast_node = object(), object()
    release = threading.Event()
    blocked = dispatcher.submit("slow", lambda: release.wait(10), slow_node)
    queued_behind = dispatcher.submit("slow again", lambda: None, slow_node)
    started = time.monotonic()
    dispatcher.submit("fast", lambda: None, fast_node).result(timeout=2)
    assert time.monotonic() - started < 1.0
    assert not blocked.done() and not queued_behind.done()  # its own lane still waits
    release.set()
    queued_behind.result(timeout=5)
    assert dispatcher.wait_idle(5)


def test_calls_to_one_node_run_in_the_order_they_were_made(dispatcher: Dispatcher) -> None:
    node = object()
    ran: list[int] = []
    for i in range(50):
        dispatcher.submit("call", functools.partial(ran.append, i), node)
    assert dispatcher.wait_idle(5)
    assert ran == list(range(50))


def test_a_failed_call_reports_its_reason_to_the_waiter(dispatcher: Dispatcher) -> None:
    node = object()

    def refuse() -> None:
        raise errors.ServiceUnavailable("datanode at 10.0.0.7:21124 is unreachable")

    failed = dispatcher.submit("flush", refuse, node)
    after = dispatcher.submit("next", lambda: None, node)
    with pytest.raises(errors.ServiceUnavailable, match="unreachable"):
        failed.result(timeout=5)
    after.result(timeout=5)  # the lane goes on after a failure


def test_an_idle_lane_ends_its_thread_and_a_later_call_starts_a_new_one() -> None:
    dispatcher = Dispatcher("test-idle-lanes", lane_idle_s=0.05)
    try:
        node = object()
        dispatcher.submit("first", lambda: None, node).result(timeout=5)
        deadline = time.monotonic() + 5
        while any(t.name.startswith("test-idle-lanes") for t in threading.enumerate()):
            assert time.monotonic() < deadline, "the idle lane's thread did not end"
            time.sleep(0.02)
        dispatcher.submit("second", lambda: None, node).result(timeout=5)
    finally:
        dispatcher.close()


def test_a_closed_dispatcher_refuses_calls_with_a_reason() -> None:
    dispatcher = Dispatcher("test-closed")
    dispatcher.close()
    with pytest.raises(errors.ServiceUnavailable, match="stopping"):
        dispatcher.submit("late", lambda: None, object()).result(timeout=1)


# --- the coordinator's flush over two datanodes


class DataNode:
    """A datanode stand-in: ``flush_channel`` blocks on ``gate`` or raises ``refuse``."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.gate.set()
        self.refuse: Exception | None = None
        self.flushed: list[tuple[str, int]] = []

    def watch_channel(self, vchannel: str, epoch: int) -> None:
        pass

    def unwatch_channel(self, vchannel: str) -> None:
        pass

    def seal_segment(self, vchannel: str, segment_id: int, seal_ts: int) -> None:
        pass

    def flush_channel(self, vchannel: str, flush_ts: int) -> None:
        self.gate.wait(10)
        if self.refuse is not None:
            raise self.refuse
        self.flushed.append((vchannel, flush_ts))

    def compact(self, plan: CompactionPlan) -> SegmentInfo:
        raise NotImplementedError


@pytest.fixture
def two_datanodes(tmp_path: Path) -> Iterator[tuple[Coordinator, dict[int, DataNode]]]:
    kv = EmbeddedKV(tmp_path / "kv.sqlite")
    stream = EmbeddedLog(tmp_path / "log")
    config = CoordinatorConfig(dml_channel_pool=4)
    coord = Coordinator(config, kv, stream, LocalDirStore(tmp_path / "objects"))
    nodes = {1: DataNode(), 2: DataNode()}
    for node_id, node in nodes.items():
        coord.register_datanode(node_id, node)
    coord.start()
    try:
        yield coord, nodes
    finally:
        for node in nodes.values():
            node.gate.set()
        coord.stop()
        stream.close()
        kv.close()


def create(coord: Coordinator) -> CollectionInfo:
    schema = CollectionSchema(
        "c",
        (
            FieldSchema("id", DataType.INT64, is_primary=True),
            FieldSchema("v", DataType.FLOAT_VECTOR, type_params={"dim": "4"}),
        ),
    ).with_field_ids()
    return coord.create_collection(DEFAULT_DB, schema, 2, ConsistencyLevel.BOUNDED, {})


def owners(coord: Coordinator, info: CollectionInfo) -> dict[str, int]:
    by_channel = {v: coord.nodes.channel_owner(v)[0].node_id for v in info.vchannels}
    assert sorted(by_channel.values()) == [1, 2], "the test needs one channel per datanode"
    return by_channel


def test_a_slow_datanode_does_not_delay_another_datanodes_flush(
    two_datanodes: tuple[Coordinator, dict[int, DataNode]],
) -> None:
    coord, nodes = two_datanodes
    info = create(coord)
    by_channel = owners(coord, info)
    nodes[1].gate.clear()  # datanode 1 hangs in flush_channel
    result = coord.flush(info.collection_id)
    fast_channel = next(v for v, n in by_channel.items() if n == 2)
    deadline = time.monotonic() + 2
    while (fast_channel, result.flush_ts) not in nodes[2].flushed:
        assert time.monotonic() < deadline, "datanode 2's flush waited for datanode 1"
        time.sleep(0.01)
    assert not nodes[1].flushed
    nodes[1].gate.set()
    assert coord.wait_idle(5)
    assert len(nodes[1].flushed) == 1


@pytest.mark.parametrize("failing", [1, 2])  # its channel checked first, or last
def test_a_flush_whose_datanode_call_fails_fails_with_the_node_and_reason(
    two_datanodes: tuple[Coordinator, dict[int, DataNode]], failing: int
) -> None:
    coord, nodes = two_datanodes
    info = create(coord)
    owners(coord, info)
    nodes[failing].refuse = errors.ServiceUnavailable("datanode at 10.0.0.7:21124 is unreachable")
    result = coord.flush(info.collection_id)
    assert coord.wait_idle(5)
    with pytest.raises(errors.ServiceUnavailable) as failed:
        coord.flush_state(info.collection_id, result.segment_ids, result.flush_ts)
    assert f"datanode {failing}" in str(failed.value) and "unreachable" in str(failed.value)

    # A later flush that the datanode does take is waited on as usual.
    nodes[failing].refuse = None
    again = coord.flush(info.collection_id)
    assert coord.wait_idle(5)
    assert not coord.flush_state(info.collection_id, again.segment_ids, again.flush_ts)
