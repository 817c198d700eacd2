"""Channel retention: only what every checkpoint has left behind, and only once it is old."""

from __future__ import annotations

from pathlib import Path

from coordinator.retention import ChannelRetention
from elanus.stream.embedded_log import EmbeddedLog

RETENTION_S = 60.0


def _log_with(tmp_path: Path, count: int) -> EmbeddedLog:
    log = EmbeddedLog(tmp_path / "log")
    log.produce("ch", [str(i).encode() for i in range(count)])
    return log


def _first_position(log: EmbeddedLog) -> int:
    consumer = log.consume("ch", 0)
    try:
        return consumer.poll(1, timeout_s=0.5)[0].position
    finally:
        consumer.close()


def test_truncates_only_below_a_checkpoint_older_than_the_retention(tmp_path: Path) -> None:
    log = _log_with(tmp_path, 100)
    lowest = {"ch": 50}
    retention = ChannelRetention(log, lambda: dict(lowest), RETENTION_S, interval_s=1.0)

    assert retention.run_once(now=0.0) == {}  # nothing is old enough yet
    lowest["ch"] = 80
    assert retention.run_once(now=RETENTION_S / 2) == {}
    assert _first_position(log) == 0

    # At t=retention the checkpoint seen at t=0 (50) is old enough; 80 is not yet.
    assert retention.run_once(now=RETENTION_S) == {"ch": 50}
    assert _first_position(log) == 50

    assert retention.run_once(now=RETENTION_S * 1.5) == {"ch": 30}
    assert _first_position(log) == 80
    log.close()


def test_positions_after_truncation_are_unchanged(tmp_path: Path) -> None:
    log = _log_with(tmp_path, 10)
    retention = ChannelRetention(log, lambda: {"ch": 4}, RETENTION_S, interval_s=1.0)
    retention.run_once(now=0.0)
    retention.run_once(now=RETENTION_S)
    consumer = log.consume("ch", 0)
    messages = consumer.poll(100, timeout_s=0.5)
    consumer.close()
    assert [(m.position, m.payload) for m in messages] == [
        (i, str(i).encode()) for i in range(4, 10)
    ]
    assert log.end_position("ch") == 10
    log.close()


def test_a_restart_after_truncation_keeps_every_row(tmp_path: Path) -> None:
    """With retention at zero the log keeps only what checkpoints need, and that is enough."""
    import sys

    sys.path.insert(0, str(Path(__file__).parents[1] / "roles"))
    from roles_harness import RoleSet, make_rows

    def no_retention(config) -> None:
        config.coordinator.log_retention_s = 0.0
        config.coordinator.retention_interval_s = 3600.0  # run by hand below

    roles = RoleSet(tmp_path).start(no_retention)
    info = roles.create_collection(shards=1)
    roles.writer.insert(info, info.partitions[0].partition_id, make_rows(info.schema, range(100)))
    roles.flush_and_wait(info)
    roles.writer.insert(
        info, info.partitions[0].partition_id, make_rows(info.schema, range(100, 150))
    )
    pchannel = info.pchannels[0]
    checkpoint = roles.coordinator.segments.checkpoint(info.vchannels[0], pchannel).position
    assert roles.coordinator.lowest_checkpoints()[pchannel] == checkpoint
    retention = ChannelRetention(roles.stream, roles.coordinator.lowest_checkpoints, 0.0, 3600.0)
    assert retention.run_once()[pchannel] > 0
    roles.stop()

    roles = RoleSet(tmp_path).start(no_retention)
    try:
        info = roles.info(info.name)
        roles.load(info)
        assert sorted(roles.rows_by_pk(info)) == list(range(150))
    finally:
        roles.stop()
