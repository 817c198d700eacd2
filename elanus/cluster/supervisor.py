"""``elanus cluster up/status/down``: a whole local cluster as separate processes.

``up`` starts etcd, Kafka and MinIO through ``deploy/local/infra.sh`` (their data
under ``DIR/infra``), writes ``DIR/elanus.yaml`` pointing at them, then starts
the coordinators, the nodes and the proxies, each ``elanus run <role>`` in its
own process group with its log in ``DIR/logs``. With ``coordinators > 1`` the
first to start is active and the others stand by (``elanus.cluster.election``);
``status`` tells them apart by the leader key in etcd. What it started is recorded in
``DIR/cluster.json`` (role, index, PID, port), so that running ``up`` again
starts only what is not running, ``status`` can check each process, and
``down`` can stop them (SIGTERM, a bounded wait, SIGKILL) and then the servers.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

STATE_FILE = "cluster.json"
CONFIG_FILE = "elanus.yaml"
START_ORDER = ("coordinator", "datanode", "querynode", "indexnode", "proxy")
INFRA_PORT_NAMES = (
    "ETCD_PORT",
    "ETCD_PEER_PORT",
    "KAFKA_PORT",
    "KAFKA_CONTROLLER_PORT",
    "MINIO_PORT",
    "MINIO_CONSOLE_PORT",
)
INFRA_TIMEOUT_S = 900.0  # a first install downloads Kafka's jars and builds MinIO
COORDINATOR_READY_S = 60.0
PROXIES_READY_S = 120.0
STOP_TIMEOUT_S = 15.0
HEALTH_TIMEOUT_S = 3.0
LOG_TAIL_LINES = 40


# The processes this process started, by PID (see is_running).
_children: dict[int, subprocess.Popen[bytes]] = {}


class ClusterError(RuntimeError):
    """The cluster could not be brought to the state asked for; the message says why."""


@dataclass(frozen=True)
class ClusterSpec:
    data_dir: Path
    port: int = 19530
    coordinators: int = 1
    proxies: int = 1
    querynodes: int = 1
    datanodes: int = 1
    indexnodes: int = 1
    host: str = "127.0.0.1"

    def counts(self) -> dict[str, int]:
        return {
            "coordinator": self.coordinators,
            "datanode": self.datanodes,
            "querynode": self.querynodes,
            "indexnode": self.indexnodes,
            "proxy": self.proxies,
        }


@dataclass
class ProcessRecord:
    role: str
    index: int
    port: int
    pid: int = 0
    log: str = ""

    @property
    def name(self) -> str:
        return f"{self.role}-{self.index}"


@dataclass
class ClusterState:
    host: str = "127.0.0.1"
    infra_ports: dict[str, int] = field(default_factory=dict)
    processes: list[ProcessRecord] = field(default_factory=list)

    @classmethod
    def load(cls, data_dir: Path) -> ClusterState:
        path = data_dir / STATE_FILE
        if not path.exists():
            return cls()
        raw = json.loads(path.read_text())
        return cls(
            host=raw.get("host", "127.0.0.1"),
            infra_ports={k: int(v) for k, v in raw.get("infra_ports", {}).items()},
            processes=[ProcessRecord(**p) for p in raw.get("processes", [])],
        )

    def save(self, data_dir: Path) -> None:
        path = data_dir / STATE_FILE
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(asdict(self), indent=2) + "\n")
        temporary.replace(path)

    def find(self, role: str, index: int) -> ProcessRecord | None:
        for record in self.processes:
            if record.role == role and record.index == index:
                return record
        return None


@dataclass(frozen=True)
class ProcessStatus:
    role: str
    index: int
    pid: int
    port: int
    running: bool
    healthy: bool
    detail: str
    state: str = ""  # coordinators: "active" or "standby"


# --- the three servers --------------------------------------------------------


def infra_script() -> Path:
    configured = os.environ.get("ELANUS_INFRA_SCRIPT")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[2] / "deploy" / "local" / "infra.sh"


def _infra(command: str, data_dir: Path, ports: dict[str, int]) -> str:
    env = dict(os.environ)
    for name, port in ports.items():
        env[f"ELANUS_INFRA_{name}"] = str(port)
    args = [str(infra_script()), command]
    if command != "install":
        args += ["--dir", str(data_dir / "infra")]
    try:
        done = subprocess.run(
            args, env=env, capture_output=True, text=True, timeout=INFRA_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired as error:
        raise ClusterError(
            f"infra.sh {command} did not finish in {INFRA_TIMEOUT_S:.0f}s"
        ) from error
    if done.returncode != 0:
        raise ClusterError(
            f"infra.sh {command} failed (exit {done.returncode}):\n{done.stderr[-4000:]}"
        )
    return done.stdout


def _infra_endpoints(exports: str) -> dict[str, str]:
    """``export ELANUS_TEST_X=v`` lines -> {"ELANUS_TEST_X": "v"}."""
    found = {}
    for line in exports.splitlines():
        line = line.strip().removeprefix("export ")
        name, sep, value = line.partition("=")
        if sep:
            found[name] = value.strip().strip("'\"")
    return found


def _write_config(data_dir: Path, endpoints: dict[str, str], host: str) -> Path:
    missing = [
        n
        for n in ("ELANUS_TEST_ETCD", "ELANUS_TEST_KAFKA", "ELANUS_TEST_MINIO")
        if not endpoints.get(n)
    ]
    if missing:
        raise ClusterError(f"infra.sh env did not report {', '.join(missing)}")
    config = {
        "etcd": {"endpoint": endpoints["ELANUS_TEST_ETCD"], "prefix": "elanus/"},
        "kafka": {"bootstrap": endpoints["ELANUS_TEST_KAFKA"], "topic_prefix": "elanus-"},
        "minio": {
            "endpoint": endpoints["ELANUS_TEST_MINIO"],
            "access_key": endpoints.get("ELANUS_TEST_MINIO_ACCESS_KEY", ""),
            "secret_key": endpoints.get("ELANUS_TEST_MINIO_SECRET_KEY", ""),
            "bucket": "elanus",
        },
        "proxy": {"host": host},
        "coordinator": {"host": host},
        "datanode": {"host": host},
        "querynode": {"host": host},
        "indexnode": {"host": host},
        "storage": {"data_dir": str(data_dir)},
    }
    path = data_dir / CONFIG_FILE
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


# --- processes ----------------------------------------------------------------


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        result: int = probe.getsockname()[1]
        return result


def _free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """Distinct free ports: all sockets are held until every port is known."""
    held = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for sock in held:
            sock.bind((host, 0))
        return [sock.getsockname()[1] for sock in held]
    finally:
        for sock in held:
            sock.close()


def is_running(record: ProcessRecord) -> bool:
    """Alive, and still the process we started (a PID can be reused)."""
    if record.pid <= 0:
        return False
    child = _children.get(record.pid)
    if child is not None:
        # Started by this process: ask it. (Right after the fork, /proc still shows
        # the parent's command line, not ``elanus run``.)
        return child.poll() is None
    try:
        cmdline = Path(f"/proc/{record.pid}/cmdline").read_bytes().split(b"\0")
        stat = Path(f"/proc/{record.pid}/stat").read_text()
    except OSError:
        return False
    if stat.rsplit(")", 1)[-1].split()[0] == "Z":
        return False
    return (
        b"run" in cmdline
        and record.role.encode() in cmdline
        and any(b"elanus" in part for part in cmdline)
    )


def port_accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def proxy_health(host: str, port: int) -> tuple[bool, str]:
    """CheckHealth on the proxy's MilvusService."""
    import grpc

    from proto.public import milvus_pb2, milvus_pb2_grpc

    channel = grpc.insecure_channel(f"{host}:{port}")
    try:
        stub = milvus_pb2_grpc.MilvusServiceStub(channel)
        reply = stub.CheckHealth(milvus_pb2.CheckHealthRequest(), timeout=HEALTH_TIMEOUT_S)
    except grpc.RpcError as error:
        return False, f"CheckHealth failed: {error.code().name}"
    finally:
        channel.close()
    if reply.status.code != 0 or not reply.isHealthy:
        return False, f"unhealthy: {reply.status.reason or list(reply.reasons)}"
    return True, "CheckHealth ok"


def _spawn(record: ProcessRecord, data_dir: Path, config_path: Path) -> None:
    log_path = data_dir / "logs" / f"{record.name}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "elanus.cli",
        "run",
        record.role,
        "--config",
        str(config_path),
        "--port",
        str(record.port),
    ]
    with log_path.open("ab") as log:
        log.write(f"\n=== starting: {' '.join(command)}\n".encode())
        log.flush()
        process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: signals reach it alone
            cwd=str(data_dir),
        )
    _children[process.pid] = process
    record.pid = process.pid
    record.log = str(log_path.relative_to(data_dir))


def log_tail(data_dir: Path, record: ProcessRecord, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = (data_dir / record.log).read_text(errors="replace")
    except OSError:
        return f"--- {record.name}: no log ---"
    return f"--- {record.name} ({record.log}) ---\n" + "\n".join(text.splitlines()[-lines:])


def _wait(
    what: str,
    ready: Callable[[], bool],
    records: list[ProcessRecord],
    data_dir: Path,
    timeout_s: float,
) -> None:
    """Poll ``ready`` until it holds; fail early with log tails if one of ``records`` dies."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        dead = [r for r in records if not is_running(r)]
        if dead:
            tails = "\n".join(log_tail(data_dir, r) for r in dead)
            raise ClusterError(f"{', '.join(r.name for r in dead)} exited while {what}\n{tails}")
        if ready():
            return
        time.sleep(0.3)
    tails = "\n".join(log_tail(data_dir, r) for r in records)
    raise ClusterError(f"timed out after {timeout_s:.0f}s {what}\n{tails}")


# --- the commands -------------------------------------------------------------


def up(spec: ClusterSpec, report: Callable[[str], None] = print) -> ClusterState:
    """Start whatever of ``spec`` is not running; return once every proxy is healthy."""
    data_dir = spec.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    state = ClusterState.load(data_dir)
    state.host = spec.host
    if not state.infra_ports:
        chosen = {
            n: int(os.environ[f"ELANUS_INFRA_{n}"])
            for n in INFRA_PORT_NAMES
            if os.environ.get(f"ELANUS_INFRA_{n}")
        }
        free = iter(_free_ports(len(INFRA_PORT_NAMES)))
        state.infra_ports = {n: chosen.get(n) or next(free) for n in INFRA_PORT_NAMES}
    state.save(data_dir)

    started = time.monotonic()
    _infra("install", data_dir, state.infra_ports)
    _infra("up", data_dir, state.infra_ports)
    endpoints = _infra_endpoints(_infra("env", data_dir, state.infra_ports))
    config_path = _write_config(data_dir, endpoints, spec.host)
    report(
        f"infra ready in {time.monotonic() - started:.1f}s (etcd {endpoints['ELANUS_TEST_ETCD']})"
    )

    fresh: list[ProcessRecord] = []
    for role in START_ORDER:
        for index in range(spec.counts()[role]):
            record = state.find(role, index)
            port = spec.port + index if role == "proxy" else None
            if record is None:
                record = ProcessRecord(role, index, port or free_port(spec.host))
                state.processes.append(record)
            elif port is not None:
                record.port = port
            if is_running(record):
                continue
            _spawn(record, data_dir, config_path)
            fresh.append(record)
            state.save(data_dir)
            if role == "coordinator":
                # This one listens if it leads; a standby waits for the one that does.
                _wait(
                    "waiting for a coordinator to listen",
                    lambda: _a_coordinator_listens(state, spec.host),
                    [record],
                    data_dir,
                    COORDINATOR_READY_S,
                )
    proxies = [r for r in state.processes if r.role == "proxy" and r.index < spec.proxies]
    listeners = [r for r in fresh if r.role != "coordinator"]
    _wait(
        "waiting for every proxy to answer CheckHealth and every new role to listen",
        lambda: (
            all(port_accepts(spec.host, r.port) for r in listeners)
            and _a_coordinator_listens(state, spec.host)
            and all(proxy_health(spec.host, r.port)[0] for r in proxies)
        ),
        fresh + [r for r in proxies if r not in fresh],
        data_dir,
        PROXIES_READY_S,
    )
    report(
        f"cluster up in {time.monotonic() - started:.1f}s: started {len(fresh)} process(es); "
        + ", ".join(f"proxy-{r.index} {spec.host}:{r.port}" for r in proxies)
    )
    return state


def status(data_dir: Path) -> list[ProcessStatus]:
    """Each recorded process: running (its PID is ours), healthy (proxies: CheckHealth;
    the active coordinator and the nodes: their gRPC port accepts connections; a
    standby coordinator: running while another one leads)."""
    data_dir = data_dir.resolve()
    state = ClusterState.load(data_dir)
    leader_pid = _coordinator_leader_pid(data_dir) if state.processes else None
    result = []
    for record in state.processes:
        running = is_running(record)
        role_state = ""
        if not running:
            healthy, detail = False, "not running"
        elif record.role == "proxy":
            healthy, detail = proxy_health(state.host, record.port)
        else:
            healthy = port_accepts(state.host, record.port)
            detail = "port accepts" if healthy else "port closed"
            if record.role == "coordinator":
                role_state, healthy, detail = _coordinator_state(record, healthy, leader_pid)
        result.append(
            ProcessStatus(
                record.role,
                record.index,
                record.pid,
                record.port,
                running,
                healthy,
                detail,
                role_state,
            )
        )
    return result


def _a_coordinator_listens(state: ClusterState, host: str) -> bool:
    return any(
        port_accepts(host, r.port)
        for r in state.processes
        if r.role == "coordinator" and is_running(r)
    )


def _coordinator_state(
    record: ProcessRecord, listens: bool, leader_pid: int | None
) -> tuple[str, bool, str]:
    """(state, healthy, detail) of a running coordinator, given who leads (None: unknown)."""
    if leader_pid is None:
        if listens:
            return "active", True, "port accepts (leader unknown: etcd not answering)"
        return "", False, "port closed (leader unknown: etcd not answering)"
    if leader_pid == record.pid:
        return "active", listens, "active, port accepts" if listens else "active, port closed"
    if leader_pid == 0:
        return "standby", False, "no coordinator leads (a takeover is under way?)"
    return "standby", True, f"standby (the active coordinator is PID {leader_pid})"


def _coordinator_leader_pid(data_dir: Path) -> int | None:
    """The PID in the coordinator leader key; 0 if nobody leads; None if etcd cannot say."""
    from elanus.cluster.election import read_leader
    from elanus.config import load_config
    from elanus.kv.etcd import EtcdKV

    config_path = data_dir / CONFIG_FILE
    if not config_path.exists():
        return None
    etcd = load_config(str(config_path)).etcd
    if not etcd.endpoint:
        return None
    try:
        kv = EtcdKV(etcd.endpoint, etcd.prefix, timeout_s=HEALTH_TIMEOUT_S)
    except Exception:
        return None
    try:
        leader = read_leader(kv)
    except Exception:
        return None
    finally:
        with contextlib.suppress(Exception):
            kv.close()
    return leader.pid if leader is not None else 0


def down(data_dir: Path, report: Callable[[str], None] = print, infra: bool = True) -> None:
    """Stop every role (SIGTERM, bounded wait, SIGKILL), then etcd, Kafka and MinIO."""
    data_dir = data_dir.resolve()
    state = ClusterState.load(data_dir)
    running = [r for r in state.processes if is_running(r)]
    for record in running:
        _signal_group(record.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while time.monotonic() < deadline and any(is_running(r) for r in running):
        time.sleep(0.2)
    killed = [r for r in running if is_running(r)]
    for record in killed:
        _signal_group(record.pid, signal.SIGKILL)
    for record in state.processes:
        record.pid = 0
    state.save(data_dir)
    report(
        f"stopped {len(running)} process(es)" + (f", {len(killed)} with SIGKILL" if killed else "")
    )
    if infra and (data_dir / "infra").exists():
        _infra("down", data_dir, state.infra_ports)
        report("infra stopped")


def _signal_group(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)
