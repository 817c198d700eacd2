"""Two ``elanus run coordinator`` compositions in one process, on the embedded adapters.

The real `_run_coordinator` and `RoleProcess.coordinator_client` run here; only
the adapters are the embedded ones (shared by both coordinators, as etcd, Kafka
and MinIO would be), so the standby's wait, its takeover from the KV state and
a client following it across the takeover are tested in seconds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from elanus.cluster.election import read_leader
from elanus.cluster.sessions import allocate_node_id
from elanus.config import Config
from elanus.kv.embedded import EmbeddedKV
from elanus.launcher import RoleProcess, StartInterrupted
from elanus.storage.local_dir import LocalDirStore
from elanus.stream.embedded_log import EmbeddedLog

TTL_S = 1.0
WAIT_S = 20.0


@dataclass
class Adapters:
    kv: EmbeddedKV
    stream: EmbeddedLog
    storage: LocalDirStore


@dataclass
class EmbeddedRoleProcess(RoleProcess):
    """A RoleProcess whose adapters are shared embedded ones instead of etcd/Kafka/MinIO."""

    adapters: Any = None

    def kv(self) -> Any:
        if self.node_id is None:
            self.node_id = allocate_node_id(self.adapters.kv)
        return self.adapters.kv

    def stream(self) -> Any:
        return self.adapters.stream

    def storage(self) -> Any:
        return self.adapters.storage


@pytest.fixture
def adapters(tmp_path: Path) -> Iterator[Adapters]:
    shared = Adapters(
        EmbeddedKV(tmp_path / "kv.sqlite", poll_interval_s=0.02),
        EmbeddedLog(tmp_path / "log"),
        LocalDirStore(tmp_path / "objects"),
    )
    yield shared
    shared.stream.close()
    shared.kv.close()


def coordinator(adapters: Adapters) -> EmbeddedRoleProcess:
    config = Config()
    config.etcd.session_ttl_s = TTL_S
    return EmbeddedRoleProcess("coordinator", config, port=0, adapters=adapters)


def start_in_background(process: RoleProcess) -> tuple[threading.Thread, list[BaseException]]:
    failures: list[BaseException] = []

    def run() -> None:
        try:
            process.start()
        except BaseException as error:
            failures.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, failures


def wait_until(condition: Any, what: str, timeout_s: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_the_standby_takes_over_and_clients_follow(adapters: Adapters) -> None:
    active = coordinator(adapters)
    active.start()
    standby = coordinator(adapters)
    node = RoleProcess("datanode", Config())
    try:
        leader = read_leader(adapters.kv)
        assert leader is not None and leader.serving and leader.address == active.address
        assert active.health.state == "serving"
        thread, failures = start_in_background(standby)
        wait_until(lambda: standby.health.state == "standby", "the standby")
        assert read_leader(adapters.kv) == leader

        link = node.coordinator_client(adapters.kv)
        before = link.alloc_timestamp()
        assert link.address == active.address

        active.stop()  # resigns: the standby need not wait for the lease to run out
        thread.join(WAIT_S)
        assert not thread.is_alive() and failures == []
        assert standby.health.state == "serving"
        after = link.alloc_timestamp()  # across the takeover; the TSO never goes back
        assert after > before
        assert link.address == standby.address != active.address
    finally:
        node.stop()
        standby.stop()
        active.stop()


def test_a_standby_asked_to_stop_ends_its_wait(adapters: Adapters) -> None:
    active = coordinator(adapters)
    active.start()
    standby = coordinator(adapters)
    try:
        thread, failures = start_in_background(standby)
        wait_until(lambda: standby.health.state == "standby", "the standby")
        standby.stopping.set()
        thread.join(5.0)
        assert not thread.is_alive()
        assert len(failures) == 1 and isinstance(failures[0], StartInterrupted)
        assert (current := read_leader(adapters.kv)) is not None
        assert current.address == active.address
    finally:
        standby.stop()
        active.stop()


def test_an_active_coordinator_that_loses_its_lease_reports_it(adapters: Adapters) -> None:
    active = coordinator(adapters)
    active.start()
    try:
        leader_lease = adapters.kv.get("cluster/coordinator-leader")
        assert leader_lease is not None
        adapters.kv.delete("cluster/coordinator-leader")  # as if another process took it
        assert active.lost.wait(TTL_S * 3)
        assert active.health.state == "lost"
    finally:
        active.stop()
