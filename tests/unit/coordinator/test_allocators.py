"""TSO and id allocator: strictly increasing, across threads, restarts, clock jumps and kill -9."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from coordinator.allocators import IdAllocator, TimestampOracle
from elanus import timestamps
from elanus.kv.embedded import EmbeddedKV
from tests.contract.crash import run_and_kill


@pytest.fixture
def kv_path(tmp_path: Path) -> Path:
    return tmp_path / "kv.sqlite"


def test_tso_strictly_increasing_under_threads(kv_path: Path) -> None:
    kv = EmbeddedKV(kv_path)
    try:
        tso = TimestampOracle(kv, window_s=0.05)  # small window: many reservations mid-run
        per_thread: list[list[int]] = [[] for _ in range(8)]

        def work(out: list[int]) -> None:
            for i in range(2000):
                out.append(tso.allocate(1 + i % 3))

        threads = [threading.Thread(target=work, args=(out,)) for out in per_thread]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        for seq in per_thread:
            assert all(a < b for a, b in zip(seq, seq[1:], strict=False))
        everything = [ts for seq in per_thread for ts in seq]
        assert len(set(everything)) == len(everything)
    finally:
        kv.close()


def test_tso_batches_do_not_overlap(kv_path: Path) -> None:
    kv = EmbeddedKV(kv_path)
    try:
        tso = TimestampOracle(kv)
        spans = [(first, first + n) for n in (1, 5, 1000, 2, 70_000) for first in [tso.allocate(n)]]
        for (_, end), (start, _) in zip(spans, spans[1:], strict=False):
            assert start >= end
        with pytest.raises(ValueError):
            tso.allocate(0)
        with pytest.raises(ValueError):
            tso.allocate(timestamps.LOGICAL_MASK + 1)
    finally:
        kv.close()


def test_tso_increases_across_restart_even_when_the_clock_goes_back(
    kv_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [1_700_000_000_000]
    monkeypatch.setattr(timestamps, "now_ms", lambda: clock[0])
    kv = EmbeddedKV(kv_path)
    last = 0
    try:
        for restart in range(5):
            tso = TimestampOracle(kv, window_s=3.0)
            for _ in range(100):
                ts = tso.allocate()
                assert ts > last
                last = ts
            clock[0] += 10 if restart % 2 else -60_000  # forward a little, or a minute back
        # Within one process too: the clock stepping back never makes time go back.
        tso = TimestampOracle(kv)
        first = tso.allocate()
        clock[0] -= 3_600_000
        assert tso.allocate() > first > last
    finally:
        kv.close()


def test_tso_across_restart_on_a_reopened_store(kv_path: Path) -> None:
    last = 0
    for _ in range(3):
        kv = EmbeddedKV(kv_path)
        try:
            tso = TimestampOracle(kv)
            ts = tso.allocate()
            assert ts > last
            last = tso.allocate(10)
        finally:
            kv.close()


_TSO_SCRIPT = """
import sys
from pathlib import Path
from coordinator.allocators import TimestampOracle
from elanus.kv.embedded import EmbeddedKV
tso = TimestampOracle(EmbeddedKV(Path(sys.argv[1])), window_s=0.05)
for _ in range(10_000_000):
    print(tso.allocate(), flush=True)
"""


@pytest.mark.fault
def test_tso_after_kill_9_hands_out_more_than_every_printed_value(kv_path: Path) -> None:
    for _ in range(2):
        printed = [int(line) for line in run_and_kill(_TSO_SCRIPT, [str(kv_path)], min_lines=200)]
        assert printed == sorted(printed)
        kv = EmbeddedKV(kv_path)
        try:
            assert TimestampOracle(kv).allocate() > max(printed)
        finally:
            kv.close()


def test_ids_never_repeat_across_restart(kv_path: Path) -> None:
    seen: set[int] = set()
    for restart in range(4):
        kv = EmbeddedKV(kv_path)
        try:
            ids = IdAllocator(kv, block=7 + restart)
            for count in (1, 3, 10, 1, 25):
                first = ids.allocate(count)
                batch = set(range(first, first + count))
                assert not batch & seen
                seen |= batch
            with pytest.raises(ValueError):
                ids.allocate(0)
        finally:
            kv.close()


def test_ids_unique_under_threads(kv_path: Path) -> None:
    kv = EmbeddedKV(kv_path)
    try:
        ids = IdAllocator(kv, block=50)
        got: list[int] = []
        lock = threading.Lock()

        def work() -> None:
            mine = [ids.allocate() for _ in range(500)]
            with lock:
                got.extend(mine)

        threads = [threading.Thread(target=work) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert len(set(got)) == len(got) == 3000
    finally:
        kv.close()
