"""Sessions and session watchers on the embedded KV and, with infra up, on the real etcd."""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from elanus.cluster.sessions import (
    Session,
    SessionKeeper,
    SessionWatcher,
    allocate_node_id,
    list_sessions,
    session_key,
    wait_for_session,
)
from elanus.kv import MetaKV
from elanus.kv.embedded import EmbeddedKV

ETCD = os.environ.get("ELANUS_TEST_ETCD", "")
WAIT_S = 10.0


@pytest.fixture(
    params=[
        "embedded",
        pytest.param(
            "etcd",
            marks=[
                pytest.mark.infra,
                pytest.mark.skipif(not ETCD, reason="ELANUS_TEST_ETCD unset: infra not started"),
            ],
        ),
    ]
)
def kv(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MetaKV]:
    if request.param == "embedded":
        store: MetaKV = EmbeddedKV(tmp_path / "kv.sqlite")
        yield store
        store.close()
        return
    from elanus.kv.etcd import EtcdKV

    namespace = f"test-sessions-{uuid.uuid4().hex[:8]}/"
    store = EtcdKV(ETCD, namespace)
    yield store
    store.delete("", prefix=True)
    store.close()


class Recorder:
    """Collects watcher callbacks; waits (bounded) for a condition on them."""

    def __init__(self) -> None:
        self.events: list[tuple[str, int]] = []
        self._changed = threading.Condition()

    def joined(self, session: Session) -> None:
        with self._changed:
            self.events.append(("join", session.node_id))
            self._changed.notify_all()

    def left(self, session: Session) -> None:
        with self._changed:
            self.events.append(("leave", session.node_id))
            self._changed.notify_all()

    def wait_for(self, event: tuple[str, int], timeout_s: float = WAIT_S) -> float:
        started = time.monotonic()
        with self._changed:
            assert self._changed.wait_for(lambda: event in self.events, timeout_s), self.events
        return time.monotonic() - started


def test_a_kept_session_is_seen_and_its_stop_is_a_leave(kv: MetaKV) -> None:
    recorder = Recorder()
    watcher = SessionWatcher(kv, "querynode", recorder.joined, recorder.left)
    watcher.start()
    keeper = SessionKeeper(kv, Session("querynode", 7, "127.0.0.1:1234"), ttl_s=2.0)
    try:
        keeper.start()
        recorder.wait_for(("join", 7))
        assert [s.address for s in list_sessions(kv, "querynode")] == ["127.0.0.1:1234"]
        # Refreshed in the background: still there after twice its TTL.
        time.sleep(3.0)
        assert kv.get(session_key("querynode", 7)) is not None
        assert recorder.events == [("join", 7)]
        keeper.stop()
        took = recorder.wait_for(("leave", 7), timeout_s=2.0)  # revoked, not expired
        assert took < 2.0
    finally:
        keeper.stop()
        watcher.stop()


def test_a_session_nobody_refreshes_expires_into_a_leave(kv: MetaKV) -> None:
    recorder = Recorder()
    watcher = SessionWatcher(kv, "datanode", recorder.joined, recorder.left)
    watcher.start()
    try:
        lease = kv.grant_lease(2.0)  # a process that died right after registering
        kv.put(session_key("datanode", 3), Session("datanode", 3, "x:1").to_bytes(), lease)
        recorder.wait_for(("join", 3))
        took = recorder.wait_for(("leave", 3), timeout_s=WAIT_S)
        assert took < WAIT_S
    finally:
        watcher.stop()


def test_sessions_present_before_the_watcher_are_reported_once(kv: MetaKV) -> None:
    keepers = [SessionKeeper(kv, Session("indexnode", i, f"h:{i}"), ttl_s=3.0) for i in (1, 2)]
    for keeper in keepers:
        keeper.start()
    recorder = Recorder()
    watcher = SessionWatcher(kv, "indexnode", recorder.joined, recorder.left)
    try:
        watcher.start()
        # start() reports what exists before returning.
        assert sorted(recorder.events) == [("join", 1), ("join", 2)]
        assert sorted(s.node_id for s in watcher.sessions()) == [1, 2]
        keepers[0].stop()
        recorder.wait_for(("leave", 1))
        time.sleep(0.5)
        assert sorted(recorder.events) == [("join", 1), ("join", 2), ("leave", 1)]
    finally:
        watcher.stop()
        for keeper in keepers:
            keeper.stop()


def test_a_node_id_in_use_is_refused_until_its_holder_goes(kv: MetaKV) -> None:
    first = SessionKeeper(kv, Session("proxy", 5, "a:1"), ttl_s=3.0)
    first.start()
    second = SessionKeeper(kv, Session("proxy", 5, "b:2"), ttl_s=3.0)
    try:
        with pytest.raises(RuntimeError, match="in use"):
            second.start(wait_s=1.0)
        first.stop()
        second.start(wait_s=2.0)
        assert wait_for_session(kv, "proxy", 1.0).address == "b:2"
    finally:
        first.stop()
        second.stop()


def test_a_lease_lost_under_a_running_keeper_is_reported(kv: MetaKV) -> None:
    lost = threading.Event()
    keeper = SessionKeeper(kv, Session("datanode", 9, "a:1"), ttl_s=2.0, on_lost=lost.set)
    keeper.start()
    try:
        assert keeper._lease is not None
        kv.revoke_lease(keeper._lease)  # what an expiry during a long pause looks like
        assert lost.wait(WAIT_S)
    finally:
        keeper.stop()


def test_node_ids_are_unique_across_threads(kv: MetaKV) -> None:
    found: list[int] = []
    lock = threading.Lock()

    def take(count: int) -> None:
        for _ in range(count):
            node_id = allocate_node_id(kv)
            with lock:
                found.append(node_id)

    threads = [threading.Thread(target=take, args=(10,)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(found) == 40
    assert len(set(found)) == 40
    assert min(found) >= 1


def test_wait_for_session_is_bounded(kv: MetaKV) -> None:
    started = time.monotonic()
    with pytest.raises(TimeoutError, match="coordinator"):
        wait_for_session(kv, "coordinator", 0.5)
    assert time.monotonic() - started < 3.0
