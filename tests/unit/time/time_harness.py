"""Pieces shared by the time tests: the coordinator's time services, a small collection,
a channel checker.

The DML writer needs timestamps, segment ids and the coordinator's time ticks.
:class:`TimeServices` holds exactly those, the real :class:`TimestampOracle`,
:class:`IdAllocator` and :class:`TickAggregator` on an embedded KV and log, and
:class:`TsoBroker` is one proxy's view of them: several writers (several
proxies) share one TSO and one aggregator without a whole coordinator.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, cast

import numpy as np
import pyarrow as pa

from coordinator.allocators import IdAllocator, TimestampOracle
from coordinator.ticks import TickAggregator
from elanus import dml
from elanus.columns import arrow_schema, vector_column
from elanus.kv.embedded import EmbeddedKV
from elanus.meta import DEFAULT_DB, CollectionInfo, ConsistencyLevel, PartitionInfo
from elanus.schema import CollectionSchema, DataType, FieldSchema
from elanus.services import CoordinatorForProxy, SafeTsReport
from elanus.stream import EARLIEST, Consumer, MessageStream, Position
from elanus.stream.embedded_log import EmbeddedLog
from proxy.writer import shard_of

PARTITION_ID = 11
COLLECTION_ID = 7
MAX_POLLS = 10_000


@dataclass
class TimeServices:
    """The coordinator's side of time: one TSO, one id allocator, one tick aggregator.

    The aggregator's own ticker is not started (tests tick it when they mean
    to), and it has no start-up grace: with no proxy it ticks at once.
    """

    tso: TimestampOracle
    ids: IdAllocator
    ticks: TickAggregator

    @classmethod
    def open(cls, kv: EmbeddedKV, stream: MessageStream, pchannels: Sequence[str]) -> TimeServices:
        tso = TimestampOracle(kv, window_s=1.0)
        channels = tuple(pchannels)
        ticks = TickAggregator(
            stream, tso.allocate, lambda: channels, interval_s=60.0, startup_grace_s=0.0
        )
        return cls(tso, IdAllocator(kv), ticks)


class WriterCoordinator(Protocol):
    """The part of :class:`CoordinatorForProxy` a DmlWriter calls (proxy/writer.py)."""

    def alloc_timestamp(self, count: int = 1) -> int: ...

    def assign_segment(
        self, collection_id: int, partition_id: int, vchannel: str, num_rows: int
    ) -> int: ...

    def register_proxy(self, proxy_id: int) -> int: ...

    def unregister_proxy(self, proxy_id: int) -> None: ...

    def report_safe_ts(self, proxy_id: int, report: SafeTsReport, wait_s: float) -> int: ...

    def request_tick(
        self, proxy_id: int, report: SafeTsReport, pchannels: Sequence[str], at_least: int
    ) -> None: ...


def as_coordinator(broker: WriterCoordinator) -> CoordinatorForProxy:
    """A writer's coordinator that serves only the calls a DmlWriter makes.

    DmlWriter takes a whole CoordinatorForProxy; the broker is checked against
    the part of it the writer uses, and the rest is never called.
    """
    return cast(CoordinatorForProxy, broker)


class LogStream:
    """A :class:`MessageStream` that hands every call to a log; fakes override a method."""

    def __init__(self, log: MessageStream) -> None:
        self._log = log

    def create_channel(self, channel: str) -> None:
        self._log.create_channel(channel)

    def produce(self, channel: str, payloads: Sequence[bytes]) -> list[Position]:
        return self._log.produce(channel, payloads)

    def consume(self, channel: str, start: Position = EARLIEST) -> Consumer:
        return self._log.consume(channel, start)

    def end_position(self, channel: str) -> Position:
        return self._log.end_position(channel)

    def truncate_before(self, channel: str, position: Position) -> int:
        return self._log.truncate_before(channel, position)

    def close(self) -> None:
        self._log.close()


class TsoBroker:
    """The coordinator calls a DmlWriter makes, backed by :class:`TimeServices`."""

    def __init__(
        self, time: TimeServices, on_timestamp: Callable[[int], None] | None = None
    ) -> None:
        self.time = time
        self._on_timestamp = on_timestamp

    def alloc_timestamp(self, count: int = 1) -> int:
        ts = self.time.tso.allocate(count)
        if self._on_timestamp is not None:
            self._on_timestamp(ts)
        return ts

    def assign_segment(
        self, collection_id: int, partition_id: int, vchannel: str, num_rows: int
    ) -> int:
        return self.time.ids.allocate()

    def register_proxy(self, proxy_id: int) -> int:
        return self.time.ticks.register_proxy(proxy_id)

    def unregister_proxy(self, proxy_id: int) -> None:
        self.time.ticks.unregister_proxy(proxy_id)

    def report_safe_ts(self, proxy_id: int, report: SafeTsReport, wait_s: float) -> int:
        return self.time.ticks.report(proxy_id, report, wait_s)

    def request_tick(
        self, proxy_id: int, report: SafeTsReport, pchannels: Sequence[str], at_least: int
    ) -> None:
        self.time.ticks.request_tick(proxy_id, report, pchannels, at_least)


def make_collection(
    shards: int = 3, level: ConsistencyLevel = ConsistencyLevel.BOUNDED
) -> CollectionInfo:
    schema = CollectionSchema(
        name="ticks",
        fields=(
            FieldSchema("pk", DataType.INT64, is_primary=True),
            FieldSchema("vec", DataType.FLOAT_VECTOR, type_params={"dim": "2"}),
        ),
    ).with_field_ids()
    return CollectionInfo(
        collection_id=COLLECTION_ID,
        db_name=DEFAULT_DB,
        schema=schema,
        shards_num=shards,
        vchannels=tuple(f"dml_{i}_{COLLECTION_ID}v{i}" for i in range(shards)),
        pchannels=tuple(f"dml_{i}" for i in range(shards)),
        consistency_level=level,
        created_ts=1,
        partitions=(PartitionInfo(PARTITION_ID, "_default", 1),),
    )


def make_rows(info: CollectionInfo, pks: Sequence[int]) -> pa.Table:
    vec = info.schema.field("vec")
    assert vec is not None
    vectors = np.array([[float(k), 1.0] for k in pks], dtype=np.float32).reshape(-1, 2)
    columns = [pa.array(list(pks), type=pa.int64()), vector_column(vectors, vec)]
    return pa.Table.from_arrays(columns, schema=arrow_schema(info.schema))


@dataclass
class WriteRecord:
    """One DML call as the test issued it, and what became of it."""

    kind: str  # insert | delete | upsert
    pks: tuple[int, ...]
    ts: int = 0  # the timestamp the writer drew (known even when the write failed)
    failed: bool = False

    def expected_per_channel(self, info: CollectionInfo) -> dict[str, int]:
        """How many messages this write puts on each physical channel it touches."""
        shards = np.unique(shard_of(pa.array(list(self.pks), type=pa.int64()), info.shards_num))
        per_shard = 2 if self.kind == "upsert" else 1  # an upsert: a delete and an insert
        counts: dict[str, int] = {}
        for shard in shards.tolist():
            pchannel = info.pchannels[shard]
            counts[pchannel] = counts.get(pchannel, 0) + per_shard
        return counts


@dataclass
class ChannelReport:
    ticks: int = 0
    late_writes: list[str] = field(default_factory=list)  # DML at or below an earlier tick
    dml_by_ts: dict[tuple[str, int], int] = field(default_factory=dict)  # (channel, ts) -> count
    last_tick: dict[str, int] = field(default_factory=dict)  # per channel
    tick_sources: set[int] = field(default_factory=set)  # MsgBase.sourceID of every tick

    def uncovered(self) -> list[str]:
        """DML that no tick on its channel has passed yet (ticks lag behind the writes)."""
        return [
            f"{pchannel}: DML ts {ts} above the last tick {self.last_tick.get(pchannel, 0)}"
            for pchannel, ts in sorted(self.dml_by_ts)
            if ts > self.last_tick.get(pchannel, 0)
        ]


def read_channels(log: EmbeddedLog, pchannels: Iterable[str]) -> ChannelReport:
    """Walk every channel in order, noting DML that follows a tick at or above it."""
    report = ChannelReport()
    for pchannel in pchannels:
        consumer = log.consume(pchannel, 0)
        end = log.end_position(pchannel)
        last_tick = 0
        seen = 0
        for _ in range(MAX_POLLS):
            if seen >= end:
                break
            for message in consumer.poll(1024, timeout_s=0.01):
                seen += 1
                decoded = dml.decode(message.payload)
                if isinstance(decoded, dml.TimeTick):
                    last_tick = max(last_tick, decoded.timestamp)
                    report.ticks += 1
                    report.tick_sources.add(decoded.stamp.source_id)
                elif decoded is not None:
                    ts = decoded.stamp.timestamp
                    key = (pchannel, ts)
                    report.dml_by_ts[key] = report.dml_by_ts.get(key, 0) + 1
                    if ts <= last_tick:
                        report.late_writes.append(
                            f"{pchannel}@{message.position}: DML ts {ts} from proxy "
                            f"{decoded.stamp.source_id} after tick {last_tick}"
                        )
        consumer.close()
        assert seen == end, f"read {seen} of {end} messages on {pchannel}"
        report.last_tick[pchannel] = last_tick
    return report


def partial_writes(
    report: ChannelReport, info: CollectionInfo, writes: Iterable[WriteRecord]
) -> list[str]:
    """Writes that appear on a channel only in part, or acknowledged writes that are missing."""
    problems = []
    for write in writes:
        if not write.ts:
            continue  # failed before it drew a timestamp: nothing can have been written
        for pchannel, expected in write.expected_per_channel(info).items():
            found = report.dml_by_ts.get((pchannel, write.ts), 0)
            allowed = (0, expected) if write.failed else (expected,)
            if found not in allowed:
                state = "failed" if write.failed else "acknowledged"
                problems.append(
                    f"{state} {write.kind} ts {write.ts}: {found} of {expected} on {pchannel}"
                )
    return problems


def open_log(directory: Path) -> EmbeddedLog:
    return EmbeddedLog(directory, poll_interval_s=0.01)
