"""Build tasks run one at a time per worker thread, from a queue the coordinator fills.

A build reads the segment's vector column from object storage, builds the index
the task names, and uploads the serialised index; the coordinator records the
file on the segment. A task that fails is reported with its reason, never retried
blindly (a bad parameter would fail forever).
"""

from __future__ import annotations

import functools
import logging
import queue
import threading
import time
from collections.abc import Callable

import numpy as np
import pyarrow as pa

from elanus import scalar_index, segment, vectors
from elanus.columns import HALF_WIDTH, vectors_from_column
from elanus.config import IndexNodeConfig
from elanus.meta import IndexBuildTask
from elanus.schema import DataType, FieldSchema
from elanus.services import CoordinatorForIndexNode
from elanus.storage import ObjectStore

log = logging.getLogger(__name__)

REPORT_ATTEMPTS = 3
REPORT_BACKOFF_S = 0.2


class IndexNode:
    def __init__(
        self,
        node_id: int,
        config: IndexNodeConfig,
        storage: ObjectStore,
        coordinator: CoordinatorForIndexNode,
    ) -> None:
        self.node_id = node_id
        self._storage = storage
        self._coordinator = coordinator
        self._tasks: queue.Queue[IndexBuildTask | None] = queue.Queue()
        self._workers = [
            threading.Thread(target=self._run, name=f"indexnode-{i}", daemon=True)
            for i in range(max(config.build_threads, 1))
        ]

    def start(self) -> None:
        for worker in self._workers:
            worker.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        for _ in self._workers:
            self._tasks.put(None)
        for worker in self._workers:
            worker.join(timeout_s)

    def submit(self, task: IndexBuildTask) -> None:
        self._tasks.put(task)

    def _run(self) -> None:
        while True:
            task = self._tasks.get()
            if task is None:
                return
            try:
                key = self._build(task)
            except Exception as exc:  # reported to the coordinator with its reason
                log.exception("index build failed", extra={"segment": task.segment.segment_id})
                reason = f"{type(exc).__name__}: {exc}"
                self._report(task, functools.partial(self._coordinator.index_failed, task, reason))
            else:
                self._report(task, functools.partial(self._coordinator.index_built, task, key))

    def _report(self, task: IndexBuildTask, call: Callable[[], None]) -> None:
        """Tell the coordinator, retrying a few times; a lost report must not end the worker."""
        for attempt in range(REPORT_ATTEMPTS):
            try:
                call()
                return
            except Exception:
                log.exception(
                    "cannot report an index build",
                    extra={"build": task.build_id, "attempt": attempt},
                )
            time.sleep(REPORT_BACKOFF_S * (attempt + 1))

    def _build(self, task: IndexBuildTask) -> str:
        table = segment.read_segment(self._storage.get(task.segment.data_key))
        column = table.column(task.index.field_name)
        key = segment.index_file_key(
            task.index.collection_id, task.segment.segment_id, task.index.index_id, task.build_id
        )
        if scalar_index.is_scalar_index_type(task.index.index_type):
            # Sorted values with their row offsets (see elanus/scalar_index.py).
            self._storage.put(key, scalar_index.build_scalar_index(task.index.index_type, column))
            log.info(
                "scalar index built",
                extra={"segment": task.segment.segment_id, "index": task.index.index_name},
            )
            return key
        field = _vector_field(task, column.type)
        data = vectors_from_column(column, field)
        spec = vectors.IndexSpec(task.index.index_type, task.index.metric_type, task.index.params)
        index = vectors.build_index(spec, np.ascontiguousarray(data), task.dim)
        self._storage.put(key, index.serialize())
        log.info(
            "index built",
            extra={
                "segment": task.segment.segment_id,
                "index": task.index.index_name,
                "rows": len(data),
            },
        )
        return key


def _vector_field(task: IndexBuildTask, stored: pa.DataType) -> FieldSchema:
    """The field as far as the build needs it; the task carries no data type, the column does.

    Half vectors are told apart by their stored layout (see :mod:`elanus.columns`):
    a list of halffloats is FLOAT16, a binary of two bytes per dimension BFLOAT16.
    """
    if task.index.metric_type in vectors.BINARY_METRICS:
        kind = DataType.BINARY_VECTOR
    elif pa.types.is_fixed_size_list(stored) and stored.value_type == pa.float16():
        kind = DataType.FLOAT16_VECTOR
    elif pa.types.is_fixed_size_binary(stored) and stored.byte_width == task.dim * HALF_WIDTH:
        kind = DataType.BFLOAT16_VECTOR
    else:
        kind = DataType.FLOAT_VECTOR
    return FieldSchema(task.index.field_name, kind, type_params={"dim": str(task.dim)})
