"""The proxy's DML writer: shard routing and the time-tick invariant under concurrent writers."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from roles_harness import make_rows, make_schema

from coordinator import Coordinator
from elanus import dml
from elanus.config import CoordinatorConfig
from elanus.kv.embedded import EmbeddedKV
from elanus.meta import DEFAULT_DB, CompactionPlan, ConsistencyLevel, SegmentInfo
from elanus.storage.local_dir import LocalDirStore
from elanus.stream.embedded_log import EmbeddedLog
from proxy.writer import DmlWriter, shard_of
from tests.contract.crash import REPO_ROOT

_KEYS_INT = [0, 1, 2, 3, 42, -1, 2**62, 123456789]
_KEYS_STR = ["", "a", "b", "hello", "πκ"]


def test_shard_of_is_pinned() -> None:
    """Routing is part of the data format: a change would send deletes to the wrong shard."""
    ints = pa.array(_KEYS_INT, type=pa.int64())
    strings = pa.array(_KEYS_STR, type=pa.string())
    assert shard_of(ints, 4).tolist() == [0, 0, 1, 2, 3, 3, 1, 2]
    assert shard_of(strings, 3).tolist() == [0, 0, 2, 1, 2]
    assert shard_of(ints, 1).tolist() == [0] * len(ints)


def test_shard_of_is_the_same_in_another_process() -> None:
    """No dependence on Python's per-process string hash seed."""
    script = (
        "import pyarrow as pa, sys\n"
        "from proxy.writer import shard_of\n"
        f"print(shard_of(pa.array({_KEYS_STR!r}), 5).tolist())\n"
        f"print(shard_of(pa.array({_KEYS_INT!r}, type=pa.int64()), 5).tolist())\n"
    )
    env = dict(os.environ, PYTHONHASHSEED="12345", PYTHONPATH=str(REPO_ROOT))
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    here = [
        str(shard_of(pa.array(_KEYS_STR), 5).tolist()),
        str(shard_of(pa.array(_KEYS_INT, type=pa.int64()), 5).tolist()),
    ]
    assert out.stdout.split("\n")[:2] == here


@pytest.mark.parametrize("shards", [2, 3, 4, 16])
def test_shard_of_spreads_keys(shards: int) -> None:
    n = 20_000
    for keys in (
        pa.array(np.arange(n, dtype=np.int64)),
        pa.array(np.arange(n, dtype=np.int64) * 1024),  # keys sharing low bits
        pa.array([f"doc-{i}" for i in range(n)]),
    ):
        counts = np.bincount(shard_of(keys, shards), minlength=shards)
        assert counts.sum() == n
        assert counts.min() > 0.8 * n / shards, counts


@dataclass
class RecordingDataNode:
    """Stands in for the datanode: this test is about the writer and the channel only."""

    calls: list[tuple[str, tuple]] = field(default_factory=list)

    def watch_channel(self, vchannel: str, epoch: int) -> None:
        self.calls.append(("watch", (vchannel, epoch)))

    def unwatch_channel(self, vchannel: str) -> None:
        self.calls.append(("unwatch", (vchannel,)))

    def seal_segment(self, vchannel: str, segment_id: int, seal_ts: int) -> None:
        self.calls.append(("seal", (vchannel, segment_id, seal_ts)))

    def flush_channel(self, vchannel: str, flush_ts: int) -> None:
        self.calls.append(("flush", (vchannel, flush_ts)))

    def compact(self, plan: CompactionPlan) -> SegmentInfo:
        raise NotImplementedError("this stand-in datanode writes no segments")


@pytest.fixture
def coordinator(tmp_path: Path) -> Iterator[tuple[Coordinator, EmbeddedLog]]:
    kv = EmbeddedKV(tmp_path / "kv.sqlite")
    stream = EmbeddedLog(tmp_path / "log")
    config = CoordinatorConfig(dml_channel_pool=3, segment_max_rows=50)
    coord = Coordinator(config, kv, stream, LocalDirStore(tmp_path / "objects"))
    coord.register_datanode(1, RecordingDataNode())
    coord.start()
    yield coord, stream
    coord.stop()
    stream.close()
    kv.close()


def test_ticks_follow_every_write_below_them(coordinator: tuple[Coordinator, EmbeddedLog]) -> None:
    coord, stream = coordinator
    schema = make_schema()
    info = coord.create_collection(DEFAULT_DB, schema, 3, ConsistencyLevel.STRONG, {})
    partition = info.partitions[0].partition_id
    writer = DmlWriter(7, stream, coord, tick_interval_s=0.002)
    writer.start()
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for i in range(25):
                base = worker * 10_000 + i * 10
                keys = list(range(base, base + 7))
                writer.insert(info, partition, make_rows(schema, keys))
                if i % 3 == 0:
                    writer.delete(info, 0, pa.array(keys[:2], type=pa.int64()))
                if i % 5 == 0:
                    writer.upsert(info, partition, make_rows(schema, keys[2:4], tag="u"))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    writer.stop()
    assert not errors, errors

    dml_count = 0
    for pchannel in info.pchannels:
        consumer = stream.consume(pchannel, 0)
        messages = []
        for _ in range(1000):
            batch = consumer.poll(1024, timeout_s=0.05)
            if not batch:
                break
            messages += batch
        consumer.close()
        last_tick = 0
        last_dml = 0
        ticks = 0
        for message in messages:
            decoded = dml.decode(message.payload)
            if isinstance(decoded, dml.TimeTick):
                # The invariant is one-way: nothing at or below a tick may follow it.
                # A tick may trail a write it does not cover (computed while that
                # write was in flight), which is harmless.
                assert decoded.timestamp > last_tick
                last_tick = decoded.timestamp
                ticks += 1
            elif decoded is not None:
                ts = decoded.stamp.timestamp
                assert ts > last_tick, f"write at {ts} after tick {last_tick} on {pchannel}"
                assert ts >= last_dml, "writes out of timestamp order"
                assert decoded.stamp.source_id == 7
                last_dml = ts
                dml_count += 1
        assert ticks > 10, f"ticker barely ran on {pchannel}"
    assert dml_count > 6 * 25
