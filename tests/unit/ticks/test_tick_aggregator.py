"""The coordinator's tick aggregation: who counts, and what each event lets ticks do.

Driven directly, with hand-made reports, on the real TimestampOracle and
EmbeddedLog; every tick published is read back from the channel.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from coordinator.allocators import TimestampOracle
from coordinator.ticks import TickAggregator
from elanus import dml, errors
from elanus.kv.embedded import EmbeddedKV
from elanus.services import SafeTsReport
from elanus.stream.embedded_log import EmbeddedLog

CHANNELS = ("dml_0", "dml_1")
A, B = 1, 2


@dataclass
class Bench:
    tso: TimestampOracle
    log: EmbeddedLog
    ticks: TickAggregator

    def fresh(self) -> int:
        return self.tso.allocate()

    def published(self, pchannel: str = CHANNELS[0]) -> list[int]:
        """Every tick on the channel, in order."""
        consumer = self.log.consume(pchannel, 0)
        end = self.log.end_position(pchannel)
        found: list[int] = []
        seen = 0
        for _ in range(100):
            if seen >= end:
                break
            for message in consumer.poll(1024, timeout_s=0.01):
                seen += 1
                decoded = dml.decode(message.payload)
                if isinstance(decoded, dml.TimeTick):
                    assert decoded.stamp.source_id == 0, "ticks come from the coordinator"
                    found.append(decoded.timestamp)
        consumer.close()
        return found


def open_bench(tmp_path: Path, grace_s: float = 0.0) -> tuple[Bench, EmbeddedKV]:
    kv = EmbeddedKV(tmp_path / "kv.sqlite")
    tso = TimestampOracle(kv, window_s=1.0)
    log = EmbeddedLog(tmp_path / "log", poll_interval_s=0.01)
    ticks = TickAggregator(
        log, tso.allocate, lambda: CHANNELS, interval_s=60.0, startup_grace_s=grace_s
    )
    return Bench(tso, log, ticks), kv


@pytest.fixture
def bench(tmp_path: Path) -> Iterator[Bench]:
    opened, kv = open_bench(tmp_path)
    yield opened
    opened.ticks.stop()
    opened.log.close()
    kv.close()


def test_ticks_follow_the_slowest_live_proxy(bench: Bench) -> None:
    ticks = bench.ticks
    floor_a = ticks.register_proxy(A)
    floor_b = ticks.register_proxy(B)
    assert 0 < floor_a < floor_b
    # A has a write in flight on dml_0 drawn at held + 1; B is idle and fresh.
    held = bench.fresh()
    ticks.report(A, SafeTsReport(bench.fresh(), {CHANNELS[0]: held}), 0)
    fresh_b = bench.fresh()
    ticks.report(B, SafeTsReport(fresh_b), 0)
    assert ticks.last_tick(CHANNELS[0]) == held
    assert ticks.last_tick(CHANNELS[1]) < fresh_b  # A's safe_ts, drawn before B's
    # A's write is acknowledged: its next report frees dml_0.
    fresh_a = bench.fresh()
    ticks.report(A, SafeTsReport(fresh_a), 0)
    assert ticks.last_tick(CHANNELS[0]) == fresh_b
    assert bench.published() == sorted(set(bench.published())), "ticks only rise"


def test_a_stale_report_never_lowers_a_proxys_bound(bench: Bench) -> None:
    ticks = bench.ticks
    ticks.register_proxy(A)
    older = SafeTsReport(bench.fresh())
    newer = SafeTsReport(bench.fresh())
    ticks.report(A, newer, 0)
    ticks.report(A, older, 0)  # overtaken on the wire
    assert ticks.last_tick(CHANNELS[0]) == newer.safe_ts
    assert bench.published() == [newer.safe_ts]


def test_a_late_joiner_never_causes_a_tick_below_the_last(bench: Bench) -> None:
    ticks = bench.ticks
    ticks.register_proxy(A)
    ticks.report(A, SafeTsReport(bench.fresh()), 0)
    before = ticks.last_tick(CHANNELS[0])
    floor = ticks.register_proxy(B)
    assert floor > before, "the joiner's floor is above every tick so far"
    ticks.report(A, SafeTsReport(bench.fresh()), 0)  # held back by B's floor now
    assert ticks.last_tick(CHANNELS[0]) == floor
    ticks.report(B, SafeTsReport(bench.fresh()), 0)
    ticks.report(A, SafeTsReport(bench.fresh()), 0)
    published = bench.published()
    assert published == sorted(published) and len(set(published)) == len(published)
    assert published[0] == before


def test_a_dead_proxy_holds_ticks_until_it_left(bench: Bench) -> None:
    ticks = bench.ticks
    ticks.register_proxy(A)
    ticks.register_proxy(B)
    held = bench.fresh()
    ticks.report(A, SafeTsReport(bench.fresh(), {CHANNELS[0]: held}), 0)  # then A dies
    for _ in range(5):
        ticks.report(B, SafeTsReport(bench.fresh()), 0)
    assert ticks.last_tick(CHANNELS[0]) == held, "a dead proxy's write in flight holds ticks"
    ticks.proxy_left(A)
    assert ticks.last_tick(CHANNELS[0]) > held
    assert ticks.live_proxies() == [B]
    with pytest.raises(errors.ServiceUnavailable):
        ticks.report(A, SafeTsReport(bench.fresh()), 0)  # its reports no longer count
    assert ticks.live_proxies() == [B]
    ticks.register_proxy(A)  # a new life under the same id counts again
    assert ticks.live_proxies() == [A, B]


def test_unregister_then_no_proxy_ticks_at_fresh_timestamps(bench: Bench) -> None:
    ticks = bench.ticks
    ticks.register_proxy(A)
    ticks.report(A, SafeTsReport(bench.fresh(), {CHANNELS[0]: bench.fresh()}), 0)
    ticks.unregister_proxy(A)
    before = bench.fresh()
    ticks.tick()
    assert ticks.last_tick(CHANNELS[0]) > before
    with pytest.raises(errors.ServiceUnavailable):
        ticks.report(A, SafeTsReport(bench.fresh()), 0)


def test_a_proxy_expected_from_its_session_holds_ticks_until_it_reports(bench: Bench) -> None:
    ticks = bench.ticks
    ticks.expect_proxy(A)
    ticks.tick()
    assert bench.published() == [], "A may have anything in flight"
    report = SafeTsReport(bench.fresh(), {CHANNELS[1]: bench.fresh() - 5})
    ticks.report(A, report, 0)
    assert ticks.last_tick(CHANNELS[0]) == report.safe_ts
    assert ticks.last_tick(CHANNELS[1]) == report.held[CHANNELS[1]]


def test_a_report_from_an_unknown_proxy_counts_it(bench: Bench) -> None:
    """After a coordinator restart the proxies still running carry on reporting."""
    report = SafeTsReport(bench.fresh())
    bench.ticks.report(A, report, 0)
    assert bench.ticks.live_proxies() == [A]
    assert bench.ticks.last_tick(CHANNELS[0]) == report.safe_ts


def test_no_tick_alone_during_the_start_up_grace(tmp_path: Path) -> None:
    bench, kv = open_bench(tmp_path, grace_s=30.0)
    try:
        bench.ticks.start()
        bench.ticks.tick()
        assert bench.published() == [], "a previous coordinator's proxies may still write"
        bench.ticks.register_proxy(A)
        bench.ticks.report(A, SafeTsReport(bench.fresh()), 0)
        assert len(bench.published()) == 1
    finally:
        bench.ticks.stop()
        bench.log.close()
        kv.close()


def test_a_read_wakes_the_other_proxies_reports(bench: Bench) -> None:
    """B's read needs a tick A's old report cannot give: A's waiting report call returns."""
    ticks = bench.ticks
    ticks.register_proxy(A)
    ticks.register_proxy(B)
    answers: list[tuple[int, float]] = []

    def a_reports() -> None:
        started = time.monotonic()
        demand = ticks.report(A, SafeTsReport(bench.fresh()), wait_s=20.0)
        answers.append((demand, time.monotonic() - started))

    waiting = threading.Thread(target=a_reports)
    waiting.start()
    time.sleep(0.05)
    guarantee = bench.fresh()
    ticks.request_tick(B, SafeTsReport(bench.fresh()), CHANNELS[:1], guarantee)
    waiting.join(5)
    assert answers and answers[0][0] == 1 and answers[0][1] < 2.0, answers
    assert ticks.last_tick(CHANNELS[0]) < guarantee, "A's old report still holds the tick"
    ticks.report(A, SafeTsReport(bench.fresh(), demand=1), 0)  # A's fresh report
    assert ticks.last_tick(CHANNELS[0]) >= guarantee


def test_a_burst_of_reads_after_one_write_costs_one_tick(bench: Bench) -> None:
    ticks = bench.ticks
    ticks.register_proxy(A)
    written = bench.fresh()
    for _ in range(5):
        ticks.request_tick(A, SafeTsReport(bench.fresh()), CHANNELS, written)
    assert len(bench.published(CHANNELS[0])) == len(bench.published(CHANNELS[1])) == 1


def test_stop_releases_waiting_report_calls(bench: Bench) -> None:
    bench.ticks.register_proxy(A)
    done = threading.Event()

    def a_reports() -> None:
        bench.ticks.report(A, SafeTsReport(bench.fresh()), wait_s=30.0)
        done.set()

    threading.Thread(target=a_reports, daemon=True).start()
    time.sleep(0.05)
    bench.ticks.stop()
    assert done.wait(2.0)
