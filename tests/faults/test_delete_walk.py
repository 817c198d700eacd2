"""Deletes are exact on the cluster (issue 12): the model-based walk of
tests/compat/delete_walk.py on `elanus cluster up` with real Kafka, etcd and
MinIO, with kill -9 of a datanode and of a querynode (each restarted) in place of
the standalone server's kill.

The walk runs as its own process (it imports pymilvus, which cannot share a
process with our protos); it asks for each fault on stdout and waits until the
role was killed and the cluster is up again.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path
from typing import TypedDict

from tests.faults.harness import FAULT_MARKS, FaultCluster


class Fault(TypedDict):
    """One kill the walk asked for, as the timings record it."""

    role: str
    pid: int
    cluster_up_s: float


pytestmark = FAULT_MARKS

REPO = Path(__file__).resolve().parents[2]
SEED = 21
STEPS = 150
WALK_LIMIT_S = 900.0


def test_delete_walk_with_datanode_and_querynode_kills(
    fault_cluster: FaultCluster, work_dir: Path, timings: dict
) -> None:
    stderr_path = work_dir / "walk.stderr"
    with stderr_path.open("w") as stderr:
        walk = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.compat.delete_walk",
                "--uri",
                fault_cluster.uris()[0],
                "--name",
                "delete_walk",
                "--seed",
                str(SEED),
                "--steps",
                str(STEPS),
                "--faults",
                "datanode,querynode",
            ],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
        watchdog = threading.Timer(WALK_LIMIT_S, walk.kill)
        watchdog.start()
        result = ""
        faults: list[Fault] = []
        try:
            assert walk.stdout is not None and walk.stdin is not None
            for line in walk.stdout:
                if line.startswith("WALK-FAULT "):
                    role = line.split()[1]
                    pid, _ = fault_cluster.kill9(role, 0)
                    up_s = fault_cluster.up()
                    faults.append({"role": role, "pid": pid, "cluster_up_s": round(up_s, 2)})
                    walk.stdin.write("done\n")
                    walk.stdin.flush()
                elif line.startswith("WALK-OK "):
                    result = line.removeprefix("WALK-OK ").strip()
            code = walk.wait(timeout=60)
        finally:
            watchdog.cancel()
            if walk.poll() is None:
                walk.kill()
    report = stderr_path.read_text()[-6000:]
    assert code == 0 and result, (
        f"delete walk seed={SEED} steps={STEPS} failed (exit {code}):\n{report}\n"
        f"{fault_cluster.log_tails()}"
    )
    assert sorted(f["role"] for f in faults) == ["datanode", "querynode"], faults
    timings["delete_walk"] = {"faults": faults, "walk": result}
