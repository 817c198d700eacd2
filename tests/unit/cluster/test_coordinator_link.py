"""CoordinatorLink: follows the leader key, retries only what is safe, waits bounded."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from elanus import errors
from elanus.cluster.coordinator_link import RETRY_SAFE, CoordinatorLink, never_sent
from elanus.cluster.election import COORDINATOR_LEADER_KEY, Leader
from elanus.kv.embedded import EmbeddedKV
from elanus.rpc import CoordinatorGrpcClient
from elanus.services import CoordinatorApi

REFUSED = "AllocTimestamp to h:1: UNAVAILABLE: failed to connect to all addresses"
CUT_OFF = "CreateCollection to h:1: UNAVAILABLE: Socket closed"


class FakeCoordinator:
    """One coordinator address: answers with its name, or fails while ``down`` says so."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.down = ""  # the transport error text to raise; "" answers
        self.calls: list[str] = []
        self.closed = False

    def _answer(self, method: str) -> str:
        self.calls.append(method)
        if self.down:
            raise errors.ServiceUnavailable(self.down)
        return self.address

    def alloc_timestamp(self, count: int = 1) -> str:
        return self._answer("alloc_timestamp")

    def create_collection(self, *args: Any) -> str:
        return self._answer("create_collection")

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def kv(tmp_path: Path) -> Iterator[EmbeddedKV]:
    store = EmbeddedKV(tmp_path / "kv.sqlite", poll_interval_s=0.02)
    yield store
    store.close()


@pytest.fixture
def coordinators() -> dict[str, FakeCoordinator]:
    return {}


@pytest.fixture
def link(kv: EmbeddedKV, coordinators: dict[str, FakeCoordinator]) -> Iterator[CoordinatorLink]:
    def connect(address: str) -> FakeCoordinator:
        return coordinators.setdefault(address, FakeCoordinator(address))

    made = CoordinatorLink(kv, connect, failover_wait_s=1.5)
    yield made
    made.close()


def lead(kv: EmbeddedKV, node_id: int, address: str, serving: bool = True) -> None:
    kv.put(COORDINATOR_LEADER_KEY, Leader(node_id, address, serving).to_bytes())


def later(seconds: float, action: Any) -> threading.Timer:
    timer = threading.Timer(seconds, action)
    timer.start()
    return timer


def test_calls_reach_the_serving_leader_and_follow_a_change(
    kv: EmbeddedKV, link: CoordinatorLink
) -> None:
    lead(kv, 1, "a:1")
    link.start(wait_s=2.0)
    assert link.alloc_timestamp() == "a:1"
    lead(kv, 2, "b:2")
    deadline = time.monotonic() + 3.0
    while link.address != "b:2" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert link.alloc_timestamp() == "b:2"


def test_a_leader_not_serving_yet_is_not_followed(kv: EmbeddedKV, link: CoordinatorLink) -> None:
    lead(kv, 1, "a:1", serving=False)
    with pytest.raises(TimeoutError):
        link.start(wait_s=0.5)
    later(0.3, lambda: lead(kv, 1, "a:1"))
    link.start(wait_s=3.0)
    assert link.alloc_timestamp() == "a:1"


def test_a_safe_call_waits_for_the_standby_to_take_over(
    kv: EmbeddedKV, link: CoordinatorLink, coordinators: dict[str, FakeCoordinator]
) -> None:
    lead(kv, 1, "a:1")
    link.start(wait_s=2.0)
    coordinators["a:1"].down = "AllocTimestamp to a:1: UNAVAILABLE: Socket closed"
    later(0.2, lambda: kv.delete(COORDINATOR_LEADER_KEY))  # the old lease ran out
    later(0.6, lambda: lead(kv, 2, "b:2"))  # the standby serves
    started = time.monotonic()
    assert link.alloc_timestamp() == "b:2"
    assert time.monotonic() - started < 1.5


def test_an_unsafe_call_cut_off_in_flight_is_not_sent_again(
    kv: EmbeddedKV, link: CoordinatorLink, coordinators: dict[str, FakeCoordinator]
) -> None:
    lead(kv, 1, "a:1")
    link.start(wait_s=2.0)
    lead(kv, 2, "b:2")  # the standby is ready, but the request may have been applied by a:1
    coordinators["a:1"].down = CUT_OFF
    link._point_at(Leader(1, "a:1", True))  # the link has not seen the change yet
    with pytest.raises(errors.ServiceUnavailable):
        link.create_collection("db", "schema")
    assert coordinators["a:1"].calls == ["create_collection"]
    assert "b:2" not in coordinators or coordinators["b:2"].calls == []


def test_an_unsafe_call_that_never_connected_goes_to_the_new_leader(
    kv: EmbeddedKV, link: CoordinatorLink, coordinators: dict[str, FakeCoordinator]
) -> None:
    lead(kv, 1, "a:1")
    link.start(wait_s=2.0)
    coordinators["a:1"].down = REFUSED
    later(0.3, lambda: lead(kv, 2, "b:2"))
    assert link.create_collection("db", "schema") == "b:2"


def test_a_call_fails_after_the_bounded_wait_when_no_coordinator_comes(
    kv: EmbeddedKV, link: CoordinatorLink, coordinators: dict[str, FakeCoordinator]
) -> None:
    lead(kv, 1, "a:1")
    link.start(wait_s=2.0)
    coordinators["a:1"].down = REFUSED
    kv.delete(COORDINATOR_LEADER_KEY)
    started = time.monotonic()
    with pytest.raises(errors.ServiceUnavailable, match="no coordinator is active|UNAVAILABLE"):
        link.alloc_timestamp()
    assert 1.4 < time.monotonic() - started < 3.0


def test_retired_clients_are_closed_on_close(
    kv: EmbeddedKV, link: CoordinatorLink, coordinators: dict[str, FakeCoordinator]
) -> None:
    lead(kv, 1, "a:1")
    link.start(wait_s=2.0)
    link._point_at(Leader(2, "b:2", True))
    link.close()
    assert coordinators["a:1"].closed and coordinators["b:2"].closed


def test_the_transport_error_of_a_refused_connection_is_recognised() -> None:
    client = CoordinatorGrpcClient("127.0.0.1:1", timeout_s=2.0)
    try:
        with pytest.raises(errors.ServiceUnavailable) as caught:
            client.alloc_timestamp()
    finally:
        client.close()
    assert never_sent(caught.value)
    assert not never_sent(errors.ServiceUnavailable(CUT_OFF))


def test_every_retried_call_is_a_coordinator_call() -> None:
    declared = {name for name in dir(CoordinatorApi) if not name.startswith("_")}
    assert declared >= RETRY_SAFE
    assert {"create_collection", "drop_collection", "create_index"}.isdisjoint(RETRY_SAFE)
