"""Garbage collection of object-storage files nothing refers to any more.

Two sources of garbage: segments left DROPPED by compaction (their files go
``gc_grace_s`` after the drop, so a querynode still loading one in flight finds
it), and orphans, objects under the data prefixes that no metadata names (a
datanode that died between writing a file and reporting it, the files of
dropped collections and partitions, which a drop leaves here rather than
deleting them under a search still reading them). The store keeps no
modification times, so an orphan is removed only once this process has seen it
orphaned for the grace period (a restart starts that clock again). A delta log goes once
every live segment of its channel was compacted past it (``purged_log_id``),
and has stayed so for the grace period: its metadata first, so no new reader
finds it, then its file.
"""

from __future__ import annotations

import logging
import time

from coordinator.segments import SegmentManager
from elanus.meta import SegmentInfo
from elanus.storage import ObjectStore

log = logging.getLogger(__name__)

DATA_PREFIXES = ("segments/", "indexes/", "deltas/")
MAX_ORPHANS_PER_RUN = 10_000


class GarbageCollector:
    def __init__(self, segments: SegmentManager, storage: ObjectStore, grace_s: float) -> None:
        self._segments = segments
        self._storage = storage
        self._grace_ms = int(grace_s * 1000)
        self._orphan_seen_ms: dict[str, int] = {}
        self._delta_purged_seen_ms: dict[int, int] = {}

    def run_once(self, now_ms: int | None = None) -> list[str]:
        """Remove what is old enough; the removed keys."""
        now_ms = int(time.time() * 1000) if now_ms is None else now_ms
        removed: list[str] = []
        for segment in self._segments.dropped():
            if now_ms - segment.dropped_at_ms >= self._grace_ms:
                removed += self._remove_segment(segment)
        removed += self._remove_purged_deltas(now_ms)
        removed += self._remove_orphans(now_ms)
        if removed:
            log.info("garbage collected", extra={"objects": len(removed)})
        return removed

    def _remove_segment(self, segment: SegmentInfo) -> list[str]:
        keys = [k for k in (segment.data_key, segment.pk_stats_key) if k]
        keys += list(segment.index_files.values())
        for key in keys:
            self._storage.delete(key)
        self._segments.forget(segment)
        return keys

    def _remove_purged_deltas(self, now_ms: int) -> list[str]:
        purged = {d.log_id: d for d in self._segments.purged_deltas()}
        seen = {i: t for i, t in self._delta_purged_seen_ms.items() if i in purged}
        removed = []
        for log_id, delta in sorted(purged.items()):
            first_seen = seen.setdefault(log_id, now_ms)
            if now_ms - first_seen >= self._grace_ms and first_seen < now_ms:
                self._segments.forget_delta(delta)
                self._storage.delete(delta.key)
                del seen[log_id]
                removed.append(delta.key)
        self._delta_purged_seen_ms = seen
        return removed

    def _remove_orphans(self, now_ms: int) -> list[str]:
        # Metadata first: a file reported after this read is listed after it too,
        # and is then only seen as an orphan candidate, never removed this run.
        known = self._segments.all_keys()
        present = [k for p in DATA_PREFIXES for k in self._storage.list(p)]
        orphans = {k for k in present if k not in known}
        self._orphan_seen_ms = {k: t for k, t in self._orphan_seen_ms.items() if k in orphans}
        removed = []
        for key in sorted(orphans)[:MAX_ORPHANS_PER_RUN]:
            first_seen = self._orphan_seen_ms.setdefault(key, now_ms)
            if now_ms - first_seen >= self._grace_ms and first_seen < now_ms:
                self._storage.delete(key)
                del self._orphan_seen_ms[key]
                removed.append(key)
        return removed
