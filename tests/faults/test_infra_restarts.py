"""Kafka, then etcd, then MinIO stopped and started again under the load: the
cluster at most stalls, then serves and takes writes again, every role still
running, with the same guarantee as after a role kill. A restarted Kafka keeps
its data (its storage is not formatted again)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.faults.harness import FaultCluster, Load, finish_probe, loadgen, verify

pytestmark = [pytest.mark.fault, pytest.mark.slow, pytest.mark.infra]

SERVERS = ["kafka", "etcd", "minio"]
OUTAGE_S = 3.0  # how long each server stays down while the load runs
WRITES_BACK_S = 150.0
LOAD_LIMIT_S = 420.0


def kafka_files(data_dir: Path) -> dict[str, int]:
    """Kafka's log segments and metadata by relative path -> size."""
    root = data_dir / "infra" / "kafka" / "data"
    return {
        str(p.relative_to(root)): p.stat().st_size
        for p in root.rglob("*")
        if p.is_file() and (p.suffix == ".log" or p.name == "meta.properties")
    }


def test_infra_restarts_under_load_stall_then_resume(
    fault_cluster: FaultCluster, tmp_path, timings: dict, verified: dict
) -> None:
    name = "infra_restarts"
    loadgen("setup", fault_cluster.uris()[0], name)
    load = Load(fault_cluster, name, tmp_path, seconds=LOAD_LIMIT_S)
    measured: dict[str, dict] = {}
    try:
        load.wait_for_acks(10)
        for server in SERVERS:
            before = kafka_files(fault_cluster.data_dir) if server == "kafka" else {}
            stopped_at = time.time()
            fault_cluster.infra("down", server)
            time.sleep(OUTAGE_S)
            fault_cluster.infra("up", server)
            started_at = time.time()
            probe = fault_cluster.start_probe(name, started_at)
            answered = finish_probe(probe)
            assert all(v is not None for v in answered["answered"].values()), (
                f"after restarting {server} a proxy never answered: {answered}\n"
                + fault_cluster.log_tails()
            )
            writes_s = load.wait_for_writes_after(started_at, writers=2, timeout_s=WRITES_BACK_S)
            measured[server] = {
                "down_and_up_s": round(started_at - stopped_at, 2),
                "serves_after_up_s": round(max(answered["answered"].values()), 2),
                "writes_after_up_s": round(writes_s, 2),
            }
            print(f"\nrestart {server}: {measured[server]}")
            if server == "kafka":
                after = kafka_files(fault_cluster.data_dir)
                shrunk = {p: (s, after.get(p)) for p, s in before.items() if after.get(p, -1) < s}
                assert before and not shrunk, f"Kafka lost data across its restart: {shrunk}"
            dead = [p for p in fault_cluster.local.status() if not p["running"]]
            assert not dead, f"roles died when {server} restarted: {dead}\n" + (
                fault_cluster.log_tails()
            )
            load.wait_for_acks(6)
    finally:
        load.stop()
        timings["infra_restarts"] = measured
    expected = verify(fault_cluster, name, load.journal)
    timings["infra_restarts"]["journal"] = {
        "acked_ops": expected.acked_ops,
        "failed_ops": expected.failed_ops,
    }
    verified[name] = load.journal
