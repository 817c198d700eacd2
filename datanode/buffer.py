"""Rows and deletes of one virtual channel that are not yet in object storage."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from elanus.columns import TS_COLUMN, fill_missing
from elanus.deletes import ALIVE, Deletes, truncated_at
from elanus.dml import DeleteBatch, InsertBatch
from elanus.schema import CollectionSchema


@dataclass
class SegmentBuffer:
    segment_id: int
    partition_id: int
    first_position: int
    tick_before: int  # the highest tick on the channel before first_position
    batches: list[pa.Table] = field(default_factory=list)
    num_rows: int = 0

    def add(self, batch: InsertBatch) -> None:
        ts = pa.array(np.full(batch.rows.num_rows, batch.stamp.timestamp, dtype=np.uint64))
        self.batches.append(batch.rows.append_column(TS_COLUMN, ts))
        self.num_rows += batch.rows.num_rows

    def drop_before(self, ts: int) -> None:
        """Forget the rows a truncate at ``ts`` hides (elanus/deletes.py decides which)."""
        kept = [
            b.filter(pa.array(truncated_at(b.column(TS_COLUMN).to_numpy(), ts) == ALIVE))
            for b in self.batches
        ]
        self.batches = [b for b in kept if b.num_rows]
        self.num_rows = sum(b.num_rows for b in self.batches)

    def table(self, schema: CollectionSchema) -> pa.Table:
        """The buffered rows in the layout of ``schema``: batches from before a field was
        added get its column, with its default value or null."""
        names = [*(f.name for f in schema.fields), TS_COLUMN]
        filled = [fill_missing(batch, schema).select(names) for batch in self.batches]
        return pa.concat_tables(filled, promote_options="default")


@dataclass
class DeleteBuffer:
    """Delete records not yet in a delta log, each with its partition scope."""

    first_position: int = -1
    tick_before: int = 0  # the highest tick on the channel before first_position
    parts: list[Deletes] = field(default_factory=list)
    num_rows: int = 0
    max_ts: int = 0

    def add(self, batch: DeleteBatch, position: int, tick_before: int) -> None:
        if self.first_position < 0:
            self.first_position, self.tick_before = position, tick_before
        self.parts.append(Deletes.of(batch.pks, batch.stamp.timestamp, batch.partition_id))
        self.num_rows += len(batch.pks)
        self.max_ts = max(self.max_ts, batch.stamp.timestamp)

    def drain(self) -> Deletes:
        records = Deletes.concat(self.parts)
        self.first_position, self.tick_before, self.parts = -1, 0, []
        self.num_rows, self.max_ts = 0, 0
        return records
