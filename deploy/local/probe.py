"""Readiness probes for deploy/local/infra.sh, standard library only.

The infra scripts must work before any virtual environment exists, and a fresh
Debian machine has python3 but not necessarily curl, so one small script
answers "does this server really serve yet?" for all three servers:

    probe.py tcp HOST:PORT          something accepts connections
    probe.py http URL               GET answers 200 (etcd /health, MinIO /minio/health/ready)
    probe.py kafka HOST:PORT        a Kafka Metadata request lists at least one broker

Exit code 0 means ready; anything else means not (yet), with the reason on stderr.
"""

from __future__ import annotations

import socket
import struct
import sys
import urllib.error
import urllib.request

TIMEOUT_S = 3.0

# Kafka Metadata, version 4: the oldest version Kafka 4.x still accepts, and
# one whose request and response start with fixed-width fields (no tagged
# fields), so a few struct calls read it.
METADATA_API_KEY = 3
METADATA_VERSION = 4
CORRELATION_ID = 0x454C4E53  # arbitrary; the broker echoes it back
CLIENT_ID = b"elanus-infra-probe"


def split_address(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host, int(port)


def probe_tcp(address: str) -> None:
    with socket.create_connection(split_address(address), timeout=TIMEOUT_S):
        pass


def probe_http(url: str) -> None:
    with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
        if response.status != 200:
            raise RuntimeError(f"{url} answered HTTP {response.status}")


def metadata_request() -> bytes:
    """A Metadata v4 request for all topics that never auto-creates any."""
    header = struct.pack(
        ">hhih", METADATA_API_KEY, METADATA_VERSION, CORRELATION_ID, len(CLIENT_ID)
    )
    all_topics = struct.pack(">i", -1)  # a null array means every topic
    no_auto_create = struct.pack(">?", False)
    body = header + CLIENT_ID + all_topics + no_auto_create
    return struct.pack(">i", len(body)) + body


def receive_exactly(connection: socket.socket, size: int) -> bytes:
    chunks: list[bytes] = []
    remaining = size
    while remaining > 0:
        chunk = connection.recv(min(remaining, 65536))
        if not chunk:
            raise RuntimeError("the broker closed the connection before answering")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def probe_kafka(address: str) -> None:
    """Ready means the broker answers Metadata and counts itself among the brokers.

    A KRaft broker opens its listener only once it has caught up with the
    metadata log, so an answer with a broker in it means produce and fetch
    requests will be served.
    """
    with socket.create_connection(split_address(address), timeout=TIMEOUT_S) as connection:
        connection.settimeout(TIMEOUT_S)
        connection.sendall(metadata_request())
        (size,) = struct.unpack(">i", receive_exactly(connection, 4))
        # correlation id, throttle time, then the length of the brokers array
        correlation_id, _throttle_ms, broker_count = struct.unpack(
            ">iii", receive_exactly(connection, 12)
        )
        receive_exactly(connection, size - 12)
    if correlation_id != CORRELATION_ID:
        raise RuntimeError(f"unexpected correlation id {correlation_id:#x} in the answer")
    if broker_count < 1:
        raise RuntimeError("the broker answered Metadata but lists no brokers yet")


PROBES = {"tcp": probe_tcp, "http": probe_http, "kafka": probe_kafka}


def main(arguments: list[str]) -> int:
    if len(arguments) != 2 or arguments[0] not in PROBES:
        print(f"usage: probe.py {{{'|'.join(PROBES)}}} TARGET", file=sys.stderr)
        return 2
    kind, target = arguments
    try:
        PROBES[kind](target)
    except (OSError, RuntimeError, ValueError, urllib.error.URLError, struct.error) as error:
        print(f"{kind} {target}: not ready: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
