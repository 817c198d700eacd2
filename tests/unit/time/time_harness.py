"""Pieces shared by the time tests: a TSO broker, a small collection, a channel checker.

The DML writer needs two things from the coordinator: timestamps and segment
ids. :class:`TsoBroker` gives it exactly those, from the real
:class:`TimestampOracle` and :class:`IdAllocator` on an embedded KV, so that
several writers (several proxies) can share one TSO without a whole coordinator.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from coordinator.allocators import IdAllocator, TimestampOracle
from elanus import dml
from elanus.columns import arrow_schema, vector_column
from elanus.kv.embedded import EmbeddedKV
from elanus.meta import DEFAULT_DB, CollectionInfo, ConsistencyLevel, PartitionInfo
from elanus.schema import CollectionSchema, DataType, FieldSchema
from elanus.stream.embedded_log import EmbeddedLog
from proxy.writer import shard_of

PARTITION_ID = 11
COLLECTION_ID = 7
MAX_POLLS = 10_000


class TsoBroker:
    """The coordinator calls a DmlWriter makes, backed by the real allocators."""

    def __init__(self, kv: EmbeddedKV, on_timestamp: Callable[[int], None] | None = None) -> None:
        self._tso = TimestampOracle(kv, window_s=1.0)
        self._ids = IdAllocator(kv)
        self._on_timestamp = on_timestamp

    def alloc_timestamp(self, count: int = 1) -> int:
        ts = self._tso.allocate(count)
        if self._on_timestamp is not None:
            self._on_timestamp(ts)
        return ts

    def assign_segment(
        self, collection_id: int, partition_id: int, vchannel: str, rows: int
    ) -> int:
        return self._ids.allocate()


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
