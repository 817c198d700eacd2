"""Collection TTL: the one rule that decides whether a row has expired.

A collection with ``collection.ttl.seconds`` = N > 0 hides, from a read at
timestamp T, every row inserted before T's physical time minus N seconds.
Expiry is judged against the read's MVCC timestamp, never the wall clock, so a
Strong and a Bounded read at the same timestamp agree, and a row expires at the
same instant on growing and sealed segments. Every consumer goes through
:func:`expired` (or :func:`expiry_cutoff`, its bound): the querynode's
segment views (search, query, get, count) and the datanode's compaction, which
purges what has expired at its compaction timestamp. Beside
:func:`elanus.deletes.deleted_at`, the rule for deletes.
"""

from __future__ import annotations

import numpy as np

from elanus import timestamps

NEVER = 0  # the cutoff of a collection without a TTL: no row is older


def expiry_cutoff(ttl_s: int, read_ts: int) -> int:
    """The oldest insert timestamp still alive at ``read_ts``; rows below it expired.

    ``ttl_s`` <= 0 means no TTL, and the cutoff is :data:`NEVER`.
    """
    if ttl_s <= 0:
        return NEVER
    return timestamps.compose(max(timestamps.physical_ms(read_ts) - ttl_s * 1000, 0))


def expired(row_ts: np.ndarray, ttl_s: int, read_ts: int) -> np.ndarray:
    """Per row: True when a read at ``read_ts`` must not see it because of the TTL."""
    cutoff = expiry_cutoff(ttl_s, read_ts)
    result: np.ndarray = row_ts < np.uint64(cutoff)
    return result


def any_expired(min_row_ts: int, ttl_s: int, read_ts: int) -> bool:
    """Whether a segment whose oldest row has ``min_row_ts`` holds an expired row."""
    return min_row_ts < expiry_cutoff(ttl_s, read_ts)


def expired_share(min_row_ts: int, max_row_ts: int, ttl_s: int, read_ts: int) -> float:
    """An estimate of the share of a segment's rows expired at ``read_ts``: the part of
    its rows' time span, ``min_row_ts`` to ``max_row_ts``, below the cutoff (rows taken
    as spread evenly over it). 1.0 when all of them have expired, 0.0 when none."""
    cutoff = expiry_cutoff(ttl_s, read_ts)
    if min_row_ts >= cutoff:
        return 0.0
    if max_row_ts < cutoff:
        return 1.0
    oldest, newest = timestamps.physical_ms(min_row_ts), timestamps.physical_ms(max_row_ts)
    span = newest - oldest
    if span <= 0:
        return 1.0
    return min((timestamps.physical_ms(cutoff) - oldest) / span, 1.0)
