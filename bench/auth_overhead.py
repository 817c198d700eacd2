"""What authentication costs a search: single-query latency through pymilvus against
two `elanus standalone` servers, one with ``security.authorization_enabled`` and one
without, side by side in one run (issue 15's target: under 5%).

    .venv/bin/python -m bench.auth_overhead [--rows N] [--rounds R] [--per-round K]

Both servers hold the same rows and HNSW index. The searches alternate between
them in rounds, so a change in the machine's load falls on both alike; the
authenticated client connects as a user that is not root and holds only the
built-in ``CollectionReadOnly`` group on the collection, so every search walks the
whole check (credential cache, access version, grant lookup). Only pymilvus and
numpy are imported: pymilvus's protos and ours cannot share a process.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pymilvus import DataType, MilvusClient

REPO = Path(__file__).resolve().parents[1]
DIM = 128
ROOT_TOKEN = "root:Milvus"
READER, READER_PASSWORD = "bench_reader", "bench-reader-pw"
START_TIMEOUT_S = 90.0


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    workdir: Path
    uri: str
    token: str  # what the measured client sends ("" for none)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self.workdir, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(name: str, auth: bool) -> Server:
    workdir = Path(tempfile.mkdtemp(prefix=f"elanus-auth-bench-{name}-"))
    port = _free_port()
    env = dict(os.environ, ELANUS_SECURITY_AUTHORIZATION_ENABLED="true" if auth else "false")
    env["ELANUS_PROXY_HTTP_PORT"] = str(_free_port())
    command = [sys.executable, "-m", "elanus.cli", "standalone", "--data-dir", str(workdir)]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    log = (workdir / "server.log").open("wb")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=REPO)
    server = Server(name, process, workdir, f"http://127.0.0.1:{port}", "")
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited: {(workdir / 'server.log').read_text()[-2000:]}")
        try:
            MilvusClient(server.uri, token=ROOT_TOKEN if auth else "", timeout=2).close()
            return server
        except Exception:  # not listening yet
            time.sleep(0.3)
    server.stop()
    raise RuntimeError(f"{name} did not answer within {START_TIMEOUT_S}s")


def _prepare(server: Server, auth: bool, vectors: np.ndarray) -> None:
    admin = MilvusClient(server.uri, token=ROOT_TOKEN if auth else "")
    schema = admin.create_schema(auto_id=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=DIM)
    index = admin.prepare_index_params()
    index.add_index("vec", index_type="HNSW", metric_type="L2", params={"M": 16})
    admin.create_collection("bench", schema=schema, index_params=index)
    for start in range(0, len(vectors), 5_000):
        chunk = vectors[start : start + 5_000]
        rows = [{"id": start + i, "vec": v.tolist()} for i, v in enumerate(chunk)]
        admin.insert("bench", rows)
    admin.flush("bench")
    admin.load_collection("bench")
    if auth:
        admin.create_user(READER, READER_PASSWORD)
        admin.create_role("bench_read")
        admin.grant_privilege_v2("bench_read", "CollectionReadOnly", "bench", db_name="default")
        admin.grant_role(READER, "bench_read")
        server.token = f"{READER}:{READER_PASSWORD}"
    admin.close()


def _round(client: MilvusClient, queries: np.ndarray) -> list[float]:
    took = []
    for query in queries:
        started = time.perf_counter()
        client.search("bench", [query.tolist()], limit=10, search_params={"params": {"ef": 32}})
        took.append((time.perf_counter() - started) * 1000)
    return took


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--per-round", type=int, default=200)
    args = parser.parse_args()
    rng = np.random.default_rng(11)
    vectors = rng.random((args.rows, DIM), dtype=np.float32)
    servers = [_start("auth-off", auth=False), _start("auth-on", auth=True)]
    try:
        for server in servers:
            _prepare(server, server.name == "auth-on", vectors)
        clients = [MilvusClient(s.uri, token=s.token) for s in servers]
        warm = rng.random((100, DIM), dtype=np.float32)
        for client in clients:
            _round(client, warm)  # caches, connections, the verified credential
        took: dict[str, list[float]] = {s.name: [] for s in servers}
        for _ in range(args.rounds):
            queries = rng.random((args.per_round, DIM), dtype=np.float32)
            for server, client in zip(servers, clients, strict=True):
                took[server.name] += _round(client, queries)
        print(f"{'server':<9} {'searches':>8} {'p50 ms':>7} {'mean ms':>8} {'p99 ms':>7}")
        for name, values in took.items():
            p99 = float(np.percentile(values, 99))
            print(
                f"{name:<9} {len(values):>8} {statistics.median(values):>7.3f} "
                f"{statistics.fmean(values):>8.3f} {p99:>7.3f}"
            )
        off, on = (statistics.median(took[s.name]) for s in servers)
        print(f"auth overhead at p50: {100 * (on - off) / off:+.1f}%")
        for client in clients:
            client.close()
    finally:
        for server in servers:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
