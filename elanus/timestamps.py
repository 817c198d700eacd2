"""Hybrid timestamps: ``(physical_ms << 18) | logical``, as Milvus hands them to clients."""

from __future__ import annotations

import time

LOGICAL_BITS = 18
LOGICAL_MASK = (1 << LOGICAL_BITS) - 1

# "No wait" guarantee for Eventually consistency: every channel's serve-time is >= 1.
EVENTUALLY_TS = 1


def compose(physical_ms: int, logical: int = 0) -> int:
    return (physical_ms << LOGICAL_BITS) | logical


def physical_ms(ts: int) -> int:
    return ts >> LOGICAL_BITS


def logical(ts: int) -> int:
    return ts & LOGICAL_MASK


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def ts_before(ts: int, seconds: float) -> int:
    """The timestamp ``seconds`` earlier than ``ts`` (for Bounded consistency)."""
    return compose(max(physical_ms(ts) - int(seconds * 1000), 0))
