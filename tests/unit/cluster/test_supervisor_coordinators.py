"""``cluster up --coordinators N`` and how ``cluster status`` reports active and standby."""

from __future__ import annotations

from pathlib import Path

from elanus.cli import build_parser
from elanus.cluster.supervisor import ClusterSpec, ProcessRecord, _coordinator_state


def test_the_spec_starts_as_many_coordinators_as_asked(tmp_path: Path) -> None:
    assert ClusterSpec(tmp_path).counts()["coordinator"] == 1
    assert ClusterSpec(tmp_path, coordinators=3).counts()["coordinator"] == 3
    args = build_parser().parse_args(["cluster", "up", "--data-dir", "d", "--coordinators", "2"])
    assert args.coordinators == 2


def test_status_tells_the_active_coordinator_from_a_standby() -> None:
    record = ProcessRecord("coordinator", 0, port=1, pid=100)
    assert _coordinator_state(record, True, leader_pid=100)[:2] == ("active", True)
    assert _coordinator_state(record, False, leader_pid=100)[:2] == ("active", False)
    assert _coordinator_state(record, False, leader_pid=200)[:2] == ("standby", True)
    assert _coordinator_state(record, False, leader_pid=0)[:2] == ("standby", False)
    assert _coordinator_state(record, True, leader_pid=None)[:2] == ("active", True)
    assert _coordinator_state(record, False, leader_pid=None)[:2] == ("", False)
