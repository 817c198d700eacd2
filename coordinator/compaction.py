"""Compaction: plan merges of flushed segments, run them on a datanode, commit the swap.

A group is the flushed segments of one (collection, partition, channel). A plan
takes some of them, smallest first, up to ``segment_max_rows``. The datanode
writes the merged file (``datanode/compactor.py``); the coordinator then swaps
the segments in one KV transaction (new FLUSHED, old DROPPED with
``compacted_to``), and only then tells querynodes and schedules index builds.
Delta logs are kept: a delete that lands after the plan was made is still in
its delta log and in every delegator's memory, and applies to the new segment.
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from coordinator.segments import SegmentManager
from elanus import errors, expiry, properties
from elanus.config import CoordinatorConfig
from elanus.meta import CompactionPlan, DeltaLog, SegmentInfo, SegmentState
from elanus.services import CompactionMerge, CompactionProgress, DataNodeClient
from elanus.storage import ObjectStore

log = logging.getLogger(__name__)

MAX_KEPT_TASKS = 1000  # finished ManualCompaction states remembered for GetCompactionState
UNMERGED = -1  # a plan's target while it has not committed (Milvus reports -1 too)


@dataclass
class _Task:
    compaction_id: int
    pending: int
    completed: int = 0
    failed: int = 0
    plan_ids: list[int] = field(default_factory=list)
    # plan id -> what it merges; the target is -1 until the plan committed, as in Milvus.
    merges: dict[int, CompactionMerge] = field(default_factory=dict)


@dataclass(frozen=True)
class CompactionHooks:
    """What the coordinator provides: ids, timestamps, nodes and what to do after a swap."""

    alloc_id: Callable[[], int]
    alloc_ts: Callable[[], int]
    pk_name: Callable[[int], str]
    # The collection's properties (its TTL, whether automatic compaction may run).
    properties: Callable[[int], Mapping[str, str]]
    datanode_for: Callable[[str], DataNodeClient]
    committed: Callable[[SegmentInfo, Sequence[SegmentInfo]], None]


class CompactionManager:
    def __init__(
        self,
        config: CoordinatorConfig,
        segments: SegmentManager,
        storage: ObjectStore,
        hooks: CompactionHooks,
    ) -> None:
        self._config = config
        self._segments = segments
        self._storage = storage
        self._hooks = hooks
        self._lock = threading.Lock()
        self._busy: set[int] = set()  # segments in a plan not yet committed or failed
        self._tasks: dict[int, _Task] = {}
        self._queue: queue.Queue[tuple[CompactionPlan, _Task] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="compaction", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._queue.put(None)
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    # --- triggers

    def manual(self, collection_id: int) -> int:
        """Compact every group with two or more segments, and any segment with deletes."""
        return self._submit(collection_id, automatic=False)

    def automatic(self, collection_ids: Sequence[int]) -> int:
        """The periodic policy: how many plans it started. A collection whose
        ``collection.autocompaction.enabled`` is false is left alone."""
        return sum(
            self._plans_started(self._submit(c, automatic=True))
            for c in collection_ids
            if properties.autocompaction_enabled(self._hooks.properties(c))
        )

    def state(self, compaction_id: int) -> CompactionProgress:
        with self._lock:
            task = self._tasks.get(compaction_id)
            if task is None:
                return CompactionProgress("Completed", 0, 0, 0)
            state = "Executing" if task.pending else "Completed"
            merges = tuple(task.merges[plan_id] for plan_id in task.plan_ids)
            return CompactionProgress(state, task.pending, task.completed, task.failed, merges)

    def idle(self) -> bool:
        with self._lock:
            return not self._busy

    # --- planning

    def _submit(self, collection_id: int, automatic: bool) -> int:
        compaction_id = self._hooks.alloc_id()
        ttl_s = properties.ttl_seconds(self._hooks.properties(collection_id))
        now_ts = self._hooks.alloc_ts() if ttl_s else 0
        groups: dict[tuple[int, str], list[SegmentInfo]] = {}
        with self._lock:
            for s in self._segments.of_collection(collection_id, [SegmentState.FLUSHED]):
                if s.segment_id not in self._busy:
                    groups.setdefault((s.partition_id, s.vchannel), []).append(s)
            plans = []
            for (_, vchannel), members in sorted(groups.items()):
                deltas = self._segments.deltas_of_channel(vchannel)
                expiring = {
                    s.segment_id for s in members if self._expiring(s, ttl_s, now_ts, automatic)
                }
                for chosen in self._choose(members, deltas, automatic, expiring):
                    plans.append(self._plan(chosen, deltas, ttl_s))
                    self._busy.update(s.segment_id for s in chosen)
            task = _Task(
                compaction_id,
                pending=len(plans),
                plan_ids=[p.plan_id for p in plans],
                merges={
                    p.plan_id: CompactionMerge(tuple(s.segment_id for s in p.segments), UNMERGED)
                    for p in plans
                },
            )
            self._tasks[compaction_id] = task
            while len(self._tasks) > MAX_KEPT_TASKS:
                del self._tasks[next(iter(self._tasks))]
        for plan in plans:
            self._queue.put((plan, task))
        if plans:
            log.info(
                "compaction started",
                extra={"collection": collection_id, "plans": len(plans), "automatic": automatic},
            )
        return compaction_id

    def _plans_started(self, compaction_id: int) -> int:
        with self._lock:
            task = self._tasks.get(compaction_id)
            return len(task.plan_ids) if task else 0

    def _choose(
        self,
        members: list[SegmentInfo],
        deltas: list[DeltaLog],
        automatic: bool,
        expiring: set[int],
    ) -> list[list[SegmentInfo]]:
        max_rows = self._config.segment_max_rows
        small = [s for s in members if s.num_rows < max_rows * self._config.compaction_small_ratio]
        batches: list[list[SegmentInfo]] = []
        if not automatic or len(small) >= self._config.compaction_min_segments:
            pool = sorted(members if not automatic else small, key=lambda s: s.num_rows)
            batch: list[SegmentInfo] = []
            for s in pool:
                if batch and sum(b.num_rows for b in batch) + s.num_rows > max_rows:
                    batches.append(batch)
                    batch = []
                batch.append(s)
            if batch:
                batches.append(batch)
        chosen = {s.segment_id for b in batches for s in b if len(b) > 1}
        merges = [b for b in batches if len(b) > 1]
        # A segment compacted alone only to purge deletes newer than its last compaction,
        # or rows that have expired under the collection's TTL (``expiring``).
        for s in members:
            if s.segment_id in chosen:
                continue
            newer = sum(d.num_rows for d in deltas if d.log_id > s.purged_log_id)
            threshold = self._config.compaction_deleted_ratio * s.num_rows if automatic else 0
            if newer > threshold or s.segment_id in expiring:
                merges.append([s])
        return merges

    def _expiring(self, segment: SegmentInfo, ttl_s: int, now_ts: int, automatic: bool) -> bool:
        """Whether the segment is worth compacting alone for the rows its TTL expired: any
        such row for a manual compaction; for the periodic policy, a share above
        ``compaction_deleted_ratio`` (rows before ``seal_ts``), so a collection under a
        steady stream of inserts is not rewritten at every period."""
        if not ttl_s:
            return False
        if not automatic:
            return expiry.any_expired(segment.min_row_ts, ttl_s, now_ts)
        newest = max(segment.seal_ts - 1, segment.min_row_ts)
        share = expiry.expired_share(segment.min_row_ts, newest, ttl_s, now_ts)
        return share > self._config.compaction_deleted_ratio

    def _plan(
        self, chosen: list[SegmentInfo], deltas: list[DeltaLog], ttl_s: int
    ) -> CompactionPlan:
        # Logs a source was compacted past hold no delete of its rows left to purge;
        # every listed log holds only deletes below compact_ts, allocated after the list.
        oldest_purge = min(s.purged_log_id for s in chosen)
        return CompactionPlan(
            plan_id=self._hooks.alloc_id(),
            result_segment_id=self._hooks.alloc_id(),
            pk_name=self._hooks.pk_name(chosen[0].collection_id),
            compact_ts=self._hooks.alloc_ts(),
            segments=tuple(sorted(chosen, key=lambda s: s.segment_id)),
            delta_logs=tuple(d for d in deltas if d.log_id > oldest_purge),
            ttl_s=ttl_s,
        )

    # --- execution

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            plan, task = item
            ok = False
            try:
                ok = self._execute(plan)
            except errors.ElanusError as exc:  # its datanode unreachable or refusing
                log.warning("compaction failed", extra={"plan": plan.plan_id, "reason": str(exc)})
            except Exception:
                log.exception("compaction failed", extra={"plan": plan.plan_id})
            with self._lock:
                self._busy.difference_update(s.segment_id for s in plan.segments)
                task.pending -= 1
                if ok:
                    task.completed += 1
                    merge = task.merges[plan.plan_id]
                    task.merges[plan.plan_id] = CompactionMerge(
                        merge.sources, plan.result_segment_id
                    )
                else:
                    task.failed += 1

    def _execute(self, plan: CompactionPlan) -> bool:
        node = self._hooks.datanode_for(plan.segments[0].vchannel)
        result = node.compact(plan)
        purged = max(
            [d.log_id for d in plan.delta_logs] + [min(s.purged_log_id for s in plan.segments)]
        )
        result = dataclasses.replace(
            result, compact_ts=plan.compact_ts, purged_log_id=purged, index_files={}
        )
        sources = [s.segment_id for s in plan.segments]
        if not self._segments.commit_compaction(result, sources):
            log.warning(
                "compaction result discarded: its sources changed", extra={"plan": plan.plan_id}
            )
            for key in (result.data_key, result.pk_stats_key):
                if key:
                    self._storage.delete(key)
            return False
        self._hooks.committed(result, plan.segments)
        return True
