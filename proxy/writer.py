"""Publishing DML, and the safe timestamps the coordinator's time ticks are made of.

For each physical channel the proxy holds one lock. A write takes the locks of
every channel it touches (in name order), draws its timestamp and notes it as
in flight, publishes and waits for the broker's acknowledgement, then lets go:
on every channel this proxy's messages appear in timestamp order.

The proxy publishes no ticks itself (with several proxies, a tick from one
would not cover another's write still in flight). It reports, per channel, a
*safe timestamp* to the coordinator (:mod:`coordinator.ticks`): every write of
this proxy at or below it is acknowledged, every later one draws above it.
Drawing a write's timestamp and noting it in flight happen under one lock, and
so does drawing the fresh timestamp of a report and reading what is in flight:
a report is exact, never a guess.

A write answers success only once the stream acknowledged every message of it,
on every channel, and only if the proxy is still *live* (``is_live``: its
session surely holds). A proxy whose session was lost is no longer waited for by
the ticks, so its write may land after a tick at or above its timestamp, and
then every consumer drops it (elanus/late_writes.py): such a write answers
ServiceUnavailable, never a false success.
"""

from __future__ import annotations

import itertools
import logging
import threading
import zlib
from collections.abc import Callable, Iterable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from elanus import dml, errors
from elanus.deletes import ALL_PARTITIONS
from elanus.meta import CollectionInfo
from elanus.services import CoordinatorForProxy, SafeTsReport
from elanus.stream import MessageStream

log = logging.getLogger(__name__)

# How long a read waits for this proxy's own writes below its guarantee before it
# reports anyway (the querynode's wait for serve-time is bounded on its own).
READ_WAIT_S = 2.0
STOP_WAIT_S = 5.0
MIN_REPORT_GAP_S = 0.001


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
        shard_of: np.ndarray = ((mixed >> np.uint64(33)) % np.uint64(shards)).astype(np.int64)
        return shard_of
    return np.array([zlib.crc32(k.encode()) % shards for k in pks.to_pylist()], dtype=np.int64)


# Where inserted rows go: one partition id for all, or one per row.
Placement = int | np.ndarray


def _split(
    info: CollectionInfo, partitions: Placement, rows: pa.Table
) -> list[tuple[int, int, pa.Table]]:
    """The rows by (shard, partition): the shard by primary key, the partition as placed."""
    pk_name = info.schema.primary_field.name
    shards = shard_of(rows.column(pk_name).combine_chunks(), info.shards_num)
    per_row = (
        np.full(rows.num_rows, partitions, dtype=np.int64)
        if isinstance(partitions, int)
        else np.asarray(partitions, dtype=np.int64)
    )
    parts = []
    for shard in range(info.shards_num):
        in_shard = shards == shard
        for partition_id in np.unique(per_row[in_shard]).tolist():
            part = rows.filter(pa.array(in_shard & (per_row == partition_id)))
            if part.num_rows:
                parts.append((shard, int(partition_id), part))
    return parts


class DmlWriter:
    def __init__(
        self,
        node_id: int,
        stream: MessageStream,
        coordinator: CoordinatorForProxy,
        tick_interval_s: float,
        is_live: Callable[[], bool] = lambda: True,
    ) -> None:
        self._node_id = node_id
        self._is_live = is_live
        self._stream = stream
        self._coordinator = coordinator
        self._tick_interval_s = tick_interval_s
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self._msg_ids = itertools.count(1)
        # Guards _in_flight and _demand; a write's timestamp is drawn under it.
        self._state = threading.Condition()
        self._in_flight: dict[int, frozenset[str]] = {}  # timestamp -> its physical channels
        self._demand = 0  # the coordinator's demand count, as last heard
        self._stopping = threading.Event()
        self._reporter = threading.Thread(
            target=self._report_loop, name="proxy-safe-ts", daemon=True
        )

    def start(self, pchannels: Iterable[str] = ()) -> None:
        """Register with the coordinator's ticks, then report every ``tick_interval_s``.

        ``pchannels`` is no longer needed (the coordinator ticks every channel it
        knows) and is accepted only so that older callers keep working.
        """
        self.register()
        self._reporter.start()

    def register(self) -> None:
        """Be counted in the ticks; before the first write."""
        self._coordinator.register_proxy(self._node_id)

    def stop(self) -> None:
        """Stop reporting; once every write is acknowledged, leave the ticks."""
        self._stopping.set()
        with self._state:
            drained = self._state.wait_for(lambda: not self._in_flight, timeout=STOP_WAIT_S)
        if drained:
            try:
                self._coordinator.unregister_proxy(self._node_id)
            except Exception:
                log.exception("leaving the time ticks failed; the coordinator drops us later")
        else:
            log.error("writes still in flight at stop: staying in the ticks until dropped")
        if self._reporter.is_alive():
            self._reporter.join(STOP_WAIT_S)

    def insert(self, info: CollectionInfo, partitions: Placement, rows: pa.Table) -> WriteOutcome:
        """Insert the rows into one partition, or each into its own (``partitions`` an
        array of partition ids, one per row: a partition key's choice)."""
        parts = _split(info, partitions, rows)

        def build(ts: int) -> list[tuple[str, bytes]]:
            payloads = []
            for shard, partition_id, part in parts:
                vchannel = info.vchannels[shard]
                segment_id = self._coordinator.assign_segment(
                    info.collection_id, partition_id, vchannel, part.num_rows
                )
                batch = dml.InsertBatch(
                    self._stamp(ts), info.collection_id, partition_id, segment_id, vchannel, part
                )
                payloads.append((info.pchannels[shard], dml.encode_insert(batch)))
            return payloads

        return self._publish({info.pchannels[i] for i, _, _ in parts}, build)

    def delete(self, info: CollectionInfo, partition_id: int, pks: pa.Array) -> WriteOutcome:
        """Delete these keys (in one partition, or all when ``partition_id`` is 0)."""
        return self.delete_scoped(info, {partition_id: pks})

    def delete_scoped(self, info: CollectionInfo, scopes: Mapping[int, pa.Array]) -> WriteOutcome:
        """Delete keys, each set in its own scope (a partition id, or 0 for all), under one
        timestamp: the rows an expression matched, partition by partition."""
        return self._write_deletes(info, scopes, None)

    def upsert(self, info: CollectionInfo, partitions: Placement, rows: pa.Table) -> WriteOutcome:
        """Delete the rows' keys everywhere and insert the rows, under one timestamp."""
        pks = rows.column(info.schema.primary_field.name).combine_chunks()
        return self._write_deletes(info, {ALL_PARTITIONS: pks}, (partitions, rows))

    def _write_deletes(
        self,
        info: CollectionInfo,
        scopes: Mapping[int, pa.Array],
        upsert: tuple[Placement, pa.Table] | None,
    ) -> WriteOutcome:
        shards_of = {scope: shard_of(pks, info.shards_num) for scope, pks in scopes.items()}

        def build(ts: int) -> list[tuple[str, bytes]]:
            payloads = []
            for scope, pks in scopes.items():
                for shard in range(info.shards_num):
                    keys = pks.filter(pa.array(shards_of[scope] == shard))
                    if len(keys):
                        deletes = dml.DeleteBatch(
                            self._stamp(ts),
                            info.collection_id,
                            scope,
                            info.vchannels[shard],
                            keys,
                        )
                        payloads.append((info.pchannels[shard], dml.encode_delete(deletes)))
            if upsert is not None:
                for shard, target_partition, part in _split(info, *upsert):
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

        touched = {
            info.pchannels[i] for shards in shards_of.values() for i in np.unique(shards).tolist()
        }
        return self._publish(touched, build)

    def truncate(self, info: CollectionInfo, record: Callable[[int], None]) -> WriteOutcome:
        """Truncate the collection at a timestamp drawn like a write's: ``record(ts)``
        (the coordinator's record of it) runs first, then every virtual channel gets
        its mark, in order with the writes around it. A read at or after ``ts`` sees
        none of the rows inserted before."""

        def build(ts: int) -> list[tuple[str, bytes]]:
            record(ts)
            return [
                (
                    pchannel,
                    dml.encode_truncate(
                        dml.TruncateMark(self._stamp(ts), info.collection_id, vchannel)
                    ),
                )
                for vchannel, pchannel in zip(info.vchannels, info.pchannels, strict=True)
            ]

        return self._publish(set(info.pchannels), build)

    def tick(self, pchannels: Iterable[str], at_least: int = 0) -> None:
        """Have the coordinator tick these channels now, up to ``at_least`` if it can.

        For a read whose guarantee serve-time has not reached: this proxy's own
        writes below the guarantee finish first (bounded), then a fresh report
        goes with the request. Channels already ticked to ``at_least`` are left
        alone; with no ``at_least`` every channel given gets the freshest tick.
        """
        chosen = tuple(pchannels)
        if at_least:
            self._wait_for_writes(lambda ts, chs: ts < at_least and not chs.isdisjoint(chosen))
        self._coordinator.request_tick(self._node_id, self.safe_report(), chosen, at_least)

    def report(self, wait_s: float = 0.0) -> int:
        """Send a fresh report; wait up to ``wait_s`` for a demand. The demand count."""
        demand = self._coordinator.report_safe_ts(self._node_id, self.safe_report(), wait_s)
        with self._state:
            self._demand = max(self._demand, demand)
            return self._demand

    def safe_report(self) -> SafeTsReport:
        """This proxy's safe timestamps now: a fresh one, lower where a write is in flight."""
        with self._state:
            fresh = self._coordinator.alloc_timestamp()
            held: dict[str, int] = {}
            for ts, pchannels in self._in_flight.items():
                for pchannel in pchannels:
                    held[pchannel] = min(held.get(pchannel, fresh), ts - 1)
            return SafeTsReport(safe_ts=fresh, held=held, demand=self._demand)

    def _publish(
        self, pchannels: set[str], build: Callable[[int], list[tuple[str, bytes]]]
    ) -> WriteOutcome:
        self._check_live("the write was not sent")
        with ExitStack() as held:
            for pchannel in sorted(pchannels):
                held.enter_context(self._lock(pchannel))
            with self._state:
                ts = self._coordinator.alloc_timestamp()
                self._in_flight[ts] = frozenset(pchannels)
            try:
                by_channel: dict[str, list[bytes]] = {}
                for pchannel, payload in build(ts):
                    by_channel.setdefault(pchannel, []).append(payload)
                for pchannel, payloads in sorted(by_channel.items()):
                    self._stream.produce(pchannel, payloads)
            finally:
                # Acknowledged, or failed. A failed produce that still lands later
                # is the fencing problem of issue 6.
                with self._state:
                    del self._in_flight[ts]
                    self._state.notify_all()
        self._check_live("the write may not be visible")
        return WriteOutcome(timestamp=ts)

    def _check_live(self, consequence: str) -> None:
        if not self._is_live():
            raise errors.ServiceUnavailable(
                f"proxy {self._node_id} lost its session; {consequence}, retry on another proxy"
            )

    def _stamp(self, ts: int) -> dml.Stamp:
        return dml.Stamp(msg_id=next(self._msg_ids), timestamp=ts, source_id=self._node_id)

    def _lock(self, pchannel: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(pchannel, threading.Lock())

    def _wait_for_writes(
        self, matches: Callable[[int, frozenset[str]], bool], timeout_s: float = READ_WAIT_S
    ) -> None:
        """Wait (bounded) until the writes in flight now that ``matches`` selects are done."""
        with self._state:
            waiting = {ts for ts, chs in self._in_flight.items() if matches(ts, chs)}
            self._state.wait_for(lambda: waiting.isdisjoint(self._in_flight), timeout=timeout_s)

    def _report_loop(self) -> None:
        """Report every interval, and at once when a read demands it (a long poll)."""
        demanded = False
        while not self._stopping.is_set():
            try:
                if demanded:
                    # Writes in flight when the demand came drew timestamps below the
                    # read's guarantee; let them land so this report covers it.
                    self._wait_for_writes(lambda ts, chs: True, self._tick_interval_s)
                before = self._demand
                demanded = self.report(self._tick_interval_s) > before
            except Exception:
                if not self._stopping.is_set():  # at stop, a report may race the leave
                    log.exception("reporting safe timestamps failed")
                self._stopping.wait(self._tick_interval_s)
            self._stopping.wait(MIN_REPORT_GAP_S)
