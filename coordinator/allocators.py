"""Timestamps and ids that never repeat, even across a coordinator restart.

Both reserve a window in the metadata KV before handing out anything from it:
after a crash the next process starts above the last reserved window, so a
value may be skipped but never reused.
"""

from __future__ import annotations

import threading
import time

from elanus import timestamps
from elanus.kv import MetaKV

TSO_KEY = "tso/reserved_until_ms"
ID_KEY = "ids/reserved_until"


class TimestampOracle:
    def __init__(self, kv: MetaKV, window_s: float = 3.0) -> None:
        self._kv = kv
        self._window_ms = max(int(window_s * 1000), 50)
        self._lock = threading.Lock()
        stored = kv.get(TSO_KEY)
        self._reserved_until_ms = int(stored.value) if stored else 0
        # Start strictly above anything a previous process could have handed out.
        self._physical_ms = self._reserved_until_ms
        self._logical = 0

    def allocate(self, count: int = 1) -> int:
        """The first of ``count`` consecutive timestamps, all greater than any before."""
        if not 1 <= count <= timestamps.LOGICAL_MASK:
            raise ValueError(f"cannot allocate {count} timestamps at once")
        with self._lock:
            now = timestamps.now_ms()
            if now > self._physical_ms:
                self._physical_ms, self._logical = now, 0
            if self._logical + count > timestamps.LOGICAL_MASK:
                self._physical_ms, self._logical = self._physical_ms + 1, 0
            if self._physical_ms >= self._reserved_until_ms:
                self._reserve(self._physical_ms + self._window_ms)
            first = timestamps.compose(self._physical_ms, self._logical)
            self._logical += count
            return first

    def _reserve(self, until_ms: int) -> None:
        self._kv.put(TSO_KEY, str(until_ms).encode())
        self._reserved_until_ms = until_ms


class IdAllocator:
    """Ids for collections, partitions, segments, indexes, builds and auto primary keys."""

    def __init__(self, kv: MetaKV, block: int = 100_000, first_id: int = 1) -> None:
        self._kv = kv
        self._block = block
        self._lock = threading.Lock()
        stored = kv.get(ID_KEY)
        # Seed from the clock so ids look like Milvus's (large, increasing) on a fresh store.
        floor = max(first_id, time.time_ns() // 1000 << 2) if stored is None else 0
        self._next = int(stored.value) if stored else floor
        self._reserved_until = self._next

    def allocate(self, count: int = 1) -> int:
        if count < 1:
            raise ValueError("id count must be positive")
        with self._lock:
            if self._next + count > self._reserved_until:
                self._reserved_until = self._next + count + self._block
                self._kv.put(ID_KEY, str(self._reserved_until).encode())
            first = self._next
            self._next += count
            return first
