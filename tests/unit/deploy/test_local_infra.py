"""deploy/local: the servers `infra.sh up` starts answer real client traffic.

The infra tests run when tests/run has started etcd, Kafka and MinIO and
exported ELANUS_TEST_*; the others check infra.sh's and probe.py's own
behaviour without any server.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
INFRA_SCRIPT = REPO / "deploy" / "local" / "infra.sh"
PROBE_SCRIPT = REPO / "deploy" / "local" / "probe.py"

ETCD = os.environ.get("ELANUS_TEST_ETCD", "")
KAFKA = os.environ.get("ELANUS_TEST_KAFKA", "")
MINIO = os.environ.get("ELANUS_TEST_MINIO", "")
MINIO_ACCESS_KEY = os.environ.get("ELANUS_TEST_MINIO_ACCESS_KEY", "")
MINIO_SECRET_KEY = os.environ.get("ELANUS_TEST_MINIO_SECRET_KEY", "")
NOT_STARTED = "infra not started (run via tests/run)"

needs_etcd = pytest.mark.skipif(not ETCD, reason=NOT_STARTED)
needs_kafka = pytest.mark.skipif(not KAFKA, reason=NOT_STARTED)
needs_minio = pytest.mark.skipif(not MINIO, reason=NOT_STARTED)


def unique_name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def host_and_port(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host, int(port)


# ---------------------------------------------------------------- the servers


@pytest.mark.infra
@needs_etcd
def test_etcd_put_get_delete() -> None:
    import etcd3

    host, port = host_and_port(ETCD)
    client = etcd3.client(host=host, port=port, timeout=10)
    key = f"/elanus-infra-test/{unique_name('key')}"
    try:
        client.put(key, b"value")
        value, _meta = client.get(key)
        assert value == b"value"
        assert client.delete(key)
        value, _meta = client.get(key)
        assert value is None
    finally:
        client.delete(key)
        client.close()


@pytest.mark.infra
@needs_kafka
def test_kafka_produce_then_consume() -> None:
    from kafka import KafkaConsumer, KafkaProducer

    topic = unique_name("elanus-infra-test")
    payload = uuid.uuid4().bytes
    producer = KafkaProducer(bootstrap_servers=KAFKA, acks="all", request_timeout_ms=20_000)
    try:
        # The topic is created on first use (auto.create.topics.enable).
        metadata = producer.send(topic, payload).get(timeout=30)
        assert metadata.topic == topic and metadata.offset == 0
    finally:
        producer.close(timeout=10)

    consumer = KafkaConsumer(
        topic, bootstrap_servers=KAFKA, auto_offset_reset="earliest", enable_auto_commit=False
    )
    received: list[bytes] = []
    deadline = time.monotonic() + 30
    try:
        while not received and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=1000).values():
                received.extend(record.value for record in records)
    finally:
        consumer.close()
    assert received == [payload]


@pytest.mark.infra
@needs_minio
def test_minio_put_get_object() -> None:
    import io

    from minio import Minio

    client = Minio(MINIO, access_key=MINIO_ACCESS_KEY, secret_key=MINIO_SECRET_KEY, secure=False)
    bucket = unique_name("elanus-infra-test")
    body = os.urandom(4096)
    client.make_bucket(bucket)
    try:
        client.put_object(bucket, "dir/object.bin", io.BytesIO(body), length=len(body))
        response = client.get_object(bucket, "dir/object.bin")
        try:
            assert response.read() == body
        finally:
            response.close()
            response.release_conn()
    finally:
        for item in client.list_objects(bucket, recursive=True):
            client.remove_object(bucket, item.object_name)
        client.remove_bucket(bucket)
    assert not client.bucket_exists(bucket)


def listening_addresses(port: int) -> set[str]:
    """Local addresses (hex, as in /proc/net/tcp*) with a listening socket on PORT."""
    listen_state = "0A"
    found: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        lines = Path(table).read_text().splitlines()[1:]
        for line in lines:
            fields = line.split()
            address, port_hex = fields[1].split(":")
            if fields[3] == listen_state and int(port_hex, 16) == port:
                found.add(address)
    return found


# MinIO adds a listener on every loopback address ([::1] too), whatever
# --address says; loopback is all that matters here.
LOOPBACK_HEX = {
    "0100007F",  # 127.0.0.1
    "0000000000000000FFFF00000100007F",  # ::ffff:127.0.0.1
    "00000000000000000000000001000000",  # ::1
}


@pytest.mark.infra
@pytest.mark.skipif(not (ETCD and KAFKA and MINIO), reason=NOT_STARTED)
@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux's /proc/net/tcp")
def test_servers_listen_on_loopback_only() -> None:
    for address in (ETCD, KAFKA, MINIO):
        host, port = host_and_port(address)
        assert host == "127.0.0.1"
        addresses = listening_addresses(port)
        assert addresses, f"nothing listens on {address}"
        assert addresses <= LOOPBACK_HEX, f"{address} also listens on {addresses - LOOPBACK_HEX}"


@pytest.mark.infra
@needs_kafka
def test_probe_reads_kafka_metadata() -> None:
    result = subprocess.run(
        [sys.executable, str(PROBE_SCRIPT), "kafka", KAFKA],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr


# ---------------------------------------------------------------- without servers


def run_infra(*arguments: str, timeout_s: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(INFRA_SCRIPT), *arguments],
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )


@pytest.fixture
def empty_data_dir(tmp_path: Path) -> Path:
    return tmp_path / "infra"


def test_status_of_an_unused_data_dir_reports_every_server_stopped(empty_data_dir: Path) -> None:
    result = run_infra("status", "--dir", str(empty_data_dir))
    assert result.returncode == 1
    assert result.stdout.split() == ["etcd", "stopped", "kafka", "stopped", "minio", "stopped"]


def test_env_refuses_servers_that_are_not_running(empty_data_dir: Path) -> None:
    result = run_infra("env", "minio", "--dir", str(empty_data_dir))
    assert result.returncode == 1
    assert result.stdout == ""
    assert "minio is not running" in result.stderr


def test_down_of_an_unused_data_dir_is_a_no_op(empty_data_dir: Path) -> None:
    result = run_infra("down", "--dir", str(empty_data_dir))
    assert result.returncode == 0, result.stderr
    assert not empty_data_dir.exists()


def test_unknown_server_and_command_are_refused(empty_data_dir: Path) -> None:
    unknown_server = run_infra("up", "zookeeper", "--dir", str(empty_data_dir))
    assert unknown_server.returncode == 1
    assert "unknown argument 'zookeeper'" in unknown_server.stderr
    unknown_command = run_infra("restart")
    assert unknown_command.returncode == 2
    assert "infra.sh install" in unknown_command.stderr


def unused_port() -> int:
    with socket.socket() as probe_socket:
        probe_socket.bind(("127.0.0.1", 0))
        return probe_socket.getsockname()[1]


def test_probe_fails_fast_when_nothing_listens() -> None:
    port = unused_port()
    started = time.monotonic()
    for kind, target in (
        ("tcp", f"127.0.0.1:{port}"),
        ("kafka", f"127.0.0.1:{port}"),
        ("http", f"http://127.0.0.1:{port}/health"),
    ):
        result = subprocess.run(
            [sys.executable, str(PROBE_SCRIPT), kind, target],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert result.returncode == 1, (kind, result.stderr)
        assert "not ready" in result.stderr
    assert time.monotonic() - started < 20


def test_probe_kafka_rejects_a_server_that_is_not_kafka() -> None:
    """A listener that closes without a Metadata answer is not a ready broker."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        probe = subprocess.Popen(
            [sys.executable, str(PROBE_SCRIPT), "kafka", f"127.0.0.1:{port}"],
            stderr=subprocess.PIPE,
            text=True,
        )
        server.settimeout(10)
        connection, _ = server.accept()
        connection.settimeout(10)
        assert connection.recv(4096)  # the Metadata request, left unanswered
        connection.close()
        _, stderr = probe.communicate(timeout=30)
    assert probe.returncode == 1
    assert "closed the connection" in stderr
