"""kill -9 of each role in turn under a steady insert+delete load through two
proxies, each restarted by ``elanus cluster up``: the cluster serves again, and
a Strong read through either proxy shows exactly the acknowledged inserts minus
the acknowledged deletes (keys of failed operations either way)."""

from __future__ import annotations

from pathlib import Path

from tests.faults.harness import FAULT_MARKS, FaultCluster, Load, loadgen, verify

pytestmark = FAULT_MARKS

VICTIMS = [("datanode", 0), ("querynode", 0), ("indexnode", 0), ("coordinator", 0), ("proxy", 1)]
WRITES_BACK_S = 120.0
LOAD_LIMIT_S = 420.0


def test_each_role_killed_under_load_loses_nothing(
    fault_cluster: FaultCluster, work_dir: Path, timings: dict, verified: dict
) -> None:
    name = "role_kills"
    loadgen("setup", fault_cluster.uris()[0], name)
    load = Load(fault_cluster, name, work_dir, seconds=LOAD_LIMIT_S)
    measured: dict[str, dict] = {}
    try:
        load.wait_for_acks(10)
        for role, index in VICTIMS:
            probe = fault_cluster.prepare_probe(name, work_dir)
            pid, killed_at = fault_cluster.kill9(role, index)
            probe.go(killed_at)
            up_s = fault_cluster.up()
            answered = probe.result()
            assert all(v is not None for v in answered["answered"].values()), (
                f"after kill -9 of {role}-{index} (pid {pid}) a proxy never answered: "
                f"{answered}\n{fault_cluster.log_tails()}"
            )
            writes_s = load.wait_for_writes_after(killed_at, writers=2, timeout_s=WRITES_BACK_S)
            measured[f"{role}-{index}"] = {
                "serves_again_s": round(max(answered["answered"].values()), 2),
                "writes_again_s": round(writes_s, 2),
                "cluster_up_s": round(up_s, 2),
            }
            print(f"\nkill -9 {role}-{index}: {measured[f'{role}-{index}']}")
            load.wait_for_acks(6)  # some load between kills
    finally:
        load.stop()
        timings["role_kills"] = measured
    expected = verify(fault_cluster, name, load.journal)
    timings["role_kills"]["journal"] = {
        "acked_ops": expected.acked_ops,
        "failed_ops": expected.failed_ops,
        "rows_present": len(expected.present),
        "rows_deleted": len(expected.absent),
    }
    verified[name] = load.journal
