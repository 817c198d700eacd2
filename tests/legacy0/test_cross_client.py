"""One data model: a 0.x table is an ordinary collection that pymilvus 3 reads and writes.

The 2.x side is tests/legacy/pymilvus3_client.py, run by .venv's interpreter:
pymilvus 0.2.7 and 3 cannot share a process.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from milvus import MetricType

from .conftest import REPO_ROOT, Target

HELPER = REPO_ROOT / "tests" / "legacy" / "pymilvus3_client.py"
PYMILVUS3_PYTHON = Path(
    os.environ.get("ELANUS_PYMILVUS3_PYTHON", REPO_ROOT / ".venv" / "bin" / "python")
)
DIM = 16

pytestmark = pytest.mark.skipif(
    not PYMILVUS3_PYTHON.exists(), reason=f"no {PYMILVUS3_PYTHON} with pymilvus 3"
)


def modern(server: Target, op: str, collection: str, **fields: Any) -> Any:
    env = {k: v for k, v in os.environ.items() if k != "PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION"}
    done = subprocess.run(
        [str(PYMILVUS3_PYTHON), str(HELPER)],
        input=json.dumps({"uri": server.uri, "op": op, "collection": collection, **fields}),
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise AssertionError(f"pymilvus 3 {op} failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout)


def _vectors(count: int, seed: int) -> list[list[float]]:
    rng = random.Random(seed)
    return [[rng.random() for _ in range(DIM)] for _ in range(count)]


def _same_hits(results: Any, theirs: list[list[list[Any]]]) -> None:
    ours = [[(hit.id, hit.distance) for hit in row] for row in results]
    assert len(ours) == len(theirs)
    for row, other in zip(ours, theirs, strict=True):
        assert [i for i, _ in row] == [int(i) for i, _ in other]
        assert [d for _, d in row] == pytest.approx([float(d) for _, d in other], abs=1e-5)


def test_table_written_by_0x_is_read_and_written_by_2x(
    server: Target, milvus: Any, new_name: Any
) -> None:
    name = new_name("x0to2")
    param = {"table_name": name, "dimension": DIM, "metric_type": MetricType.L2}
    assert milvus.create_table(param).OK()
    assert milvus.create_partition(name, f"{name}_tag01", "tag01").OK()
    vectors = _vectors(50, 1)
    status, _ = milvus.add_vectors(name, vectors[:40])
    assert status.OK()
    status, tagged = milvus.insert(name, vectors[40:], ids=list(range(10)), partition_tag="tag01")
    assert status.OK()

    described = modern(server, "describe", name)
    assert [n for n, _ in described["fields"]] == ["id", "vector"]
    assert described["properties"]["metric_type"] == "L2"
    assert described["properties"]["index_file_size"] == "1024"

    queries = vectors[:6] + vectors[40:42]
    status, results = milvus.search(name, 4, 16, queries)
    assert status.OK()
    _same_hits(results, modern(server, "search", name, vectors=queries, limit=4))
    status, results = milvus.search(name, 3, 16, queries, partition_tags=["tag01"])
    assert status.OK()
    in_partition = modern(server, "search", name, vectors=queries, limit=3, partitions=["tag01"])
    _same_hits(results, in_partition)
    assert all(int(i) in set(tagged) for row in in_partition for i, _ in row)

    # ...and what pymilvus 3 writes into the table the 0.x client finds
    extra = _vectors(3, 2)
    modern(server, "insert", name, ids=[1000, 1001, 1002], vectors=extra)
    status, count = milvus.count_table(name)
    assert status.OK() and count == 53
    status, results = milvus.search(name, 1, 16, extra)
    assert status.OK() and [row[0].id for row in results] == [1000, 1001, 1002]


def test_collection_made_by_2x_is_a_0x_table(server: Target, milvus: Any, new_name: Any) -> None:
    name = new_name("x2to0")
    modern(server, "create", name, dim=DIM)
    vectors = _vectors(30, 3)
    modern(server, "insert", name, ids=list(range(100, 130)), vectors=vectors)
    status, table = milvus.describe_table(name)
    assert status.OK(), status
    assert table.dimension == DIM and table.metric_type == MetricType.L2
    status, tables = milvus.show_tables()
    assert status.OK() and name in tables
    status, count = milvus.count_table(name)
    assert status.OK() and count == 30
    status, results = milvus.search(name, 5, 8, vectors[:4])
    assert status.OK()
    _same_hits(results, modern(server, "search", name, vectors=vectors[:4], limit=5))
