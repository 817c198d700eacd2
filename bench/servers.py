"""Server processes under test: Elanus standalone and Milvus Lite, each a
subprocess on a free loopback port, so the harness process holds only the
client and its memory numbers are the server's own.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from pymilvus import MilvusClient

REPO_ROOT = Path(__file__).resolve().parent.parent
CACHE_DIR = REPO_ROOT / "bench" / ".cache"
ELANUS_PYTHON = Path(os.environ.get("ELANUS_PYTHON", REPO_ROOT / ".venv" / "bin" / "python"))
STARTUP_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 20.0


class ServerHandle(Protocol):
    """What the harness needs of a running server: standalone and Milvus Lite
    (:class:`Server`) or the cluster (:class:`bench.cluster.ClusterServer`)."""

    system: str
    uri: str
    workdir: Path
    timing_file: Path | None
    profile_file: Path | None

    def memory_kib(self) -> dict[str, int]: ...
    def role_memory_kib(self) -> dict[str, dict[str, int]]: ...
    def timing_offset(self) -> int: ...
    def timings_since(self, offset: int, rpc: str) -> tuple[list[tuple[float, float]], int]: ...
    def stop(self, keep_files: bool = False) -> None: ...


@dataclass
class Server:
    """One running server: its process, its uri and where its files live."""

    system: str
    process: subprocess.Popen[bytes]
    uri: str
    workdir: Path
    timing_file: Path | None = None
    profile_file: Path | None = None
    log_file: Path = field(default_factory=Path)

    def memory_kib(self) -> dict[str, int]:
        """VmRSS and VmHWM (peak RSS) of the server process, from /proc."""
        return proc_memory_kib(self.process.pid)

    def role_memory_kib(self) -> dict[str, dict[str, int]]:
        """The one server process, under the system's name."""
        return {self.system: self.memory_kib()}

    def timings_since(self, offset: int, rpc: str) -> tuple[list[tuple[float, float]], int]:
        """Per-request (handler s, index s) of ``rpc`` appended after byte ``offset``."""
        if self.timing_file is None or not self.timing_file.exists():
            return [], offset
        with self.timing_file.open("rb") as handle:
            handle.seek(offset)
            chunk = handle.read()
        rows = []
        for line in chunk.decode().splitlines():
            name, handler_s, index_s = line.split()
            if name == rpc:
                rows.append((float(handler_s), float(index_s)))
        return rows, offset + len(chunk)

    def timing_offset(self) -> int:
        if self.timing_file is None or not self.timing_file.exists():
            return 0
        return self.timing_file.stat().st_size

    def stop(self, keep_files: bool = False) -> None:
        """SIGTERM, then SIGKILL if it does not exit in time; remove its files
        (all of them unless ``keep_files``, which keeps the timing and profile files)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=STOP_TIMEOUT_S)
        shutil.rmtree(self.workdir / "data" if keep_files else self.workdir, ignore_errors=True)


def proc_memory_kib(pid: int) -> dict[str, int]:
    values: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0])
    return values


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def elanus_source(ref: str = "HEAD") -> tuple[Path, str]:
    """The committed tree at ``ref`` unpacked under bench/.cache (once), and its sha.

    The server runs this snapshot, so a result belongs to exactly the recorded
    commit, not to a working tree that other engineers are editing meanwhile.
    """
    sha = subprocess.run(
        ["git", "rev-parse", ref], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    target = CACHE_DIR / f"elanus-src-{sha[:12]}"
    if not target.exists():
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        partial = Path(tempfile.mkdtemp(prefix="elanus-src-", dir=CACHE_DIR))
        archive = subprocess.run(
            ["git", "archive", sha], cwd=REPO_ROOT, capture_output=True, check=True, timeout=120
        )
        subprocess.run(["tar", "-x", "-C", str(partial)], input=archive.stdout, check=True)
        partial.rename(target)
    return target, sha


def start_elanus(profile: bool = False, source: Path | None = None) -> Server:
    """``elanus standalone`` under bench/elanus_server.py (search timing, optional cProfile),
    running the code in ``source`` (a snapshot) or, if None, the editable install."""
    workdir = Path(tempfile.mkdtemp(prefix="elanus-bench-"))
    port = free_port()
    timing = workdir / "search_timing.txt"
    profile_file = workdir / "search.prof" if profile else None
    command = [str(ELANUS_PYTHON), str(REPO_ROOT / "bench" / "elanus_server.py")]
    command += ["--timing-file", str(timing)]
    if profile_file is not None:
        command += ["--profile-file", str(profile_file)]
    if source is not None:
        command += ["--source", str(source)]
    command += ["--", "standalone", "--data-dir", str(workdir / "data")]
    command += ["--port", str(port), "--host", "127.0.0.1"]
    server = _launch("elanus", command, workdir, port)
    server.timing_file, server.profile_file = timing, profile_file
    return server


def start_milvus_lite() -> Server:
    """Milvus Lite's own server command, from the bench venv, as a separate process."""
    workdir = Path(tempfile.mkdtemp(prefix="lite-bench-"))
    port = free_port()
    command = [sys.executable, "-m", "milvus_lite", "server"]
    command += ["--data-dir", str(workdir / "data"), "--host", "127.0.0.1", "--port", str(port)]
    return _launch("milvus-lite", command, workdir, port)


def _launch(system: str, command: list[str], workdir: Path, port: int) -> Server:
    log_file = workdir / "server.log"
    with log_file.open("wb") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, cwd=workdir, start_new_session=True
        )
    server = Server(system, process, f"http://127.0.0.1:{port}", workdir, log_file=log_file)
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{system} exited at start-up:\n{log_file.read_text()[-3000:]}")
        try:
            client = MilvusClient(server.uri, timeout=2.0)
            client.list_collections()
            client.close()
            return server
        except Exception:  # not listening yet: any connection error means retry
            time.sleep(0.3)
    server.stop()
    raise RuntimeError(f"{system} did not answer within {STARTUP_TIMEOUT_S}s")
