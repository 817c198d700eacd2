"""One data model: what a 1.x client writes a 2.x client (pymilvus 3) reads, and back.

The 2.x side runs in .venv's interpreter (tests/legacy/pymilvus3_client.py):
pymilvus 1.1.2 and 3 cannot share a process.
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

from .conftest import REPO_ROOT

HELPER = Path(__file__).with_name("pymilvus3_client.py")
PYMILVUS3_PYTHON = Path(
    os.environ.get("ELANUS_PYMILVUS3_PYTHON", REPO_ROOT / ".venv" / "bin" / "python")
)
DIM = 16

pytestmark = pytest.mark.skipif(
    not PYMILVUS3_PYTHON.exists(), reason=f"no {PYMILVUS3_PYTHON} with pymilvus 3"
)


def modern(server: Any, op: str, collection: str, **fields: Any) -> Any:
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


def _legacy_hits(results: Any) -> list[list[tuple[int, float]]]:
    return [[(hit.id, hit.distance) for hit in row] for row in results]


def _same_hits(ours: list[list[tuple[int, float]]], theirs: list[list[list[Any]]]) -> None:
    assert len(ours) == len(theirs)
    for row, other in zip(ours, theirs, strict=True):
        assert [i for i, _ in row] == [int(i) for i, _ in other]
        assert [d for _, d in row] == pytest.approx([float(d) for _, d in other], abs=1e-5)


def test_written_by_1x_read_by_2x(server: Any, client: Any, new_name: Any) -> None:
    name = new_name("x1to2")
    param = {"collection_name": name, "dimension": DIM, "metric_type": MetricType.L2}
    assert client.create_collection(param).OK()
    assert client.create_partition(name, "tag01").OK()
    vectors = _vectors(50, 1)
    status, ids = client.insert(name, vectors[:40])
    assert status.OK()
    status, tagged = client.insert(name, vectors[40:], ids=list(range(10)), partition_tag="tag01")
    assert status.OK()
    assert client.delete_entity_by_id(name, ids[:5]).OK()

    described = modern(server, "describe", name)
    assert [n for n, _ in described["fields"]] == ["id", "vector"]
    assert described["properties"]["metric_type"] == "L2"
    assert described["properties"]["index_file_size"] == "1024"

    queries = vectors[:8] + vectors[40:42]
    status, results = client.search(name, 4, queries)
    assert status.OK()
    _same_hits(_legacy_hits(results), modern(server, "search", name, vectors=queries, limit=4))
    status, results = client.search(name, 3, queries, partition_tags=["tag01"])
    assert status.OK()
    in_partition = modern(server, "search", name, vectors=queries, limit=3, partitions=["tag01"])
    _same_hits(_legacy_hits(results), in_partition)
    assert all(int(i) in set(tagged) for row in in_partition for i, _ in row)

    # ...and a 2.x write into the 1.x collection is seen by the 1.x client
    extra = _vectors(3, 2)
    modern(server, "insert", name, ids=[1000, 1001, 1002], vectors=extra)
    status, count = client.count_entities(name)
    assert status.OK() and count == 50 - 5 + 3
    status, results = client.search(name, 1, extra)
    assert status.OK() and [row[0].id for row in results] == [1000, 1001, 1002]


def test_written_by_2x_read_by_1x(server: Any, client: Any, new_name: Any) -> None:
    name = new_name("x2to1")
    modern(server, "create", name, dim=DIM)
    vectors = _vectors(30, 3)
    modern(server, "insert", name, ids=list(range(100, 130)), vectors=vectors)

    status, schema = client.get_collection_info(name)
    assert status.OK(), status
    assert schema.dimension == DIM and schema.metric_type == MetricType.L2
    status, names = client.list_collections()
    assert name in names
    status, count = client.count_entities(name)
    assert status.OK() and count == 30
    status, got = client.get_entity_by_id(name, [100, 129])
    assert status.OK()
    assert got[0] == pytest.approx(vectors[0], abs=1e-6)
    assert got[1] == pytest.approx(vectors[29], abs=1e-6)
    status, results = client.search(name, 5, vectors[:4])
    assert status.OK()
    _same_hits(_legacy_hits(results), modern(server, "search", name, vectors=vectors[:4], limit=5))


def test_2x_schema_1x_cannot_express_is_listed_but_refused(
    server: Any, client: Any, new_name: Any
) -> None:
    name = new_name("x2wide")
    modern(server, "create", name, dim=DIM, extra_fields=["year"])
    status, names = client.list_collections()
    assert status.OK() and name in names
    status, schema = client.get_collection_info(name)
    assert not status.OK() and "cannot express" in status.message
    status, _ = client.insert(name, _vectors(1, 4))
    assert not status.OK()
