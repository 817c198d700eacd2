"""The indexnode builds float32 indexes from FLOAT16 and BFLOAT16 segment columns.

A build task names no data type; the stored column's layout tells the two apart,
so a wrong guess (fp16 bits read as bf16 or the reverse) would find other rows.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from roles_harness import wait_until

from elanus import segment, vectors
from elanus.columns import half_to_float32, half_vector_array
from elanus.config import IndexNodeConfig
from elanus.meta import IndexBuildTask, IndexInfo, SegmentInfo, SegmentState
from elanus.schema import DataType, FieldSchema
from elanus.storage.local_dir import LocalDirStore
from indexnode import IndexNode

DIM = 8
ROWS = 60


@dataclass
class Reports:
    built: list[tuple[int, str]] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def index_built(self, task: IndexBuildTask, key: str) -> None:
        with self._lock:
            self.built.append((task.build_id, key))

    def index_failed(self, task: IndexBuildTask, reason: str) -> None:
        with self._lock:
            self.failed.append((task.build_id, reason))


def half_bits(data_type: DataType) -> np.ndarray:
    values = np.random.default_rng(2).standard_normal((ROWS, DIM)).astype(np.float32)
    if data_type is DataType.FLOAT16_VECTOR:
        return values.astype(np.float16).view(np.uint16)
    return (values.view(np.uint32) >> 16).astype(np.uint16)


@pytest.mark.parametrize("data_type", [DataType.FLOAT16_VECTOR, DataType.BFLOAT16_VECTOR])
@pytest.mark.parametrize("index_type", ["FLAT", "HNSW"])
def test_builds_from_half_columns(tmp_path: Path, data_type: DataType, index_type: str) -> None:
    bits = half_bits(data_type)
    f = FieldSchema("vec", data_type, type_params={"dim": str(DIM)})
    table = pa.table(
        {
            "id": pa.array(np.arange(ROWS, dtype=np.int64)),
            "vec": half_vector_array(bits.tobytes(), f, ROWS),
            "_ts": pa.array(np.ones(ROWS, dtype=np.uint64)),
        }
    )
    storage = LocalDirStore(tmp_path)
    key = segment.segment_data_key(1, 2, 100)
    storage.put(key, segment.write_segment(table))
    seg = SegmentInfo(100, 1, 2, "v", SegmentState.FLUSHED, ROWS, data_key=key)
    index = IndexInfo(7, 1, "vec", "vec", index_type, "L2", {}, 1)
    reports = Reports()
    node = IndexNode(1, IndexNodeConfig(build_threads=1), storage, reports)
    node.start()
    try:
        node.submit(IndexBuildTask(1, index, seg, DIM))
        wait_until(lambda: reports.built or reports.failed)
    finally:
        node.stop()
    assert reports.failed == []
    loaded = vectors.load_index(
        vectors.IndexSpec(index_type, "L2", {}), storage.get(reports.built[0][1])
    )
    floats = half_to_float32(bits, data_type)
    distances, offsets = loaded.search(floats[:10], 1, {"ef": 32} if index_type == "HNSW" else {})
    assert offsets[:, 0].tolist() == list(range(10))
    assert np.allclose(distances[:, 0], 0.0, atol=1e-5)
