"""The datanode's side of compaction: merge segment files, leave deleted and expired rows out.

A row is purged when a delete in the plan's delta logs at or below the plan's
``compact_ts`` hides it (elanus/deletes.py: same key, a timestamp above the
row's own, the row's partition or all partitions), or when it has expired at
``compact_ts`` under the collection's TTL (elanus/expiry.py, the rule every
read applies). Later deletes are not applied here; they stay in their delta
logs and in the querynodes' memory, which apply them to the new segment as to
any other.
"""

from __future__ import annotations

import logging

import numpy as np
import pyarrow as pa

from elanus import expiry, segment
from elanus.columns import TS_COLUMN, fill_missing, oldest_row_ts
from elanus.deletes import ALIVE, Deletes, deleted_at
from elanus.meta import CompactionPlan, SegmentInfo, SegmentState
from elanus.schema import CollectionSchema
from elanus.storage import ObjectStore

log = logging.getLogger(__name__)


def compact(plan: CompactionPlan, storage: ObjectStore, schema: CollectionSchema) -> SegmentInfo:
    """Write the merged segment of ``plan`` in the layout of the collection's current
    ``schema`` (a file from before a field was added gets its column, with its default
    value or null) and return its (FLUSHED) info; a result with no rows left is
    returned as DROPPED and writes nothing."""
    if not plan.segments:
        raise ValueError(f"compaction plan {plan.plan_id} has no segments")
    first = plan.segments[0]
    for source in plan.segments:
        if (source.collection_id, source.partition_id, source.vchannel) != (
            first.collection_id,
            first.partition_id,
            first.vchannel,
        ):
            raise ValueError(f"compaction plan {plan.plan_id} mixes partitions or channels")
    names = [*(f.name for f in schema.fields), TS_COLUMN]
    tables = [
        fill_missing(segment.read_segment(storage.get(s.data_key)), schema).select(names)
        for s in plan.segments
    ]
    merged = pa.concat_tables(tables, promote_options="default").combine_chunks()
    row_ts = merged.column(TS_COLUMN).to_numpy().astype(np.uint64, copy=False)
    gone = _deleted_rows(merged, plan, storage) | expiry.expired(
        row_ts, plan.ttl_s, plan.compact_ts
    )
    kept = merged.filter(pa.array(~gone))
    sources = {s.segment_id for s in plan.segments}
    for source in plan.segments:
        sources.update(source.compacted_from)
    result = SegmentInfo(
        segment_id=plan.result_segment_id,
        collection_id=first.collection_id,
        partition_id=first.partition_id,
        vchannel=first.vchannel,
        state=SegmentState.DROPPED,
        seal_ts=max(s.seal_ts for s in plan.segments),
        compacted_from=tuple(sorted(sources)),
    )
    log.info(
        "segments compacted",
        extra={
            "plan": plan.plan_id,
            "sources": [s.segment_id for s in plan.segments],
            "rows_in": merged.num_rows,
            "rows_out": kept.num_rows,
        },
    )
    if kept.num_rows == 0:
        return result
    data = segment.write_segment(kept)
    stats = segment.build_pk_stats(kept.column(plan.pk_name).combine_chunks())
    data_key = segment.segment_data_key(
        first.collection_id, first.partition_id, plan.result_segment_id
    )
    stats_key = segment.pk_stats_key(
        first.collection_id, first.partition_id, plan.result_segment_id
    )
    storage.put(data_key, data)
    storage.put(stats_key, stats.to_bytes())
    return SegmentInfo(
        **{
            **result.to_dict(),
            "state": SegmentState.FLUSHED,
            "index_files": {},
            "compacted_from": result.compacted_from,
            "num_rows": kept.num_rows,
            "data_key": data_key,
            "pk_stats_key": stats_key,
            "size_bytes": len(data),
            "min_row_ts": oldest_row_ts(kept),
        }
    )


def _deleted_rows(table: pa.Table, plan: CompactionPlan, storage: ObjectStore) -> np.ndarray:
    """A mask of the rows a delete at or below ``compact_ts`` hides (one partition per plan)."""
    if not plan.delta_logs:
        return np.zeros(table.num_rows, dtype=bool)
    records = Deletes.concat([segment.read_deltas(storage.get(d.key)) for d in plan.delta_logs])
    row_ts = table.column(TS_COLUMN).to_numpy().astype(np.uint64, copy=False)
    marks = deleted_at(
        table.column(plan.pk_name),
        row_ts,
        plan.segments[0].partition_id,
        records.at_or_before(plan.compact_ts),
    )
    hidden: np.ndarray = marks != ALIVE
    return hidden
