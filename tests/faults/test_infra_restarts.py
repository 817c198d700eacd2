"""Kafka, then etcd, then MinIO stopped and started again under the load: the
cluster at most stalls, then serves and takes writes again, every role still
running, with the same guarantee as after a role kill. A restarted Kafka keeps
its data (its storage is not formatted again)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.faults.harness import FAULT_MARKS, FaultCluster, Load, loadgen, verify

pytestmark = FAULT_MARKS

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


@pytest.mark.parametrize(
    "server",
    SERVERS,
)
def test_infra_restart_under_load_stalls_then_resumes(
    server: str, fault_cluster: FaultCluster, work_dir: Path, timings: dict, verified: dict
) -> None:
    name = f"infra_{server}"
    loadgen("setup", fault_cluster.uris()[0], name)
    load = Load(fault_cluster, name, work_dir, seconds=LOAD_LIMIT_S)
    dead: list[str] = []
    try:
        load.wait_for_acks(10)
        before = kafka_files(fault_cluster.data_dir) if server == "kafka" else {}
        probe = fault_cluster.prepare_probe(name, work_dir)
        stopped_at = time.time()
        fault_cluster.infra("down", server)
        time.sleep(OUTAGE_S)
        fault_cluster.infra("up", server)
        started_at = time.time()
        answered, dead = fault_cluster.probe_unless_roles_die(probe, started_at)
        if not dead:
            assert all(v is not None for v in answered["answered"].values()), (
                f"after restarting {server} a proxy never answered: {answered}\n"
                + fault_cluster.log_tails()
            )
            writes_s = load.wait_for_writes_after(started_at, writers=2, timeout_s=WRITES_BACK_S)
            timings[f"infra_{server}"] = {
                "down_and_up_s": round(started_at - stopped_at, 2),
                "serves_after_up_s": round(max(answered["answered"].values()), 2),
                "writes_after_up_s": round(writes_s, 2),
            }
            print(f"\nrestart {server}: {timings[f'infra_{server}']}")
            load.wait_for_acks(6)
            dead = fault_cluster.dead_roles()
        if server == "kafka":
            after = kafka_files(fault_cluster.data_dir)
            shrunk = {p: (s, after.get(p)) for p, s in before.items() if after.get(p, -1) < s}
            assert before and not shrunk, f"Kafka lost data across its restart: {shrunk}"
    finally:
        load.stop()
        if dead:
            # Heal, so that the data check below and the later tests still run.
            fault_cluster.restart_all_roles()
    verify(fault_cluster, name, load.journal)
    verified[name] = load.journal
    assert not dead, f"{dead} died when {server} restarted (an outage must only stall)"
