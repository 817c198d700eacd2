"""``cluster down`` (every role and etcd, Kafka, MinIO) then ``cluster up`` on
the same data dir: everything acknowledged before is there, flushed or not,
in this test's collection and in every collection the earlier fault tests
verified."""

from __future__ import annotations

import time
from pathlib import Path

from tests.faults.harness import FAULT_MARKS, FaultCluster, Load, loadgen, verify

pytestmark = FAULT_MARKS

LOAD_S = 10.0


def test_whole_cluster_restart_keeps_everything(
    fault_cluster: FaultCluster, work_dir: Path, timings: dict, verified: dict[str, Path]
) -> None:
    name = "whole_restart"
    loadgen("setup", fault_cluster.uris()[0], name)
    load = Load(fault_cluster, name, work_dir, seconds=120)
    try:
        load.wait_for_acks(10)
        time.sleep(LOAD_S)
    finally:
        load.stop()
    verify(fault_cluster, name, load.journal)

    probe = fault_cluster.prepare_probe(name, work_dir)
    stopped_at = time.time()
    done = fault_cluster.down()
    assert done.returncode == 0, done.stderr
    assert not [p for p in fault_cluster.local.status() if p["running"]]
    up_s = fault_cluster.up()
    probe.go(stopped_at)
    answered = probe.result()
    assert all(v is not None for v in answered["answered"].values()), answered
    timings["whole_restart"] = {
        "cluster_up_s": round(up_s, 2),
        "serves_after_down_s": round(max(answered["answered"].values()), 2),
    }
    print(f"\nwhole restart: {timings['whole_restart']}")
    for collection, journal in {**verified, name: load.journal}.items():
        verify(fault_cluster, collection, journal)
