"""The fault suite's cluster driver, load runner and journal checker.

``FaultCluster`` wraps tests/cluster's ``LocalCluster`` (composition: that
file stays as it is) with what fault injection needs: kill -9 of one recorded
process, a restart of one infra server with the cluster's own ports, and
recovery probes. ``Load`` runs loadgen.py's writers in the background.
``expected_state`` turns a journal into what a Strong read must show, and
``check_read`` compares: no loss, no duplicates, no resurrected deletes; keys
of failed operations may be either way, and only those.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.cluster.test_cluster import LocalCluster

# Every fault test: slow, kills processes, needs the servers tests/run starts.
FAULT_MARKS = [
    pytest.mark.fault,
    pytest.mark.slow,
    pytest.mark.infra,
    pytest.mark.skipif(
        not os.environ.get("ELANUS_TEST_ETCD"),
        reason="infra not started (ELANUS_TEST_ETCD unset; run via tests/run)",
    ),
]
HERE = Path(__file__).resolve().parent
LOADGEN = HERE / "loadgen.py"
INFRA_SCRIPT = HERE.parents[1] / "deploy" / "local" / "infra.sh"
KEY_SPAN = 1_000_000_000  # loadgen.KEY_SPAN: writer w owns [w * KEY_SPAN, (w + 1) * KEY_SPAN)
CLIENT_TIMEOUT_S = 180.0
PROBE_TIMEOUT_S = 120.0
INFRA_TIMEOUT_S = 300.0


def loadgen(*args: str, timeout_s: float = CLIENT_TIMEOUT_S) -> dict:
    done = subprocess.run(
        [sys.executable, str(LOADGEN), *args],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    if done.returncode != 0:
        raise AssertionError(f"loadgen {args[0]} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout)


@dataclass
class FaultCluster:
    """A LocalCluster plus the faults: kill -9, infra restarts, recovery probes."""

    local: LocalCluster
    proxies: int = 2

    @property
    def data_dir(self) -> Path:
        return self.local.data_dir

    def uris(self) -> list[str]:
        return [self.local.uri(i) for i in range(self.proxies)]

    def uri_args(self) -> list[str]:
        return [part for uri in self.uris() for part in ("--uri", uri)]

    def up(self) -> float:
        return self.local.up()

    def down(self) -> subprocess.CompletedProcess:
        return self.local.elanus("down", "--data-dir", str(self.data_dir), timeout_s=300)

    def pid_of(self, role: str, index: int = 0) -> int:
        for process in self.local.status():
            if process["role"] == role and process["index"] == index:
                assert process["running"], process
                return int(process["pid"])
        raise AssertionError(f"{role}-{index} is not in {self.data_dir}/cluster.json")

    def kill9(self, role: str, index: int = 0) -> tuple[int, float]:
        """SIGKILL the process (only it, not a group: what a crash does): its PID and
        the wall time of the kill."""
        pid = self.pid_of(role, index)
        assert self._started_here(pid), f"pid {pid} is not a role of {self.data_dir}"
        killed_at = time.time()
        os.kill(pid, signal.SIGKILL)
        for _ in range(100):
            if not _alive(pid):
                break
            time.sleep(0.05)
        return pid, killed_at

    def infra_ports(self) -> dict[str, int]:
        state = json.loads((self.data_dir / "cluster.json").read_text())
        return {name: int(port) for name, port in state["infra_ports"].items()}

    def infra(self, command: str, server: str) -> None:
        """``infra.sh COMMAND SERVER`` on the cluster's infra dir and ports (as `cluster up`)."""
        env = dict(os.environ)
        for name, port in self.infra_ports().items():
            env[f"ELANUS_INFRA_{name}"] = str(port)
        done = subprocess.run(
            [str(INFRA_SCRIPT), command, server, "--dir", str(self.data_dir / "infra")],
            env=env,
            capture_output=True,
            text=True,
            timeout=INFRA_TIMEOUT_S,
            check=False,
        )
        assert done.returncode == 0, f"infra.sh {command} {server}: {done.stderr[-3000:]}"

    def prepare_probe(self, name: str, work_dir: Path) -> Probe:
        """A recovery probe started before the fault (see :class:`Probe`)."""
        return Probe(self, name, work_dir)

    def restart_all_roles(self) -> float:
        """SIGKILL every role still alive, then ``cluster up``: after a failure that took
        some roles down, one that lingers (shutting down, or hung) would keep ``up``
        from starting its replacement."""
        state = json.loads((self.data_dir / "cluster.json").read_text())
        for process in state["processes"]:
            pid = int(process["pid"])
            if pid > 0 and _alive(pid) and self._started_here(pid):
                os.kill(pid, signal.SIGKILL)
        return self.up()

    def _started_here(self, pid: int) -> bool:
        """The PID still belongs to a role of this cluster (its command names our config)."""
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return False
        return str(self.data_dir.resolve()).encode() in cmdline

    def dead_roles(self) -> list[str]:
        """Recorded processes that are not alive (from cluster.json, without a subprocess)."""
        state = json.loads((self.data_dir / "cluster.json").read_text())
        return [
            f"{p['role']}-{p['index']}" for p in state["processes"] if not _alive(int(p["pid"]))
        ]

    def probe_unless_roles_die(self, probe: Probe, since: float) -> tuple[dict, list[str]]:
        """Run a prepared probe from SINCE, stopped early if a role dies meanwhile (it
        would wait in vain); the probe's answer and the roles that died."""
        probe.go(since)
        deadline = time.monotonic() + PROBE_TIMEOUT_S + 60
        while probe.running() and time.monotonic() < deadline:
            dead = self.dead_roles()
            if dead:
                probe.cancel()
                return {}, dead
            time.sleep(1.0)
        return probe.result(), self.dead_roles()

    def log_tails(self) -> str:
        return self.local.log_tails()


class Probe:
    """loadgen.py probe, started before the fault so that Python's start and the
    pymilvus import are not counted; :meth:`go` gives it the fault's wall time."""

    def __init__(self, cluster: FaultCluster, name: str, work_dir: Path) -> None:
        self._go_file = work_dir / f"probe-{time.monotonic_ns()}.go"
        self._process = subprocess.Popen(
            [
                sys.executable, str(LOADGEN), "probe", name, *cluster.uri_args(),
                "--go-file", str(self._go_file), "--timeout", str(PROBE_TIMEOUT_S),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip

    def go(self, since: float) -> None:
        temporary = self._go_file.with_suffix(".tmp")
        temporary.write_text(repr(since))
        temporary.replace(self._go_file)

    def running(self) -> bool:
        return self._process.poll() is None

    def cancel(self) -> None:
        self._process.kill()
        self._process.communicate()

    def result(self) -> dict:
        """{"answered": {uri: seconds or None}, "errors": {uri: last error}}."""
        out, err = self._process.communicate(timeout=2 * PROBE_TIMEOUT_S + 60)
        if self._process.returncode != 0:
            raise AssertionError(f"probe failed:\n{err[-3000:]}")
        return json.loads(out)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


class Load:
    """loadgen.py run in the background: two writers, one per proxy, journalled."""

    def __init__(
        self,
        cluster: FaultCluster,
        name: str,
        work_dir: Path,
        seconds: float,
        extra: Sequence[str] = (),
    ) -> None:
        self.journal = work_dir / f"{name}.journal"
        self._stop = work_dir / f"{name}.stop"
        self._stop.unlink(missing_ok=True)
        self._seconds = seconds
        self._process = subprocess.Popen(
            [
                sys.executable, str(LOADGEN), "run", name, str(self.journal),
                *cluster.uri_args(), "--stop-file", str(self._stop), "--seconds", str(seconds),
                *extra,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip

    def acked_since(self, since: float) -> int:
        return sum(1 for e in read_journal(self.journal) if e["ok"] and e["t"] >= since)

    def first_acks_after(self, since: float) -> dict[int, float]:
        """Per writer, when its first operation sent after SINCE was acknowledged
        (one sent before may still have been answered by a process about to die)."""
        first: dict[int, float] = {}
        for entry in read_journal(self.journal):
            if entry["ok"] and entry["t0"] >= since and entry["writer"] not in first:
                first[entry["writer"]] = entry["t"]
        return first

    def wait_for_writes_after(self, since: float, writers: int, timeout_s: float) -> float:
        """Seconds from SINCE until every writer had an acknowledged operation again."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            first = self.first_acks_after(since)
            if len(first) >= writers:
                return max(first.values()) - since
            assert self._process.poll() is None, self._process.communicate()[1][-3000:]
            time.sleep(0.2)
        raise AssertionError(f"not every writer acknowledged a write within {timeout_s}s")

    def wait_for_acks(self, count: int, timeout_s: float = 60.0) -> None:
        """Until COUNT operations after now are acknowledged: the load is really flowing."""
        since = time.time()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.acked_since(since) >= count:
                return
            assert self._process.poll() is None, self._process.communicate()[1][-3000:]
            time.sleep(0.2)
        raise AssertionError(f"fewer than {count} acknowledged operations in {timeout_s}s")

    def stop(self) -> None:
        self._stop.touch()
        try:
            _, err = self._process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            self._process.kill()
            _, err = self._process.communicate()
        assert self._process.returncode == 0, f"load failed:\n{err[-3000:]}"


def read_journal(path: Path) -> list[dict]:
    if not path.exists():
        return []
    entries = []
    for line in path.read_text().splitlines():
        if line.endswith("}"):  # a torn last line cannot be an acknowledgement
            entries.append(json.loads(line))
    return entries


@dataclass
class Expected:
    """What a Strong read must show after the load, from the journal."""

    present: set[int] = field(default_factory=set)  # acked inserts, never in a delete
    absent: set[int] = field(default_factory=set)  # acked deletes of acked inserts
    unknown: set[int] = field(default_factory=set)  # touched by a failed operation
    acked_ops: int = 0
    failed_ops: int = 0
    key_ranges: list[tuple[int, int]] = field(default_factory=list)


def expected_state(entries: list[dict]) -> Expected:
    """A key is present if its insert was acked and no delete of it was attempted,
    absent if its insert was never tried or a delete of it was acked, else unknown.

    The writer deletes only keys whose insert it saw acknowledged, and never
    reuses a key, so these three sets are disjoint and cover every key touched.
    """
    expected = Expected()
    inserted_ok: set[int] = set()
    inserted_failed: set[int] = set()
    deleted_ok: set[int] = set()
    deleted_failed: set[int] = set()
    highest: dict[int, int] = {}
    for entry in entries:
        keys = entry["keys"]
        target = {
            ("insert", True): inserted_ok,
            ("insert", False): inserted_failed,
            ("delete", True): deleted_ok,
            ("delete", False): deleted_failed,
        }[(entry["op"], entry["ok"])]
        target.update(keys)
        if entry["ok"]:
            expected.acked_ops += 1
        else:
            expected.failed_ops += 1
        writer = entry["writer"]
        highest[writer] = max(highest.get(writer, 0), max(keys) + 1)
    assert not inserted_ok & inserted_failed, "loadgen reused a key"
    assert deleted_ok | deleted_failed <= inserted_ok, "loadgen deleted an unacked key"
    expected.absent = deleted_ok
    expected.unknown = inserted_failed | (deleted_failed - deleted_ok)
    expected.present = inserted_ok - deleted_ok - deleted_failed
    expected.key_ranges = [(w * KEY_SPAN, high) for w, high in sorted(highest.items())]
    return expected


def check_read(expected: Expected, keys: list[int], count: int) -> list[str]:
    """What is wrong with one Strong read (empty when it keeps the guarantee)."""
    problems = []
    found = set(keys)
    if len(found) != len(keys):
        dupes = sorted(k for k, n in Counter(keys).items() if n > 1)
        problems.append(f"{len(keys) - len(found)} duplicate rows, e.g. keys {dupes[:10]}")
    lost = expected.present - found
    if lost:
        problems.append(f"{len(lost)} acknowledged rows lost, e.g. {sorted(lost)[:10]}")
    resurrected = expected.absent & found
    if resurrected:
        problems.append(
            f"{len(resurrected)} acknowledged deletes undone, e.g. {sorted(resurrected)[:10]}"
        )
    strangers = found - expected.present - expected.unknown - expected.absent
    if strangers:
        problems.append(f"{len(strangers)} rows never written, e.g. {sorted(strangers)[:10]}")
    if count != len(keys):
        problems.append(f"count(*) says {count} but the key listing has {len(keys)} rows")
    return problems


def verify(cluster: FaultCluster, name: str, journal: Path) -> Expected:
    """Strong reads through every proxy keep the guarantee; AssertionError says how not."""
    expected = expected_state(read_journal(journal))
    assert expected.present, "the load acknowledged no insert"
    range_args = [str(v) for low, high in expected.key_ranges for v in ("--key-range", low, high)]
    problems = []
    for uri in cluster.uris():
        read = loadgen("read", uri, name, *range_args)
        problems += [f"{uri}: {p}" for p in check_read(expected, read["keys"], read["count"])]
    assert not problems, "\n".join(problems) + "\n" + cluster.log_tails()
    return expected
