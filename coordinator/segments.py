"""Segments and channels: allocation, sealing, flush bookkeeping and checkpoints.

Invariants this module keeps:
- a segment is written to the KV before any row is assigned to it;
- every row assigned to a segment has a timestamp below the segment's
  ``seal_ts`` (the proxy takes its timestamp before asking for a segment);
- a channel checkpoint only moves forward, and a datanode reports a flushed
  segment before it moves the checkpoint past that segment's rows.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from coordinator.catalog import checkpoint_key
from elanus.kv import Delete, MetaKV, Put
from elanus.meta import (
    ChannelCheckpoint,
    DeltaLog,
    SegmentInfo,
    SegmentState,
    from_json,
    to_json,
)

log = logging.getLogger(__name__)

LIVE_STATES = (SegmentState.GROWING, SegmentState.SEALED, SegmentState.FLUSHED)


def segment_key(collection_id: int, segment_id: int) -> str:
    return f"segments/{collection_id}/{segment_id}"


def delta_key(collection_id: int, log_id: int) -> str:
    return f"deltas/{collection_id}/{log_id}"


def flush_request_key(vchannel: str) -> str:
    return f"flush-requests/{vchannel}"


def flushed_ts_key(vchannel: str) -> str:
    return f"channel-flushed/{vchannel}"


@dataclass
class _Growing:
    segment_id: int
    rows: int
    opened_at: float = field(default_factory=time.monotonic)
    last_assigned: float = field(default_factory=time.monotonic)


class SegmentManager:
    def __init__(self, kv: MetaKV, max_rows: int, alloc_id: Callable[[], int]) -> None:
        self._kv = kv
        self._max_rows = max_rows
        self._alloc_id = alloc_id
        self._lock = threading.RLock()
        self._segments: dict[int, SegmentInfo] = {}
        self._growing: dict[tuple[int, int, str], _Growing] = {}
        self._deltas: dict[int, DeltaLog] = {}
        for item in kv.get_prefix("segments/"):
            seg = from_json(SegmentInfo, item.value)
            self._segments[seg.segment_id] = seg
        for item in kv.get_prefix("deltas/"):
            delta = from_json(DeltaLog, item.value)
            self._deltas[delta.log_id] = delta

    # --- reads

    def get(self, segment_id: int) -> SegmentInfo | None:
        with self._lock:
            return self._segments.get(segment_id)

    def of_collection(
        self, collection_id: int, states: Iterable[SegmentState] = LIVE_STATES
    ) -> list[SegmentInfo]:
        wanted = set(states)
        with self._lock:
            return sorted(
                (
                    s
                    for s in self._segments.values()
                    if s.collection_id == collection_id and s.state in wanted
                ),
                key=lambda s: s.segment_id,
            )

    def of_channel(self, vchannel: str) -> list[SegmentInfo]:
        with self._lock:
            return sorted(
                (
                    s
                    for s in self._segments.values()
                    if s.vchannel == vchannel and s.state in LIVE_STATES
                ),
                key=lambda s: s.segment_id,
            )

    def growing_rows(self, segment_id: int) -> int:
        with self._lock:
            for g in self._growing.values():
                if g.segment_id == segment_id:
                    return g.rows
        return 0

    def deltas_of_channel(self, vchannel: str) -> list[DeltaLog]:
        with self._lock:
            return sorted(
                (d for d in self._deltas.values() if d.vchannel == vchannel), key=lambda d: d.log_id
            )

    def checkpoint(self, vchannel: str, pchannel: str) -> ChannelCheckpoint:
        item = self._kv.get(checkpoint_key(vchannel))
        if item is None:
            raise LookupError(f"channel {vchannel} has no checkpoint")
        return from_json(ChannelCheckpoint, item.value)

    def pending_flush_ts(self, vchannel: str) -> int:
        item = self._kv.get(flush_request_key(vchannel))
        return int(item.value) if item else 0

    def flushed_ts(self, vchannel: str) -> int:
        item = self._kv.get(flushed_ts_key(vchannel))
        return int(item.value) if item else 0

    # --- writes

    def assign(
        self,
        collection_id: int,
        partition_id: int,
        vchannel: str,
        num_rows: int,
        seal_ts: Callable[[], int],
    ) -> tuple[int, SegmentInfo | None]:
        """A growing segment for ``num_rows`` more rows, and the segment it sealed, if any."""
        key = (collection_id, partition_id, vchannel)
        sealed = None
        with self._lock:
            current = self._growing.get(key)
            if (
                current is not None
                and current.rows > 0
                and current.rows + num_rows > self._max_rows
            ):
                sealed = self._seal(current.segment_id, seal_ts())
                current = None
            if current is None:
                segment = SegmentInfo(
                    segment_id=self._alloc_id(),
                    collection_id=collection_id,
                    partition_id=partition_id,
                    vchannel=vchannel,
                    state=SegmentState.GROWING,
                )
                self._put(segment)
                current = self._growing[key] = _Growing(segment.segment_id, 0)
            current.rows += num_rows
            current.last_assigned = time.monotonic()
            return current.segment_id, sealed

    def seal_expired(
        self, max_age_s: float, idle_s: float, seal_ts: Callable[[], int], now: float | None = None
    ) -> list[SegmentInfo]:
        """Seal growing segments open longer than ``max_age_s`` or idle for ``idle_s``.

        Empty segments are left alone: sealing one only to flush nothing is churn,
        and the next assignment reuses it.
        """
        now = time.monotonic() if now is None else now
        with self._lock:
            expired = [
                g.segment_id
                for g in self._growing.values()
                if g.rows > 0
                and (now - g.opened_at >= max_age_s or now - g.last_assigned >= idle_s)
            ]
            if not expired:
                return []
            ts = seal_ts()
            return [self._seal(i, ts) for i in expired]

    def seal_collection(
        self, collection_id: int, seal_ts: int, partition_id: int | None = None
    ) -> list[SegmentInfo]:
        """Seal every growing segment of a collection, or of one of its partitions."""
        with self._lock:
            ids = [
                s.segment_id
                for s in self.of_collection(collection_id, [SegmentState.GROWING])
                if partition_id is None or s.partition_id == partition_id
            ]
            return [self._seal(i, seal_ts) for i in ids]

    def seal_all_growing(self, seal_ts: int) -> list[SegmentInfo]:
        """At start-up: no proxy holds an assignment from the previous process any more."""
        with self._lock:
            ids = [s.segment_id for s in self._segments.values() if s.state is SegmentState.GROWING]
            return [self._seal(i, seal_ts) for i in ids]

    def _seal(self, segment_id: int, seal_ts: int) -> SegmentInfo:
        segment = self._segments[segment_id]
        for key, growing in list(self._growing.items()):
            if growing.segment_id == segment_id:
                del self._growing[key]
                segment = dataclasses.replace(segment, num_rows=growing.rows)
        sealed = dataclasses.replace(segment, state=SegmentState.SEALED, seal_ts=seal_ts)
        self._put(sealed)
        log.info("segment sealed", extra={"segment": segment_id, "seal_ts": seal_ts})
        return sealed

    def mark_flushed(self, segment: SegmentInfo) -> SegmentInfo | None:
        """Record a datanode's flush; None if the segment is gone (its partition or
        collection was dropped meanwhile), and then nobody else will remove its files."""
        with self._lock:
            known = self._segments.get(segment.segment_id)
            if known is None or known.state is SegmentState.DROPPED:
                return None
            state = SegmentState.FLUSHED if segment.num_rows > 0 else SegmentState.DROPPED
            flushed = dataclasses.replace(
                segment, state=state, seal_ts=known.seal_ts, index_files=dict(known.index_files)
            )
            self._put(flushed)
            return flushed

    def add_index_file(self, segment_id: int, index_id: int, key: str) -> SegmentInfo | None:
        with self._lock:
            segment = self._segments.get(segment_id)
            if segment is None or segment.state is not SegmentState.FLUSHED:
                return None
            files = {**segment.index_files, index_id: key}
            updated = dataclasses.replace(segment, index_files=files)
            self._put(updated)
            return updated

    def drop_index_files(self, collection_id: int, index_id: int) -> list[str]:
        keys = []
        with self._lock:
            for segment in self.of_collection(collection_id):
                if index_id in segment.index_files:
                    files = dict(segment.index_files)
                    keys.append(files.pop(index_id))
                    self._put(dataclasses.replace(segment, index_files=files))
        return keys

    def commit_compaction(self, result: SegmentInfo, sources: Sequence[int]) -> bool:
        """Swap ``sources`` for ``result`` in one KV transaction; False if any source
        is no longer flushed (dropped or compacted meanwhile), and nothing changes."""
        with self._lock:
            old = [self._segments.get(i) for i in sources]
            if any(s is None or s.state is not SegmentState.FLUSHED for s in old):
                return False
            now_ms = int(time.time() * 1000)
            dropped = [
                dataclasses.replace(
                    s,
                    state=SegmentState.DROPPED,
                    compacted_to=result.segment_id,
                    dropped_at_ms=now_ms,
                )
                for s in old
                if s is not None
            ]
            puts: list[Put | Delete] = [
                Put(segment_key(s.collection_id, s.segment_id), to_json(s)) for s in dropped
            ]
            if result.state is SegmentState.FLUSHED:
                puts.append(
                    Put(segment_key(result.collection_id, result.segment_id), to_json(result))
                )
            if not self._kv.txn([], puts):
                return False
            for s in dropped:
                self._segments[s.segment_id] = s
            if result.state is SegmentState.FLUSHED:
                self._segments[result.segment_id] = result
            return True

    def drop_truncated(self, collection_id: int, truncate_ts: int) -> list[SegmentInfo]:
        """Drop the collection's sealed and flushed segments whose every row is older
        than a truncate at ``truncate_ts`` (sealed at or before it), in one transaction;
        their files go with the GC's grace. Returns them, now DROPPED."""
        with self._lock:
            now_ms = int(time.time() * 1000)
            gone = [
                dataclasses.replace(s, state=SegmentState.DROPPED, dropped_at_ms=now_ms)
                for s in self.of_collection(
                    collection_id, [SegmentState.SEALED, SegmentState.FLUSHED]
                )
                if 0 < s.seal_ts <= truncate_ts
            ]
            if not gone:
                return []
            self._kv.txn(
                [], [Put(segment_key(s.collection_id, s.segment_id), to_json(s)) for s in gone]
            )
            for s in gone:
                self._segments[s.segment_id] = s
            return gone

    def dropped(self) -> list[SegmentInfo]:
        """Segments kept as DROPPED until the GC removes their files."""
        with self._lock:
            return [s for s in self._segments.values() if s.state is SegmentState.DROPPED]

    def forget(self, segment: SegmentInfo) -> None:
        """The GC removed a dropped segment's files: its record goes too."""
        with self._lock:
            known = self._segments.get(segment.segment_id)
            if known is not None and known.state is SegmentState.DROPPED:
                self._kv.delete(segment_key(segment.collection_id, segment.segment_id))
                del self._segments[segment.segment_id]

    def purged_deltas(self) -> list[DeltaLog]:
        """Delta logs no live segment needs: every live segment of the channel was
        compacted past them (a growing or never-compacted segment keeps them all)."""
        with self._lock:
            floor: dict[str, int] = {}
            for s in self._segments.values():
                if s.state in LIVE_STATES:
                    floor[s.vchannel] = min(floor.get(s.vchannel, s.purged_log_id), s.purged_log_id)
            return [
                d
                for d in self._deltas.values()
                if d.vchannel in floor and d.log_id <= floor[d.vchannel]
            ]

    def forget_delta(self, delta: DeltaLog) -> None:
        with self._lock:
            self._kv.delete(delta_key(delta.collection_id, delta.log_id))
            self._deltas.pop(delta.log_id, None)

    def all_keys(self) -> set[str]:
        """Every object key the metadata refers to, for the GC's orphan scan."""
        with self._lock:
            keys = {d.key for d in self._deltas.values()}
            for s in self._segments.values():
                keys.update(k for k in (s.data_key, s.pk_stats_key) if k)
                keys.update(s.index_files.values())
            return keys

    def drop_segments(self, segments: Iterable[SegmentInfo]) -> None:
        with self._lock:
            for segment in segments:
                self._kv.delete(segment_key(segment.collection_id, segment.segment_id))
                self._segments.pop(segment.segment_id, None)
                for key, growing in list(self._growing.items()):
                    if growing.segment_id == segment.segment_id:
                        del self._growing[key]

    def drop_collection(self, collection_id: int, vchannels: Iterable[str]) -> None:
        with self._lock:
            self._kv.delete(f"segments/{collection_id}/", prefix=True)
            self._kv.delete(f"deltas/{collection_id}/", prefix=True)
            for vchannel in vchannels:
                for key in (
                    checkpoint_key(vchannel),
                    flush_request_key(vchannel),
                    flushed_ts_key(vchannel),
                ):
                    self._kv.delete(key)
            self._segments = {
                k: v for k, v in self._segments.items() if v.collection_id != collection_id
            }
            self._deltas = {
                k: v for k, v in self._deltas.items() if v.collection_id != collection_id
            }
            self._growing = {k: v for k, v in self._growing.items() if k[0] != collection_id}

    def add_delta(self, delta: DeltaLog) -> None:
        with self._lock:
            self._kv.put(delta_key(delta.collection_id, delta.log_id), to_json(delta))
            self._deltas[delta.log_id] = delta

    def update_checkpoint(self, checkpoint: ChannelCheckpoint) -> None:
        with self._lock:
            current = self._kv.get(checkpoint_key(checkpoint.vchannel))
            if current is None:
                return  # the channel's collection is gone
            if from_json(ChannelCheckpoint, current.value).position <= checkpoint.position:
                self._kv.put(checkpoint_key(checkpoint.vchannel), to_json(checkpoint))

    def request_flush(self, vchannel: str, flush_ts: int) -> None:
        with self._lock:
            if flush_ts > self.pending_flush_ts(vchannel):
                self._kv.put(flush_request_key(vchannel), str(flush_ts).encode())

    def channel_flushed(self, vchannel: str, flush_ts: int) -> None:
        with self._lock:
            if self._kv.get(checkpoint_key(vchannel)) is None:
                return
            if flush_ts > self.flushed_ts(vchannel):
                self._kv.put(flushed_ts_key(vchannel), str(flush_ts).encode())

    def _put(self, segment: SegmentInfo) -> None:
        self._kv.put(segment_key(segment.collection_id, segment.segment_id), to_json(segment))
        self._segments[segment.segment_id] = segment
