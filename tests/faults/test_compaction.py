"""Compaction on the cluster after half of the rows were deleted (the standalone
variant is tests/unit/compaction): a Strong read before and after a manual
compaction shows exactly the acknowledged inserts minus the acknowledged
deletes through both proxies, so the merge neither loses rows nor brings
deleted ones back."""

from __future__ import annotations

from pathlib import Path

from tests.faults.harness import FAULT_MARKS, FaultCluster, Load, loadgen, verify

pytestmark = FAULT_MARKS

LOAD_S = 8.0
INSERT_BATCH = 40  # loadgen.INSERT_BATCH: deleting as many keys per delete deletes half


def test_compaction_after_half_deleted_keeps_the_guarantee(
    fault_cluster: FaultCluster, work_dir: Path, timings: dict, verified: dict
) -> None:
    name = "compaction"
    loadgen("setup", fault_cluster.uris()[0], name)
    load = Load(
        fault_cluster, name, work_dir, seconds=120, extra=["--delete-batch", str(INSERT_BATCH)]
    )
    try:
        load.wait_for_acks(12)
        load.wait_for_acks(int(LOAD_S / 0.2), timeout_s=120)
    finally:
        load.stop()
    before = verify(fault_cluster, name, load.journal)
    assert len(before.absent) >= 0.3 * (len(before.present) + len(before.absent)), before
    compacted = loadgen("compact", fault_cluster.uris()[1], name)
    assert compacted["state"] == "Completed", compacted
    verify(fault_cluster, name, load.journal)
    timings["compaction"] = {
        "compact_s": round(compacted["seconds"], 2),
        "rows_present": len(before.present),
        "rows_deleted": len(before.absent),
    }
    verified[name] = load.journal
