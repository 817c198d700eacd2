"""Deletes and the one rule that decides which rows they hide.

A delete record is (primary key, timestamp, partition). It hides every row with
that primary key that was inserted strictly before the timestamp, in that
partition, or in any partition when the record's partition is
:data:`ALL_PARTITIONS`. "Strictly before" keeps an upsert's new row: an upsert
is a delete of the key everywhere and an insert, under one timestamp.

A truncate at T (TruncateCollection) hides every row of the collection inserted
strictly before T, whatever its key: :func:`truncated_at`. Its later rows stay.

Every consumer applies deletes through :func:`deleted_at` and nothing else: the
querynode's growing and sealed segments (from the stream, from delta log
files, at handoff and after compaction) and the datanode's compaction. Search,
query, get and count all read the marks it computes, so they cannot disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

ALL_PARTITIONS = 0  # a delete without partition_name: every partition (Milvus sends -1)
ALIVE = np.iinfo(np.uint64).max  # the mark of a row no delete hides


@dataclass(frozen=True)
class Deletes:
    """Delete records as three aligned columns."""

    pks: pa.Array
    timestamps: np.ndarray  # uint64, one per key
    partitions: np.ndarray  # int64, one per key; ALL_PARTITIONS hits every partition

    def __post_init__(self) -> None:
        if not len(self.pks) == len(self.timestamps) == len(self.partitions):
            raise ValueError(
                f"delete records need aligned columns: {len(self.pks)} keys, "
                f"{len(self.timestamps)} timestamps, {len(self.partitions)} partitions"
            )

    @classmethod
    def of(cls, pks: pa.Array | pa.ChunkedArray, timestamp: int, partition_id: int) -> Deletes:
        """One delete message: these keys, one timestamp, one scope."""
        keys = _single(pks)
        return cls(
            keys,
            np.full(len(keys), timestamp, dtype=np.uint64),
            np.full(len(keys), partition_id, dtype=np.int64),
        )

    @classmethod
    def concat(cls, parts: Sequence[Deletes]) -> Deletes:
        if not parts:
            raise ValueError("Deletes.concat needs at least one part")
        if len(parts) == 1:
            return parts[0]
        return cls(
            pa.concat_arrays([p.pks for p in parts]),
            np.concatenate([p.timestamps for p in parts]),
            np.concatenate([p.partitions for p in parts]),
        )

    def __len__(self) -> int:
        return len(self.pks)

    @property
    def max_ts(self) -> int:
        return int(self.timestamps.max()) if len(self) else 0

    def where(self, keep: np.ndarray) -> Deletes:
        return Deletes(
            self.pks.filter(pa.array(keep)), self.timestamps[keep], self.partitions[keep]
        )

    def at_or_before(self, ts: int) -> Deletes:
        return self.where(self.timestamps <= np.uint64(ts))

    def after(self, ts: int) -> Deletes:
        return self.where(self.timestamps > np.uint64(ts))

    def reaching(self, partition_id: int) -> Deletes:
        """The records that can hide rows of ``partition_id``."""
        reach = (self.partitions == ALL_PARTITIONS) | (self.partitions == partition_id)
        return self if reach.all() else self.where(reach)


def deleted_at(
    row_pks: pa.Array | pa.ChunkedArray,
    row_ts: np.ndarray,
    partition_id: int,
    deletes: Deletes,
) -> np.ndarray:
    """Per row of one partition: the timestamp of the earliest delete that hides it, or ALIVE.

    A row is then visible at T when ``row_ts <= T < deleted_at``. This is the one
    place that decides whether a delete hides a row.
    """
    marks = np.full(len(row_ts), ALIVE, dtype=np.uint64)
    scoped = deletes.reaching(partition_id)
    if not len(scoped) or not len(row_ts):
        return marks
    keys = _single(row_pks)
    candidates = np.nonzero(pc.is_in(keys, value_set=scoped.pks).to_numpy(zero_copy_only=False))[0]
    if not len(candidates):
        return marks
    stamps = np.unique(scoped.timestamps)
    if len(stamps) == 1:  # one delete message, the common case on the stream
        ts = stamps[0]
        hidden = candidates[row_ts[candidates] < ts]
        marks[hidden] = ts
        return marks
    rows = pa.table(
        {
            "row": pa.array(candidates, type=pa.int64()),
            "pk": keys.take(pa.array(candidates)),
            "row_ts": pa.array(row_ts[candidates], type=pa.uint64()),
        }
    )
    records = pa.table({"pk": scoped.pks, "delete_ts": pa.array(scoped.timestamps)})
    pairs = rows.join(records, "pk", join_type="inner")
    pairs = pairs.filter(pc.greater(pairs.column("delete_ts"), pairs.column("row_ts")))
    if pairs.num_rows == 0:
        return marks
    earliest = pairs.group_by("row").aggregate([("delete_ts", "min")])
    hit_rows = earliest.column("row").to_numpy()
    marks[hit_rows] = earliest.column("delete_ts_min").to_numpy()
    return marks


def truncated_at(row_ts: np.ndarray, truncate_ts: int) -> np.ndarray:
    """Per row: ``truncate_ts`` if a truncate at that timestamp hides it (it was
    inserted strictly before), else ALIVE. The one place that decides it."""
    marks = np.full(len(row_ts), ALIVE, dtype=np.uint64)
    marks[row_ts < np.uint64(truncate_ts)] = np.uint64(truncate_ts)
    return marks


def _single(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
