"""The indexnode alone: builds from segment files, reports back, survives a failed report."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
from roles_harness import make_rows, make_schema, vectors_for, wait_until

from elanus import segment, vectors
from elanus.config import IndexNodeConfig
from elanus.meta import IndexBuildTask, IndexInfo, SegmentInfo, SegmentState
from elanus.storage.local_dir import LocalDirStore
from indexnode import IndexNode

SCHEMA = make_schema(dim=8)


@dataclass
class RecordingCoordinator:
    """Only the two calls an indexnode makes; the first report may be made to fail."""

    fail_first_report: bool = False
    built: list[tuple[int, str]] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def index_built(self, task: IndexBuildTask, key: str) -> None:
        with self._lock:
            if self.fail_first_report:
                self.fail_first_report = False
                raise ConnectionError("coordinator unreachable")
            self.built.append((task.build_id, key))

    def index_failed(self, task: IndexBuildTask, reason: str) -> None:
        with self._lock:
            self.failed.append((task.build_id, reason))


def _task(storage: LocalDirStore, build_id: int, index_type: str = "FLAT") -> IndexBuildTask:
    table = make_rows(SCHEMA, range(50))
    table = table.append_column("_ts", pa.array(np.ones(50, dtype=np.uint64)))
    key = segment.segment_data_key(1, 2, 100 + build_id)
    storage.put(key, segment.write_segment(table))
    seg = SegmentInfo(100 + build_id, 1, 2, "v", SegmentState.FLUSHED, 50, data_key=key)
    params = {"nlist": 4} if index_type == "IVF_FLAT" else {}
    index = IndexInfo(7, 1, "vec", "vec", index_type, "L2", params, 1)
    return IndexBuildTask(build_id, index, seg, 8)


def test_builds_and_uploads(tmp_path: Path) -> None:
    storage = LocalDirStore(tmp_path)
    coordinator = RecordingCoordinator()
    node = IndexNode(1, IndexNodeConfig(build_threads=2), storage, coordinator)
    node.start()
    try:
        node.submit(_task(storage, 1))
        node.submit(_task(storage, 2, "IVF_FLAT"))
        node.submit(_task(storage, 3, "NO_SUCH_INDEX"))
        wait_until(lambda: len(coordinator.built) + len(coordinator.failed) == 3)
    finally:
        node.stop()
    assert sorted(b for b, _ in coordinator.built) == [1, 2]
    assert [b for b, _ in coordinator.failed] == [3]
    assert "NO_SUCH_INDEX" in coordinator.failed[0][1]
    flat_key = dict(coordinator.built)[1]
    loaded = vectors.load_index(vectors.IndexSpec("FLAT", "L2", {}), storage.get(flat_key))
    _, offsets = loaded.search(vectors_for([5], 8), 1, {}, np.ones(50, dtype=bool))
    assert offsets.tolist() == [[5]]


def test_a_failed_report_does_not_kill_the_worker(tmp_path: Path) -> None:
    storage = LocalDirStore(tmp_path)
    coordinator = RecordingCoordinator(fail_first_report=True)
    node = IndexNode(1, IndexNodeConfig(build_threads=1), storage, coordinator)
    node.start()
    try:
        node.submit(_task(storage, 1))
        node.submit(_task(storage, 2))
        wait_until(lambda: len(coordinator.built) == 2, timeout_s=5.0, what="both builds reported")
    finally:
        node.stop(timeout_s=2.0)
    # The report that failed was retried; the worker went on to the next build.
    assert [b for b, _ in coordinator.built] == [1, 2]


def test_builds_a_scalar_index_that_a_sealed_segment_filters_with(tmp_path: Path) -> None:
    """The indexnode writes sorted values with row offsets; a sealed segment takes
    its filter leaves from them (a growing one scans)."""
    from elanus import expr, scalar_index
    from querynode.segment import Segment

    storage = LocalDirStore(tmp_path)
    coordinator = RecordingCoordinator()
    node = IndexNode(1, IndexNodeConfig(build_threads=1), storage, coordinator)
    node.start()
    try:
        task = _task(storage, 3)
        index = IndexInfo(8, 1, "pk", "pk_idx", "STL_SORT", "", {}, 1)
        node.submit(IndexBuildTask(4, index, task.segment, 0))
        wait_until(lambda: coordinator.built, what="the scalar build")
    finally:
        node.stop()
    assert coordinator.failed == []
    lookup = scalar_index.load_scalar_index(storage.get(coordinator.built[0][1]))
    table = segment.read_segment(storage.get(task.segment.data_key))
    parsed = expr.parse("pk >= 40 or pk in [3, 5]", SCHEMA)
    expected = expr.evaluate(parsed, table)
    sealed = Segment.from_table(task.segment.segment_id, 2, SCHEMA, table, sealed=True)
    sealed.set_scalar_index("pk", lookup)
    assert sealed.view().scalar_indexes["pk"] is lookup
    assert np.array_equal(sealed.view().filter_result(parsed), expected)
    growing = Segment.from_table(9, 2, SCHEMA, table, sealed=False)
    growing.set_scalar_index("pk", lookup)
    assert dict(growing.view().scalar_indexes) == {}
