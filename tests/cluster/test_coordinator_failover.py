"""Coordinator failover on the real etcd, Kafka and MinIO.

``elanus cluster up --coordinators 2``: one coordinator leads, the other stands
by. Rows written and flushed through the proxy, then the active coordinator is
killed with SIGKILL: the standby takes over from the state in etcd once the
leader lease runs out, the proxy and the nodes follow it, and a Strong query
through the same proxy finds every row again within a bounded time (printed).
New DDL, inserts and flushes work through the new coordinator; ``cluster up``
then restarts the killed one, which stands by.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator

import pytest

from tests.cluster.test_cluster import (
    DIM,
    ROWS,
    UP_TIMEOUT_S,
    LocalCluster,
    two_free_ports,
)

TAKEOVER_LIMIT_S = 60.0

pytestmark = [
    pytest.mark.infra,
    pytest.mark.slow,
    pytest.mark.skipif(
        not os.environ.get("ELANUS_TEST_ETCD"),
        reason="infra not started (ELANUS_TEST_ETCD unset; run via tests/run)",
    ),
]


class StandbyCluster(LocalCluster):
    """Two coordinators, one of each other role."""

    def up(self) -> float:
        started = time.monotonic()
        done = self.elanus(
            "up",
            "--data-dir", str(self.data_dir),
            "--port", str(self.port),
            "--coordinators", "2",
            "--proxies", "1", "--querynodes", "1", "--datanodes", "1", "--indexnodes", "1",
            timeout_s=UP_TIMEOUT_S,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        return time.monotonic() - started

    def coordinators(self) -> dict[str, dict]:
        """ "active"/"standby" -> the process's status; fails if not exactly one of each."""
        found = [p for p in self.status() if p["role"] == "coordinator" and p["running"]]
        by_state = {p["state"]: p for p in found}
        assert sorted(by_state) == ["active", "standby"] and len(found) == 2, found
        return by_state


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StandbyCluster]:
    local = StandbyCluster(tmp_path_factory.mktemp("failover"), two_free_ports())
    try:
        print(f"\ncluster up took {local.up():.1f}s")
        yield local
    finally:
        done = local.elanus("down", "--data-dir", str(local.data_dir), timeout_s=180)
        print(done.stdout, done.stderr)


def write(cluster: StandbyCluster, name: str) -> None:
    args = ["--rows", str(ROWS), "--dim", str(DIM), "--flush-first", "1000"]
    assert cluster.client("write", 0, name, *args)["inserted"] == ROWS


def test_one_coordinator_leads_and_the_other_stands_by(cluster: StandbyCluster) -> None:
    found = cluster.status()
    assert all(p["running"] and p["healthy"] for p in found), found
    coordinators = cluster.coordinators()
    assert coordinators["active"]["index"] == 0  # started first, so it leads
    assert "standby" in coordinators["standby"]["detail"]


def test_the_standby_takes_over_after_kill_9_and_nothing_is_lost(
    cluster: StandbyCluster,
) -> None:
    write(cluster, "before")
    assert cluster.client("count", 0, "before") == {"count": ROWS}
    before = cluster.coordinators()
    os.kill(before["active"]["pid"], signal.SIGKILL)

    started = time.monotonic()
    last_error = ""
    while True:
        try:
            if cluster.client("count", 0, "before") == {"count": ROWS}:
                break
            last_error = "a wrong count"
        except AssertionError as error:
            last_error = str(error)[-500:]
        if time.monotonic() - started > TAKEOVER_LIMIT_S:
            pytest.fail(
                f"no Strong query {TAKEOVER_LIMIT_S:.0f}s after the kill: {last_error}\n"
                + cluster.log_tails()
            )
        time.sleep(0.5)
    took = time.monotonic() - started
    print(f"\nStrong queries answered again {took:.1f}s after kill -9 of the active coordinator")

    found = {(p["role"], p["index"]): p for p in cluster.status()}
    survivor = found[("coordinator", before["standby"]["index"])]
    assert survivor["running"] and survivor["state"] == "active", survivor
    assert not found[("coordinator", before["active"]["index"])]["running"]

    # DDL, inserts, a flush and a load through the new coordinator.
    started = time.monotonic()
    write(cluster, "after")
    assert cluster.client("count", 0, "after") == {"count": ROWS}
    took = time.monotonic() - started
    print(f"create, insert, flush, load and count through the new coordinator: {took:.1f}s")
    found_ids = cluster.client("search", 0, "before", "--rows", str(ROWS), "--dim", str(DIM))
    assert [row[0] for row in found_ids["ids"]] == list(range(5))


def test_up_restarts_the_killed_coordinator_as_a_standby(cluster: StandbyCluster) -> None:
    active_before = next(
        p for p in cluster.status() if p["role"] == "coordinator" and p["state"] == "active"
    )
    cluster.up()
    found = cluster.status()
    assert all(p["running"] and p["healthy"] for p in found), found
    coordinators = cluster.coordinators()
    assert coordinators["active"]["pid"] == active_before["pid"]
    assert cluster.client("count", 0, "before") == {"count": ROWS}
