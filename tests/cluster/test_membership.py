"""Node membership: the coordinator follows node sessions and moves work off nodes that leave.

The coordinator core runs on the embedded KV and log; nodes are recording
stand-ins, announced through real sessions in the same KV.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from coordinator import Coordinator
from coordinator.membership import CHANNEL_OWNERS_KEY, Membership
from elanus.cluster.sessions import Session, SessionKeeper
from elanus.config import CoordinatorConfig
from elanus.kv.embedded import EmbeddedKV
from elanus.meta import DEFAULT_DB, CollectionInfo, ConsistencyLevel
from elanus.schema import CollectionSchema, DataType, FieldSchema
from elanus.storage.local_dir import LocalDirStore
from elanus.stream.embedded_log import EmbeddedLog

WAIT_S = 10.0


@dataclass
class Node:
    """Any node: records each call by name, thread-safely."""

    session: Session
    calls: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)
    closed: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)

        def record(*args: Any) -> None:
            with self._lock:
                self.calls.append((name, args))

        return record

    def close(self) -> None:
        self.closed = True

    def named(self, name: str) -> list[tuple[Any, ...]]:
        with self._lock:
            return [args for call, args in self.calls if call == name]


@dataclass
class Cluster:
    root: Path
    nodes: dict[tuple[str, int], Node] = field(default_factory=dict)
    keepers: dict[tuple[str, int], SessionKeeper] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.kv = EmbeddedKV(self.root / "kv.sqlite")
        self.stream = EmbeddedLog(self.root / "log")
        self.core = Coordinator(
            CoordinatorConfig(dml_channel_pool=4),
            self.kv,
            self.stream,
            LocalDirStore(self.root / "objects"),
        )
        self.membership = Membership(self.core, self.kv, self._connect, reconcile_interval_s=0.2)

    def _connect(self, session: Session) -> Node:
        node = Node(session)
        self.nodes[(session.role, session.node_id)] = node
        return node

    def start(self) -> None:
        self.membership.start()
        self.core.start()
        self.membership.start_reconciling()

    def join(self, role: str, node_id: int) -> None:
        keeper = SessionKeeper(self.kv, Session(role, node_id, f"127.0.0.1:{node_id}"), 2.0)
        keeper.start()
        self.keepers[(role, node_id)] = keeper

    def leave(self, role: str, node_id: int) -> None:
        self.keepers.pop((role, node_id)).stop()

    def node(self, role: str, node_id: int) -> Node:
        return self.nodes[(role, node_id)]

    def close(self) -> None:
        for keeper in self.keepers.values():
            keeper.stop()
        self.membership.stop()
        self.core.stop()
        self.stream.close()
        self.kv.close()


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    c = Cluster(tmp_path)
    c.start()
    yield c
    c.close()


def until(condition: Callable[[], bool], timeout_s: float = WAIT_S) -> float:
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout_s, "condition not met in time"
        time.sleep(0.05)
    return time.monotonic() - started


def collection(core: Coordinator, name: str, shards: int) -> CollectionInfo:
    schema = CollectionSchema(
        name,
        (
            FieldSchema("id", DataType.INT64, is_primary=True),
            FieldSchema("v", DataType.FLOAT_VECTOR, type_params={"dim": "4"}),
        ),
    ).with_field_ids()
    info = core.create_collection(DEFAULT_DB, schema, shards, ConsistencyLevel.STRONG, {})
    core.create_index(info.collection_id, "v", "", "FLAT", "L2", {}, {})
    return info


def watchers_of(cluster: Cluster, vchannel: str) -> list[int]:
    return sorted(
        node_id
        for (role, node_id), node in cluster.nodes.items()
        if role == "datanode" and any(args[0] == vchannel for args in node.named("watch_channel"))
    )


def test_channels_wait_for_a_datanode_then_move_when_it_leaves(cluster: Cluster) -> None:
    info = collection(cluster.core, "c", shards=4)  # no datanode yet: nothing fails
    cluster.join("datanode", 1)
    until(lambda: all(watchers_of(cluster, v) == [1] for v in info.vchannels))
    cluster.join("datanode", 2)
    time.sleep(0.5)  # a joining node takes no channel away: one consumer per channel
    assert all(watchers_of(cluster, v) == [1] for v in info.vchannels)

    cluster.leave("datanode", 1)
    took = until(lambda: all(watchers_of(cluster, v) == [1, 2] for v in info.vchannels))
    assert took < 5.0
    assert cluster.node("datanode", 1).closed
    assert set(cluster.core.nodes.channel_owners().values()) == {2}
    saved = cluster.kv.get(CHANNEL_OWNERS_KEY)
    assert saved is not None and b'"2"' not in saved.value  # owners: channel -> node 2


def test_shards_move_to_the_remaining_querynode(cluster: Cluster) -> None:
    cluster.join("querynode", 1)
    cluster.join("querynode", 2)
    until(lambda: len(cluster.core.nodes.querynodes()) == 2)
    info = collection(cluster.core, "c", shards=4)
    cluster.core.load_collection(info.collection_id)
    until(lambda: len(cluster.core.loads.get(info.collection_id).leaders) == 4)  # type: ignore[union-attr]
    leaders = cluster.core.shard_leaders(info.collection_id)
    assert set(leaders.values()) == {1, 2}  # CRC32 placement spreads four shards over both

    lost = [v for v, node_id in leaders.items() if node_id == 1]
    cluster.leave("querynode", 1)
    took = until(
        lambda: (
            len(cluster.core.loads.get(info.collection_id).leaders) == 4  # type: ignore[union-attr]
            and set(cluster.core.shard_leaders(info.collection_id).values()) == {2}
        )
    )
    assert took < 5.0
    reloaded = [args[0] for args in cluster.node("querynode", 2).named("load_channel")]
    assert sorted(set(reloaded)) == sorted(info.vchannels)
    assert all(reloaded.count(v) == 1 for v in lost)  # each lost shard loaded once

    # A node that joins takes part in new placements.
    cluster.join("querynode", 3)
    until(lambda: len(cluster.core.nodes.querynodes()) == 2)
    other = collection(cluster.core, "d", shards=4)
    cluster.core.load_collection(other.collection_id)
    until(lambda: len(cluster.core.loads.get(other.collection_id).leaders) == 4)  # type: ignore[union-attr]
    assert 3 in set(cluster.core.shard_leaders(other.collection_id).values())


def test_a_shard_load_that_failed_is_retried(cluster: Cluster) -> None:
    cluster.join("querynode", 1)
    until(lambda: len(cluster.core.nodes.querynodes()) == 1)
    node = cluster.node("querynode", 1)
    failures = iter([RuntimeError("node busy")])

    def flaky_load(vchannel: str, partitions: list[int]) -> None:
        error = next(failures, None)
        node.calls.append(("load_channel", (vchannel, partitions)))
        if error is not None:
            raise error

    node.__dict__["load_channel"] = flaky_load
    info = collection(cluster.core, "c", shards=1)
    cluster.core.load_collection(info.collection_id)
    until(lambda: cluster.core.load_progress(info.collection_id).state == "Loaded")
    assert len(node.named("load_channel")) == 2


def test_index_builds_wait_for_an_indexnode(cluster: Cluster) -> None:
    calls: list[str] = []
    cluster.core.schedule_missing_builds = lambda: calls.append("builds")  # type: ignore[method-assign]
    cluster.join("indexnode", 1)
    until(lambda: calls == ["builds"])
