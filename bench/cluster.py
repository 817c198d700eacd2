"""The Elanus cluster as a system under test: ``elanus cluster up`` (coordinator,
proxy, datanode, querynode, indexnode as separate processes on etcd, Kafka and
MinIO) in a temporary data directory, driven through pymilvus like standalone.

The harness still never imports Elanus: the cluster is started and stopped by
the ``elanus`` command line, and everything known about its processes comes
from ``DIR/cluster.json`` (the supervisor's record: role, index, PID, port)
and from ``infra.sh status`` (etcd, Kafka, MinIO PIDs). Server-side request
timing is not available: the roles are started by the supervisor, so the
harness cannot wrap their handlers as ``elanus_server.py`` does for standalone.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .servers import ELANUS_PYTHON, REPO_ROOT, free_port, proc_memory_kib

UP_TIMEOUT_S = 600.0  # the first start installs the infra servers into the cache
DOWN_TIMEOUT_S = 180.0
STATUS_TIMEOUT_S = 60.0
ROLE_COUNTS = {"proxies": 1, "querynodes": 1, "datanodes": 1, "indexnodes": 1}
_INFRA_LINE = re.compile(r"^(\w+)\s+running\s+pid\s+(\d+)")


@dataclass
class ClusterServer:
    """A running ``elanus cluster``: its proxy's uri and its processes' PIDs."""

    system: str
    uri: str
    workdir: Path
    source: Path | None
    role_pids: dict[str, int] = field(default_factory=dict)  # "proxy-0" -> PID
    infra_pids: dict[str, int] = field(default_factory=dict)  # "kafka" -> PID
    timing_file: Path | None = None  # no per-request server timing for the cluster
    profile_file: Path | None = None
    log_file: Path = field(default_factory=Path)

    @property
    def data_dir(self) -> Path:
        return self.workdir / "cluster"

    def memory_kib(self) -> dict[str, int]:
        """VmRSS and VmHWM summed over the Elanus role processes (not the infra)."""
        total = {"VmRSS": 0, "VmHWM": 0}
        for pid in self.role_pids.values():
            values = _memory_or_empty(pid)
            for key in total:
                total[key] += values.get(key, 0)
        return total

    def role_memory_kib(self) -> dict[str, dict[str, int]]:
        """Per role process (and per infra server, prefixed "infra:"), VmRSS and VmHWM."""
        found: dict[str, dict[str, int]] = {}
        for name, pid in self.role_pids.items():
            found[name] = _memory_or_empty(pid)
        for name, pid in self.infra_pids.items():
            found[f"infra:{name}"] = _memory_or_empty(pid)
        return found

    def timing_offset(self) -> int:
        return 0

    def timings_since(self, offset: int, rpc: str) -> tuple[list[tuple[float, float]], int]:
        return [], offset

    def stop(self, keep_files: bool = False) -> None:
        """``elanus cluster down`` (roles, then etcd, Kafka, MinIO); remove the files."""
        try:
            _elanus(["cluster", "down", "--data-dir", str(self.data_dir)], self, DOWN_TIMEOUT_S)
        finally:
            if not keep_files:
                shutil.rmtree(self.workdir, ignore_errors=True)


def start_cluster(source: Path | None = None) -> ClusterServer:
    """``elanus cluster up`` with one process per role, in a fresh temporary directory,
    the proxy on a free loopback port; running the code in ``source`` if given."""
    workdir = Path(tempfile.mkdtemp(prefix="elanus-cluster-bench-"))
    port = free_port()
    server = ClusterServer("cluster", f"http://127.0.0.1:{port}", workdir, source)
    server.log_file = workdir / "cluster-cli.log"
    command = ["cluster", "up", "--data-dir", str(server.data_dir), "--host", "127.0.0.1"]
    command += ["--port", str(port)]
    for flag, count in ROLE_COUNTS.items():
        command += [f"--{flag}", str(count)]
    try:
        _elanus(command, server, UP_TIMEOUT_S)
        server.role_pids = role_pids(server.data_dir)
        server.infra_pids = infra_pids(server)
    except BaseException:
        server.stop()
        raise
    return server


def role_pids(data_dir: Path) -> dict[str, int]:
    """ "role-index" -> PID of every running role, from the supervisor's cluster.json."""
    state = json.loads((data_dir / "cluster.json").read_text())
    return {
        f"{p['role']}-{p['index']}": int(p["pid"])
        for p in state.get("processes", [])
        if int(p.get("pid", 0)) > 0
    }


def infra_pids(server: ClusterServer) -> dict[str, int]:
    """etcd, Kafka and MinIO PIDs, from ``infra.sh status`` on the cluster's infra dir."""
    script = (server.source or REPO_ROOT) / "deploy" / "local" / "infra.sh"
    done = subprocess.run(
        [str(script), "status", "--dir", str(server.data_dir / "infra")],
        capture_output=True,
        text=True,
        timeout=STATUS_TIMEOUT_S,
        check=False,
    )
    found = {}
    for line in done.stdout.splitlines():
        match = _INFRA_LINE.match(line.strip())
        if match:
            found[match.group(1)] = int(match.group(2))
    return found


def _memory_or_empty(pid: int) -> dict[str, int]:
    try:
        return proc_memory_kib(pid)
    except OSError:  # exited meanwhile
        return {}


def _elanus(args: list[str], server: ClusterServer, timeout_s: float) -> None:
    """Run the ``elanus`` command line (from ``server.source`` if set); log its output."""
    env = dict(os.environ)
    cwd = REPO_ROOT
    if server.source is not None:
        # The snapshot ahead of the editable install; a cwd outside the repo so that
        # the working tree is not on sys.path. The role processes inherit both.
        env["PYTHONPATH"] = str(server.source)
        cwd = server.workdir
    with server.log_file.open("ab") as log:
        log.write(f"\n$ elanus {' '.join(args)}\n".encode())
        log.flush()
        done = subprocess.run(
            [str(ELANUS_PYTHON), "-m", "elanus.cli", *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=env,
            timeout=timeout_s,
            check=False,
        )
    if done.returncode != 0:
        tail = server.log_file.read_text()[-3000:]
        raise RuntimeError(f"elanus {args[0]} {args[1]} failed (exit {done.returncode}):\n{tail}")
