"""A handle on one `elanus standalone` subprocess, for the compatibility suite.

The suite drives the server only from outside, the way a user would: start the
command, wait until pymilvus can talk to it, stop it politely or kill it with
SIGKILL. Nothing here imports Elanus itself, so the same code runs under any
pymilvus version, including the 2.5.x client venv that has no Elanus installed.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

STARTUP_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0
LOG_TAIL_LINES = 200


def elanus_command() -> list[str]:
    """The server executable: $ELANUS_BIN, else the repo's .venv, else PATH."""
    configured = os.environ.get("ELANUS_BIN")
    if configured:
        return [configured]
    repo_venv_bin = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "elanus"
    if repo_venv_bin.exists():
        return [str(repo_venv_bin)]
    found = shutil.which("elanus")
    if found:
        return [found]
    raise RuntimeError("no elanus executable: set ELANUS_BIN or install the project in .venv")


def free_port() -> int:
    """A port nobody listens on right now (the OS picks it, we release it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def port_accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@dataclass
class ElanusServer:
    """One `elanus standalone` process bound to a data dir and a port.

    `start()` can be called again after `kill()` or `stop()`: the durability
    tests restart the server on the same directory and port. `env` adds to the
    inherited environment, e.g. ``ELANUS_<SECTION>_<KEY>`` config overrides.
    """

    data_dir: Path
    port: int
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)
    # Called with the uri until it returns without raising; the default lists
    # collections with pymilvus (imported only then, so other clients can use this).
    ready_probe: Callable[[str], None] | None = field(default=None, repr=False)
    process: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Launch the server and block until a pymilvus client can connect."""
        if self.process is not None and self.process.poll() is None:
            raise RuntimeError("server already running")
        command = elanus_command() + [
            "standalone",
            "--host",
            "127.0.0.1",  # tests listen on loopback only
            "--data-dir",
            str(self.data_dir),
            "--port",
            str(self.port),
        ]
        with self.log_path.open("ab") as log:
            log.write(f"\n=== starting: {' '.join(command)}\n".encode())
            log.flush()
            # Own process group: a kill reaches the server and anything it spawned.
            self.process = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                env={**os.environ, **self.env},
            )
        self._wait_until_ready()

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        last_error = "port never accepted a connection"
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"elanus exited with code {self.process.returncode} during startup\n"
                    + self.log_tail()
                )
            if port_accepts(self.port):
                try:
                    (self.ready_probe or _pymilvus_probe)(self.uri)
                    return
                except Exception as error:  # any failure means "not yet"
                    last_error = f"{type(error).__name__}: {error}"
            time.sleep(0.2)
        self.kill()
        raise RuntimeError(
            f"elanus not ready within {STARTUP_TIMEOUT_S:.0f}s ({last_error})\n" + self.log_tail()
        )

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it has not exited within STOP_TIMEOUT_S."""
        if self.process is None or self.process.poll() is not None:
            return
        self._signal_group(signal.SIGTERM)
        try:
            self.process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """kill -9: no chance to flush or close anything."""
        if self.process is None or self.process.poll() is not None:
            return
        self._signal_group(signal.SIGKILL)
        self.process.wait(timeout=STOP_TIMEOUT_S)

    def _signal_group(self, signum: int) -> None:
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signum)

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no server log)"
        tail = text.splitlines()[-lines:]
        return f"--- elanus log tail ({self.log_path}) ---\n" + "\n".join(tail)


def _pymilvus_probe(uri: str) -> None:
    from pymilvus import MilvusClient

    client = MilvusClient(uri=uri, timeout=5)
    client.list_collections()
    client.close()


CLUSTER_UP_TIMEOUT_S = 900.0  # a first run installs etcd, Kafka and MinIO


@dataclass
class ElanusCluster:
    """A whole local cluster from ``elanus cluster up``: etcd, Kafka, MinIO and every
    role as its own process; proxy i listens on ``port + i``.

    `env` adds to the environment of ``cluster up``, which every role inherits:
    ``ELANUS_<SECTION>_<KEY>`` config overrides, ``ELANUS_INFRA_*_PORT``.
    """

    data_dir: Path
    port: int
    proxies: int = 2
    querynodes: int = 2
    datanodes: int = 2
    indexnodes: int = 1
    env: dict[str, str] = field(default_factory=dict)

    def uri(self, proxy: int = 0) -> str:
        return f"http://127.0.0.1:{self.port + proxy}"

    def start(self) -> None:
        done = self._cluster(
            "up",
            "--port",
            str(self.port),
            "--proxies",
            str(self.proxies),
            "--querynodes",
            str(self.querynodes),
            "--datanodes",
            str(self.datanodes),
            "--indexnodes",
            str(self.indexnodes),
            timeout_s=CLUSTER_UP_TIMEOUT_S,
        )
        if done.returncode != 0:
            self.stop()
            raise RuntimeError(f"elanus cluster up failed:\n{done.stdout}{done.stderr}")

    def stop(self) -> None:
        self._cluster("down", timeout_s=180.0)

    def ports_of(self, role: str) -> set[int]:
        """The ports of the role's running processes, as ``cluster status`` reports them."""
        done = self._cluster("status", "--json", timeout_s=60.0)
        return {p["port"] for p in json.loads(done.stdout) if p["role"] == role and p["running"]}

    def _cluster(self, action: str, *args: str, timeout_s: float) -> subprocess.CompletedProcess:
        command = elanus_command() + ["cluster", action, "--data-dir", str(self.data_dir), *args]
        return subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
            env={**os.environ, **self.env},
        )

    def log_tail(self, lines: int = 30) -> str:
        parts = []
        for path in sorted((self.data_dir / "logs").glob("*.log")):
            tail = path.read_text(errors="replace").splitlines()[-lines:]
            parts.append(f"--- {path.name} ---\n" + "\n".join(tail))
        return "\n".join(parts) or "(no cluster logs)"


def consecutive_free_ports(count: int) -> int:
    """A base port P such that P .. P+count-1 are free now."""
    for _ in range(100):
        base = free_port()
        if base + count > 65535:
            continue
        held = []
        try:
            for port in range(base, base + count):
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                held.append(sock)
                sock.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for sock in held:
                sock.close()
    raise RuntimeError(f"no {count} consecutive free ports")
