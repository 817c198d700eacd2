"""A whole cluster as separate processes on the real etcd, Kafka and MinIO.

``elanus cluster up`` with 2 proxies, 2 querynodes, 2 datanodes and 1 indexnode;
writes through one proxy are found by Strong reads through the other; a
querynode killed with SIGKILL has its shards taken over and searches answer
the same again within a bounded wait; ``cluster down`` stops everything.

This process imports neither pymilvus nor Elanus: the cluster is driven through
the ``elanus`` command and the client runs as ``milvus_client.py`` subprocesses.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
CLIENT = HERE / "milvus_client.py"
UP_TIMEOUT_S = 600.0  # a first infra install downloads and builds
CLIENT_TIMEOUT_S = 120.0
FAILOVER_LIMIT_S = 60.0
ROWS, DIM = 1500, 8

pytestmark = [
    pytest.mark.infra,
    pytest.mark.slow,
    pytest.mark.skipif(
        not os.environ.get("ELANUS_TEST_ETCD"),
        reason="infra not started (ELANUS_TEST_ETCD unset; run via tests/run)",
    ),
]


def elanus_command() -> list[str]:
    configured = os.environ.get("ELANUS_BIN")
    if configured:
        return [configured]
    return [sys.executable, "-m", "elanus.cli"]


def two_free_ports() -> int:
    """A base port P with P and P+1 both free (proxy i listens on P+i)."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = probe.getsockname()[1]
        if base >= 65000:
            continue
        with socket.socket() as second:
            try:
                second.bind(("127.0.0.1", base + 1))
            except OSError:
                continue
        return base
    raise RuntimeError("no two consecutive free ports")


@dataclass
class LocalCluster:
    data_dir: Path
    port: int

    def elanus(self, *args: str, timeout_s: float = 120.0) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*elanus_command(), "--log-level", "WARNING", "cluster", *args],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
            cwd=REPO,
        )

    def up(self) -> float:
        started = time.monotonic()
        done = self.elanus(
            "up",
            "--data-dir", str(self.data_dir),
            "--port", str(self.port),
            "--proxies", "2", "--querynodes", "2", "--datanodes", "2", "--indexnodes", "1",
            timeout_s=UP_TIMEOUT_S,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        return time.monotonic() - started

    def status(self) -> list[dict]:
        done = self.elanus("status", "--data-dir", str(self.data_dir), "--json")
        return json.loads(done.stdout)

    def uri(self, proxy: int) -> str:
        return f"http://127.0.0.1:{self.port + proxy}"

    def client(self, action: str, proxy: int, name: str, *extra: str) -> dict:
        done = subprocess.run(
            [sys.executable, str(CLIENT), action, self.uri(proxy), name, *extra],
            capture_output=True,
            text=True,
            timeout=CLIENT_TIMEOUT_S,
            check=False,
        )
        if done.returncode != 0:
            raise AssertionError(f"client {action} failed:\n{done.stderr[-3000:]}")
        return json.loads(done.stdout)

    def log_tails(self) -> str:
        parts = []
        for path in sorted((self.data_dir / "logs").glob("*.log")):
            lines = path.read_text(errors="replace").splitlines()[-25:]
            parts.append(f"--- {path.name}\n" + "\n".join(lines))
        return "\n".join(parts)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    local = LocalCluster(tmp_path_factory.mktemp("cluster"), two_free_ports())
    try:
        took = local.up()
        print(f"\ncluster up took {took:.1f}s")
        yield local
    finally:
        done = local.elanus("down", "--data-dir", str(local.data_dir), timeout_s=180)
        print(done.stdout, done.stderr)


def search_args(queries: int = 5) -> list[str]:
    return ["--rows", str(ROWS), "--dim", str(DIM), "--queries", str(queries), "--top-k", "3"]


def test_every_process_is_healthy(cluster: LocalCluster) -> None:
    found = cluster.status()
    roles = sorted((p["role"], p["index"]) for p in found)
    assert roles == sorted(
        [("coordinator", 0), ("proxy", 0), ("proxy", 1), ("datanode", 0), ("datanode", 1)]
        + [("querynode", 0), ("querynode", 1), ("indexnode", 0)]
    )
    assert all(p["running"] and p["healthy"] for p in found), found
    assert {p["port"] for p in found if p["role"] == "proxy"} == {cluster.port, cluster.port + 1}


def test_writes_through_one_proxy_are_read_through_the_other(cluster: LocalCluster) -> None:
    written = cluster.client(
        "write", 0, "across", "--rows", str(ROWS), "--dim", str(DIM), "--flush-first", "1000"
    )
    assert written["inserted"] == ROWS
    assert cluster.client("count", 1, "across") == {"count": ROWS}
    found = cluster.client("search", 1, "across", *search_args())
    assert [row[0] for row in found["ids"]] == list(range(5))  # each query finds itself
    assert all(row[0] == 0.0 for row in found["distances"])


def test_a_killed_querynode_is_replaced_and_searches_answer_the_same(
    cluster: LocalCluster,
) -> None:
    cluster.client(
        "write", 0, "failover", "--rows", str(ROWS), "--dim", str(DIM), "--flush-first", "1000"
    )
    before = cluster.client("search", 1, "failover", *search_args(10))
    victim = next(p for p in cluster.status() if p["role"] == "querynode" and p["index"] == 0)
    os.kill(victim["pid"], signal.SIGKILL)  # two shards on two querynodes: it leads one

    started = time.monotonic()
    last_error = ""
    while True:
        try:
            after = cluster.client("search", 1, "failover", *search_args(10))
            if after["ids"] == before["ids"]:
                break
            last_error = f"different results: {after['ids']} != {before['ids']}"
        except AssertionError as error:
            last_error = str(error)[-500:]
        if time.monotonic() - started > FAILOVER_LIMIT_S:
            pytest.fail(
                f"no same answer {FAILOVER_LIMIT_S}s after the kill: {last_error}\n"
                + cluster.log_tails()
            )
        time.sleep(0.5)
    took = time.monotonic() - started
    print(f"\nsearches answered the same {took:.1f}s after kill -9 of querynode-0")
    assert after["distances"] == before["distances"]

    # Running `up` again starts only the missing querynode; it serves new loads.
    others = {(p["role"], p["index"]): p["pid"] for p in cluster.status() if p["running"]}
    cluster.up()
    found = cluster.status()
    assert all(p["healthy"] for p in found), found
    assert {
        (p["role"], p["index"]): p["pid"] for p in found if (p["role"], p["index"]) in others
    } == others
    restarted = next(p for p in found if p["role"] == "querynode" and p["index"] == 0)
    assert restarted["pid"] != victim["pid"]
    assert cluster.client("search", 0, "failover", *search_args(10))["ids"] == before["ids"]


def test_down_stops_every_process(tmp_path: Path, cluster: LocalCluster) -> None:
    pids = [p["pid"] for p in cluster.status()]
    done = cluster.elanus("down", "--data-dir", str(cluster.data_dir), timeout_s=180)
    assert done.returncode == 0, done.stderr
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists() or _is_zombie(pid), pid
    assert all(not p["running"] for p in cluster.status())


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0] == "Z"
    except OSError:
        return True
