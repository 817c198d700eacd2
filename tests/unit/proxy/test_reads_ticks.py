"""When the Reader asks the DML writer for a tick, and when it knows one is out already.

Asking is only ever about latency (the querynode waits for serve-time to pass
the guarantee either way), so the Reader skips the request when its own earlier
requests already covered the guarantee, and a Bounded read on channels seen
ticking does not wait for it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import pytest

from elanus import timestamps
from elanus.meta import CollectionInfo, ConsistencyLevel
from proxy.reads import BOUNDED_TICK_GAP_S, Consistency, KnownTicks, Reader

GRACEFUL_S = 1.0
CHANNELS = ("by-dml_0", "by-dml_1")


@dataclass
class Clock:
    """A TSO that moves one millisecond per timestamp."""

    ms: int = timestamps.now_ms()

    def alloc_timestamp(self) -> int:
        self.ms += 1
        return timestamps.compose(self.ms)


@dataclass
class Ticks:
    """A writer's ``tick``: records calls, and can be held until ``release`` is set."""

    calls: list[tuple[tuple[str, ...], int]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    entered: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.release.set()

    def __call__(self, pchannels: Iterable[str], at_least: int = 0) -> None:
        self.calls.append((tuple(pchannels), at_least))
        self.entered.set()
        assert self.release.wait(10.0)


@dataclass(frozen=True)
class Info:
    """The two attributes of a CollectionInfo that guarantee_ts reads."""

    pchannels: tuple[str, ...] = CHANNELS
    consistency_level: ConsistencyLevel = ConsistencyLevel.BOUNDED


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def ticks() -> Iterator[Ticks]:
    made = Ticks()
    yield made
    made.release.set()


def reader(clock: Clock, ticks: Ticks) -> Reader:
    return Reader(clock, {}, GRACEFUL_S, max_topk=100, tick_now=ticks)  # type: ignore[arg-type]


def read(reader: Reader, level: ConsistencyLevel, session_ts: int = 0) -> tuple[int, int]:
    info: CollectionInfo = Info()  # type: ignore[assignment]
    return reader.guarantee_ts(info, Consistency(level, False, session_ts))


def wait_for(condition: object, timeout_s: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.005)
    return False


def test_first_bounded_read_asks_and_waits(clock: Clock, ticks: Ticks) -> None:
    guarantee, _ = read(reader(clock, ticks), ConsistencyLevel.BOUNDED)
    assert ticks.calls == [(CHANNELS, guarantee)]


def test_session_read_below_an_earlier_request_is_not_asked_again(
    clock: Clock, ticks: Ticks
) -> None:
    subject = reader(clock, ticks)
    written = clock.alloc_timestamp()
    read(subject, ConsistencyLevel.SESSION, written)
    read(subject, ConsistencyLevel.SESSION, written)
    read(subject, ConsistencyLevel.SESSION, written - 1)
    assert ticks.calls == [(CHANNELS, written)]
    later = clock.alloc_timestamp()
    read(subject, ConsistencyLevel.SESSION, later)
    assert ticks.calls[-1] == (CHANNELS, later)


def test_strong_reads_always_wait_for_their_tick(clock: Clock, ticks: Ticks) -> None:
    subject = reader(clock, ticks)
    guarantees = [read(subject, ConsistencyLevel.STRONG)[0] for _ in range(3)]
    assert ticks.calls == [(CHANNELS, g) for g in guarantees]


def test_uncovered_bounded_read_on_ticking_channels_does_not_wait(
    clock: Clock, ticks: Ticks
) -> None:
    subject = reader(clock, ticks)
    read(subject, ConsistencyLevel.BOUNDED)  # the channels are now known to tick
    ticks.entered.clear()
    ticks.release.clear()  # the next request hangs until released
    clock.ms += 50
    started = time.monotonic()
    guarantee, _ = read(subject, ConsistencyLevel.BOUNDED)
    assert time.monotonic() - started < 1.0, "the read waited for its tick request"
    assert ticks.entered.wait(5.0), "no background request was made"
    assert ticks.calls[-1] == (CHANNELS, guarantee)
    clock.ms += 500
    read(subject, ConsistencyLevel.BOUNDED)  # one still in flight: no second one
    assert len(ticks.calls) == 2
    ticks.release.set()
    assert wait_for(lambda: subject._ticks.covers(CHANNELS, guarantee))


def test_background_requests_are_spaced(clock: Clock, ticks: Ticks) -> None:
    subject = reader(clock, ticks)
    read(subject, ConsistencyLevel.BOUNDED)
    for _ in range(10):
        clock.ms += 5
        read(subject, ConsistencyLevel.BOUNDED)
    assert wait_for(lambda: len(ticks.calls) >= 2)
    time.sleep(0.05)
    assert len(ticks.calls) == 2, "more than one background request within the gap"
    time.sleep(BOUNDED_TICK_GAP_S)
    clock.ms += 5
    read(subject, ConsistencyLevel.BOUNDED)
    assert wait_for(lambda: len(ticks.calls) == 3)


def test_a_failed_background_request_is_retried_later(clock: Clock) -> None:
    failures: list[int] = []

    def failing(pchannels: Iterable[str], at_least: int = 0) -> None:
        if failures:
            failures.append(at_least)
            raise RuntimeError("coordinator unreachable")
        failures.append(at_least)

    subject = Reader(clock, {}, GRACEFUL_S, 100, tick_now=failing)  # type: ignore[arg-type]
    read(subject, ConsistencyLevel.BOUNDED)
    clock.ms += 5
    guarantee, _ = read(subject, ConsistencyLevel.BOUNDED)
    assert wait_for(lambda: len(failures) == 2)
    assert not subject._ticks.covers(CHANNELS, guarantee), "a failed request proves nothing"
    time.sleep(BOUNDED_TICK_GAP_S)
    read(subject, ConsistencyLevel.BOUNDED)
    assert wait_for(lambda: len(failures) == 3)


def test_known_ticks_only_rise() -> None:
    known = KnownTicks()
    known.note(CHANNELS[:1], 500)
    known.note(CHANNELS, 100)
    known.note(CHANNELS, 50)
    assert known.covers(CHANNELS[:1], 500)
    assert known.covers(CHANNELS, 100)
    assert not known.covers(CHANNELS, 101)
    assert known.seen(CHANNELS) and not known.seen(("other",))
