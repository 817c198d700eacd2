"""Which guarantee timestamp each consistency level yields, and when the proxy ticks for it.

pymilvus names no level as ``use_default_consistency`` with level 0 (Strong),
so the collection's level must win over the request's whenever use_default is
set. Strong, Bounded and Session guarantees at or below "now" are helped along
by an immediate tick (skipped when a tick already covers them); a guarantee
from the future is left to wait, bounded, on the querynode.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from time_harness import (
    TimeServices,
    TsoBroker,
    as_coordinator,
    make_collection,
    open_log,
    read_channels,
)

from elanus import timestamps
from elanus.kv.embedded import EmbeddedKV
from elanus.meta import ConsistencyLevel
from elanus.stream.embedded_log import EmbeddedLog
from proxy.reads import Consistency, Reader
from proxy.writer import DmlWriter

GRACEFUL_S = 2.5
Level = ConsistencyLevel


@dataclass
class TickRequests:
    """What the Reader asked of the writer's ``tick``."""

    calls: list[tuple[tuple[str, ...], int]] = field(default_factory=list)

    def __call__(self, pchannels: Iterable[str], at_least: int = 0) -> None:
        self.calls.append((tuple(pchannels), at_least))


@pytest.fixture
def log(tmp_path: Path) -> Iterator[EmbeddedLog]:
    opened = open_log(tmp_path / "log")
    yield opened
    opened.close()


@pytest.fixture
def broker(tmp_path: Path, log: EmbeddedLog) -> Iterator[TsoBroker]:
    kv = EmbeddedKV(tmp_path / "kv.sqlite")
    yield TsoBroker(TimeServices.open(kv, log, make_collection(shards=3).pchannels))
    kv.close()


def reader_with(broker: TsoBroker, ticks: TickRequests) -> Reader:
    return Reader(broker, {}, GRACEFUL_S, max_topk=100, tick_now=ticks)  # type: ignore[arg-type]


@pytest.mark.parametrize("collection_level", list(Level))
@pytest.mark.parametrize("request_level", list(Level))
def test_use_default_takes_the_collections_level(
    broker: TsoBroker, collection_level: Level, request_level: Level
) -> None:
    ticks = TickRequests()
    reader = reader_with(broker, ticks)
    info = make_collection(level=collection_level)
    session_ts = broker.alloc_timestamp()
    by_default = reader.guarantee_ts(info, Consistency(request_level, True, session_ts))
    explicit = reader.guarantee_ts(info, Consistency(collection_level, False, session_ts))
    # Customized reads the client's timestamp exactly as Session does.
    expected = Level.SESSION if collection_level is Level.CUSTOMIZED else collection_level
    assert _shape(by_default, session_ts) == _shape(explicit, session_ts) == expected


def _shape(result: tuple[int, int], session_ts: int) -> Level:
    """Recognise the level from (guarantee, mvcc) alone."""
    guarantee, mvcc = result
    if guarantee == mvcc:
        return Level.STRONG
    if guarantee == timestamps.EVENTUALLY_TS:
        return Level.EVENTUALLY
    if guarantee == session_ts:
        return Level.SESSION
    lag_ms = timestamps.physical_ms(mvcc) - timestamps.physical_ms(guarantee)
    assert lag_ms == int(GRACEFUL_S * 1000) and timestamps.logical(guarantee) == 0
    return Level.BOUNDED


@pytest.mark.parametrize(
    "level",
    [Level.STRONG, Level.BOUNDED, Level.SESSION, Level.EVENTUALLY, Level.CUSTOMIZED],
)
def test_levels_give_their_guarantee(broker: TsoBroker, level: Level) -> None:
    ticks = TickRequests()
    reader = reader_with(broker, ticks)
    info = make_collection()
    written = broker.alloc_timestamp()
    guarantee, mvcc = reader.guarantee_ts(info, Consistency(level, False, written))
    assert mvcc > written, "the MVCC timestamp is fresh"
    expected = {
        Level.STRONG: mvcc,
        Level.BOUNDED: timestamps.ts_before(mvcc, GRACEFUL_S),
        Level.SESSION: written,
        Level.CUSTOMIZED: written,
        Level.EVENTUALLY: timestamps.EVENTUALLY_TS,
    }[level]
    assert guarantee == expected
    if level is Level.EVENTUALLY:
        assert ticks.calls == [], "Eventually never asks for a tick"
    else:
        assert ticks.calls == [(info.pchannels, guarantee)]


def test_a_session_read_without_a_write_is_eventually(broker: TsoBroker) -> None:
    """pymilvus sends 0 or 1 when this client wrote nothing yet: no wait, no tick."""
    ticks = TickRequests()
    reader = reader_with(broker, ticks)
    for client_ts in (0, 1):
        guarantee, _ = reader.guarantee_ts(
            make_collection(), Consistency(Level.SESSION, False, client_ts)
        )
        assert guarantee == timestamps.EVENTUALLY_TS
    assert ticks.calls == []


def test_a_guarantee_from_the_future_is_not_ticked_for(broker: TsoBroker) -> None:
    ticks = TickRequests()
    reader = reader_with(broker, ticks)
    future = timestamps.compose(timestamps.now_ms() + 3_600_000)
    guarantee, mvcc = reader.guarantee_ts(
        make_collection(), Consistency(Level.CUSTOMIZED, False, future)
    )
    assert guarantee == future > mvcc
    assert ticks.calls == []


def test_tick_at_least_skips_channels_already_covered(broker: TsoBroker, log: EmbeddedLog) -> None:
    """A burst of Session reads after one write costs one tick per channel, not one per read."""
    info = make_collection(shards=2)
    writer = DmlWriter(1, log, as_coordinator(broker), tick_interval_s=60)
    writer.register()
    written = broker.alloc_timestamp()
    for _ in range(5):
        writer.tick(info.pchannels, at_least=written)
    assert read_channels(log, info.pchannels).ticks == 2
    writer.tick(info.pchannels[:1], at_least=broker.alloc_timestamp())
    assert read_channels(log, info.pchannels).ticks == 3
    writer.tick(info.pchannels)  # no at_least: always ticks
    report = read_channels(log, info.pchannels)
    assert report.ticks == 5
    assert report.tick_sources == {0}, "the coordinator ticks, not the proxy"
