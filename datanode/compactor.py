"""The datanode's side of compaction: merge segment files and leave deleted rows out.

A row is purged when a delete of its primary key with a timestamp above the
row's own (and at or below the plan's ``compact_ts``) is in the plan's delta
logs. Later deletes are not applied here; they stay in their delta logs and in
the querynodes' memory, which apply them to the new segment as to any other.
"""

from __future__ import annotations

import logging

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from elanus import segment
from elanus.meta import CompactionPlan, SegmentInfo, SegmentState
from elanus.storage import ObjectStore

log = logging.getLogger(__name__)


def compact(plan: CompactionPlan, storage: ObjectStore) -> SegmentInfo:
    """Write the merged segment of ``plan`` and return its (FLUSHED) info; a result
    with no rows left is returned as DROPPED and writes nothing."""
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
    tables = [segment.read_segment(storage.get(s.data_key)) for s in plan.segments]
    merged = pa.concat_tables(tables, promote_options="default").combine_chunks()
    kept = merged.filter(pa.array(~_deleted_rows(merged, plan, storage)))
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
        }
    )


def _deleted_rows(table: pa.Table, plan: CompactionPlan, storage: ObjectStore) -> np.ndarray:
    """A mask of the rows a delete at or below ``compact_ts`` removed."""
    pk_parts, ts_parts = [], []
    for delta in plan.delta_logs:
        pks, timestamps = segment.read_deltas(storage.get(delta.key))
        wanted = timestamps <= np.uint64(plan.compact_ts)
        pk_parts.append(pks.filter(pa.array(wanted)))
        ts_parts.append(timestamps[wanted])
    deleted = np.zeros(table.num_rows, dtype=bool)
    if not pk_parts or not sum(len(p) for p in pk_parts):
        return deleted
    deletes = pa.table({"pk": pa.concat_arrays(pk_parts), "ts": pa.array(np.concatenate(ts_parts))})
    latest = deletes.group_by("pk").aggregate([("ts", "max")])
    row_pks = table.column(plan.pk_name).combine_chunks()
    where = pc.index_in(row_pks, value_set=latest.column("pk").combine_chunks())
    hit = where.is_valid().to_numpy(zero_copy_only=False)
    if not hit.any():
        return deleted
    delete_ts = latest.column("ts_max").combine_chunks().to_numpy(zero_copy_only=False)
    positions = where.fill_null(0).to_numpy(zero_copy_only=False)
    row_ts = table.column(segment.TS_COLUMN).combine_chunks().to_numpy(zero_copy_only=False)
    deleted[hit] = delete_ts[positions[hit]] > row_ts[hit]
    return deleted
