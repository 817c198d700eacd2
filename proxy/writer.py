"""Publishing DML and time ticks: where the proxy keeps the tick invariant.

For each physical channel the proxy holds one lock. A write takes the locks of
every channel it touches (in name order), draws its timestamp from the TSO,
publishes and waits for the broker's acknowledgement, then lets go. A tick
takes the same lock, draws a timestamp and publishes. So on every channel this
proxy's messages appear in timestamp order, and a tick T follows every write
below T: once a consumer sees tick T, nothing at or below T can still come.
(With several proxies, ticks must be aggregated; that is the cluster's job.)
"""

from __future__ import annotations

import itertools
import logging
import threading
import zlib
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from elanus import dml
from elanus.meta import CollectionInfo
from elanus.services import CoordinatorClient
from elanus.stream import MessageStream

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WriteOutcome:
    timestamp: int


def shard_of(pks: pa.Array, shards: int) -> np.ndarray:
    """The shard of each primary key: stable across processes and releases."""
    if shards == 1:
        return np.zeros(len(pks), dtype=np.int64)
    if pa.types.is_integer(pks.type):
        keys = pks.to_numpy(zero_copy_only=False).astype(np.uint64)
        mixed = (keys ^ (keys >> np.uint64(31))) * np.uint64(0x9E3779B97F4A7C15)
        return ((mixed >> np.uint64(33)) % np.uint64(shards)).astype(np.int64)
    return np.array([zlib.crc32(k.encode()) % shards for k in pks.to_pylist()], dtype=np.int64)


class DmlWriter:
    def __init__(
        self,
        node_id: int,
        stream: MessageStream,
        coordinator: CoordinatorClient,
        tick_interval_s: float,
    ) -> None:
        self._node_id = node_id
        self._stream = stream
        self._coordinator = coordinator
        self._tick_interval_s = tick_interval_s
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self._msg_ids = itertools.count(1)
        self._stopping = threading.Event()
        self._ticker = threading.Thread(target=self._tick_loop, name="proxy-ticker", daemon=True)
        self._channels: set[str] = set()
        self._last_tick: dict[str, int] = {}  # per channel, once the broker has it

    def start(self, pchannels: Iterable[str]) -> None:
        self._channels.update(pchannels)
        self._ticker.start()

    def stop(self) -> None:
        self._stopping.set()
        self._ticker.join(5)

    def insert(self, info: CollectionInfo, partition_id: int, rows: pa.Table) -> WriteOutcome:
        pk_name = info.schema.primary_field.name
        shards = shard_of(rows.column(pk_name).combine_chunks(), info.shards_num)
        parts = [(i, rows.filter(pa.array(shards == i))) for i in range(info.shards_num)]
        parts = [(i, part) for i, part in parts if part.num_rows]

        def build(ts: int) -> list[tuple[str, bytes]]:
            payloads = []
            for shard, part in parts:
                vchannel = info.vchannels[shard]
                segment_id = self._coordinator.assign_segment(
                    info.collection_id, partition_id, vchannel, part.num_rows
                )
                batch = dml.InsertBatch(
                    self._stamp(ts), info.collection_id, partition_id, segment_id, vchannel, part
                )
                payloads.append((info.pchannels[shard], dml.encode_insert(batch)))
            return payloads

        return self._publish({info.pchannels[i] for i, _ in parts}, build)

    def delete(self, info: CollectionInfo, partition_id: int, pks: pa.Array) -> WriteOutcome:
        """Delete these keys (in one partition, or all when ``partition_id`` is 0)."""
        return self._write_deletes(info, partition_id, pks, None)

    def upsert(self, info: CollectionInfo, partition_id: int, rows: pa.Table) -> WriteOutcome:
        """Delete the rows' keys everywhere and insert the rows, under one timestamp."""
        pks = rows.column(info.schema.primary_field.name).combine_chunks()
        return self._write_deletes(info, 0, pks, (partition_id, rows))

    def _write_deletes(
        self,
        info: CollectionInfo,
        partition_id: int,
        pks: pa.Array,
        upsert: tuple[int, pa.Table] | None,
    ) -> WriteOutcome:
        shards = shard_of(pks, info.shards_num)

        def build(ts: int) -> list[tuple[str, bytes]]:
            payloads = []
            for shard in range(info.shards_num):
                keys = pks.filter(pa.array(shards == shard))
                if len(keys):
                    batch = dml.DeleteBatch(
                        self._stamp(ts),
                        info.collection_id,
                        partition_id,
                        info.vchannels[shard],
                        keys,
                    )
                    payloads.append((info.pchannels[shard], dml.encode_delete(batch)))
            if upsert is not None:
                target_partition, rows = upsert
                for shard in range(info.shards_num):
                    part = rows.filter(pa.array(shards == shard))
                    if not part.num_rows:
                        continue
                    vchannel = info.vchannels[shard]
                    segment_id = self._coordinator.assign_segment(
                        info.collection_id, target_partition, vchannel, part.num_rows
                    )
                    batch = dml.InsertBatch(
                        self._stamp(ts),
                        info.collection_id,
                        target_partition,
                        segment_id,
                        vchannel,
                        part,
                    )
                    payloads.append((info.pchannels[shard], dml.encode_insert(batch)))
            return payloads

        touched = {info.pchannels[i] for i in np.unique(shards).tolist()}
        return self._publish(touched, build)

    def tick(self, pchannels: Iterable[str] | None = None, at_least: int = 0) -> None:
        """Publish a time tick now on these channels (default: all).

        A channel whose last tick from this proxy is already ``>= at_least`` is
        left alone: a read that needs serve-time to pass its guarantee gets there
        from that tick, and a burst of reads costs one tick, not one each.
        """
        for pchannel in sorted(pchannels or self._channels):
            with self._lock(pchannel):
                if at_least and self._last_tick.get(pchannel, 0) >= at_least:
                    continue
                ts = self._coordinator.alloc_timestamp()
                self._stream.produce(pchannel, [dml.encode_time_tick(self._stamp(ts))])
                self._last_tick[pchannel] = ts

    def _publish(
        self, pchannels: set[str], build: Callable[[int], list[tuple[str, bytes]]]
    ) -> WriteOutcome:
        self._channels.update(pchannels)
        with ExitStack() as held:
            for pchannel in sorted(pchannels):
                held.enter_context(self._lock(pchannel))
            ts = self._coordinator.alloc_timestamp()
            by_channel: dict[str, list[bytes]] = {}
            for pchannel, payload in build(ts):
                by_channel.setdefault(pchannel, []).append(payload)
            for pchannel, payloads in sorted(by_channel.items()):
                self._stream.produce(pchannel, payloads)
        return WriteOutcome(timestamp=ts)

    def _stamp(self, ts: int) -> dml.Stamp:
        return dml.Stamp(msg_id=next(self._msg_ids), timestamp=ts, source_id=self._node_id)

    def _lock(self, pchannel: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(pchannel, threading.Lock())

    def _tick_loop(self) -> None:
        while not self._stopping.wait(self._tick_interval_s):
            try:
                self.tick()
            except Exception:
                log.exception("time tick failed")
