"""Every role's HTTP port: /healthz (200 only while serving), /livez and Prometheus /metrics.

Standalone runs as an ``elanus standalone`` process driven by the pymilvus
client subprocess of the cluster tests, so the metrics are checked after real
traffic. ``elanus run <role>`` is checked for every role when tests/run has
started etcd, Kafka and MinIO.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from elanus.http import Health, RoleHttpServer
from elanus.launcher import ROLES

REPO = Path(__file__).resolve().parents[3]
CLIENT = REPO / "tests" / "cluster" / "milvus_client.py"
START_TIMEOUT_S = 60.0
ROWS, DIM = 300, 8


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def get(url: str) -> tuple[int, str, bytes]:
    """(status, content type, body), also for 4xx/5xx answers."""
    try:
        with urllib.request.urlopen(url, timeout=5) as reply:
            return reply.status, reply.headers["Content-Type"], reply.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read()


def samples(metrics_text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(metrics_text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def wait_healthy(url: str, process: subprocess.Popen[bytes], what: str) -> dict:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{what} exited with {process.returncode}")
        try:
            status, _, body = get(url)
            if status == 200:
                return json.loads(body)
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{what}: {url} not healthy within {START_TIMEOUT_S}s")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def elanus(*args: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "elanus.cli", *args],
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=REPO,
        )


def test_health_is_503_until_serving_and_unknown_paths_are_404() -> None:
    health = Health("querynode", 7)
    server = RoleHttpServer(health, "127.0.0.1", 0)
    server.start()
    try:
        base = f"http://127.0.0.1:{server.port}"
        status, kind, body = get(f"{base}/healthz")
        assert (status, kind) == (503, "application/json")
        assert json.loads(body) == {"role": "querynode", "node_id": 7, "state": "starting"}
        health.state = "serving"
        assert get(f"{base}/healthz")[0] == 200
        assert get(f"{base}/nothing")[0] == 404
        # Liveness: a standby is alive though not ready; only a lost session is not.
        health.state = "standby"
        assert (get(f"{base}/healthz")[0], get(f"{base}/livez")[0]) == (503, 200)
        health.state = "lost"
        assert get(f"{base}/livez")[0] == 503
        status, kind, body = get(f"{base}/metrics")
        assert status == 200 and kind.startswith("text/plain")
        assert "elanus_rows_inserted_total" in samples(body.decode()).__repr__()
    finally:
        server.stop()
    assert health.state == "stopping"


@pytest.fixture
def standalone(tmp_path: Path) -> Iterator[tuple[int, int]]:
    grpc_port, http_port = free_port(), free_port()
    process = elanus(
        "standalone",
        "--data-dir",
        str(tmp_path / "data"),
        "--host",
        "127.0.0.1",
        "--port",
        str(grpc_port),
        env={"ELANUS_PROXY_HTTP_PORT": str(http_port)},
        log=tmp_path / "standalone.log",
    )
    try:
        wait_healthy(f"http://127.0.0.1:{http_port}/healthz", process, "standalone")
        yield grpc_port, http_port
    finally:
        stop(process)


@pytest.mark.slow
def test_standalone_serves_health_and_counts_real_traffic(standalone: tuple[int, int]) -> None:
    grpc_port, http_port = standalone
    status, _, body = get(f"http://127.0.0.1:{http_port}/healthz")
    assert status == 200
    assert json.loads(body) == {"role": "standalone", "node_id": 1, "state": "serving"}

    uri = f"http://127.0.0.1:{grpc_port}"
    for action, extra in (
        ("write", ["--rows", str(ROWS), "--dim", str(DIM), "--flush-first", "100"]),
        ("search", ["--rows", str(ROWS), "--dim", str(DIM), "--queries", "3", "--top-k", "5"]),
    ):
        subprocess.run(
            [sys.executable, str(CLIENT), action, uri, "metrics_demo", *extra],
            check=True,
            capture_output=True,
            timeout=120,
        )

    status, _, body = get(f"http://127.0.0.1:{http_port}/metrics")
    assert status == 200
    found = samples(body.decode())
    assert found[("elanus_rows_inserted_total", ())] == ROWS
    assert found[("elanus_searches_total", ())] >= 1
    inserts = found[("elanus_proxy_requests_total", (("operation", "Insert"), ("outcome", "ok")))]
    assert inserts >= 1
    assert found[("elanus_proxy_request_seconds_count", (("operation", "Search"),))] >= 1
    # The client's write flushes: the datanode reported each flushed segment.
    assert found[("elanus_segments_flushed_total", ())] >= 1


INFRA = {
    "ELANUS_ETCD_ENDPOINT": os.environ.get("ELANUS_TEST_ETCD", ""),
    "ELANUS_KAFKA_BOOTSTRAP": os.environ.get("ELANUS_TEST_KAFKA", ""),
    "ELANUS_MINIO_ENDPOINT": os.environ.get("ELANUS_TEST_MINIO", ""),
    "ELANUS_MINIO_ACCESS_KEY": os.environ.get("ELANUS_TEST_MINIO_ACCESS_KEY", ""),
    "ELANUS_MINIO_SECRET_KEY": os.environ.get("ELANUS_TEST_MINIO_SECRET_KEY", ""),
}


@pytest.mark.infra
@pytest.mark.slow
@pytest.mark.skipif(not INFRA["ELANUS_ETCD_ENDPOINT"], reason="infra not started (tests/run)")
def test_every_role_of_elanus_run_serves_health_and_metrics(tmp_path: Path) -> None:
    prefix = f"elanus-http-{os.getpid()}-{time.monotonic_ns()}/"
    env = {
        **INFRA,
        "ELANUS_ETCD_PREFIX": prefix,
        "ELANUS_KAFKA_TOPIC_PREFIX": prefix.replace("/", "-"),
        "ELANUS_MINIO_PREFIX": prefix,
    }
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for role in ROLES:  # the coordinator first: the others wait for its session
            http_port = free_port()
            role_env = {**env, f"ELANUS_{role.upper()}_HTTP_PORT": str(http_port)}
            args = ["run", role]
            if role == "proxy":
                args += ["--port", str(free_port())]
            process = elanus(*args, env=role_env, log=tmp_path / f"{role}.log")
            processes.append(process)
            url = f"http://127.0.0.1:{http_port}/healthz"
            reply = wait_healthy(url, process, f"elanus run {role}")
            assert reply["role"] == role and reply["state"] == "serving"
            assert isinstance(reply["node_id"], int)
            status, _, body = get(f"http://127.0.0.1:{http_port}/metrics")
            assert status == 200 and b"elanus_proxy_requests" in body
    finally:
        for process in reversed(processes):
            stop(process)
