"""pymilvus's compact() and get_compaction_state() against the server, unmodified."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
from pymilvus import DataType, MilvusClient

DIM = 8
BATCHES = 3
BATCH = 30


def _vector(pk: int) -> list[float]:
    return np.random.default_rng(pk).random(DIM, dtype=np.float32).tolist()


def test_compact_purges_deleted_rows_and_keeps_the_rest(
    client: MilvusClient, new_collection_name: Callable[[str], str]
) -> None:
    name = new_collection_name("compact")
    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=DIM)
    index = client.prepare_index_params()
    index.add_index(field_name="vec", index_type="FLAT", metric_type="L2")
    client.create_collection(name, schema=schema, index_params=index, consistency_level="Strong")
    for b in range(BATCHES):
        rows = [{"id": i, "vec": _vector(i)} for i in range(b * BATCH, (b + 1) * BATCH)]
        client.insert(name, rows)
        client.flush(name)
    client.delete(name, filter="id % 2 == 0")
    client.flush(name)

    compaction_id = client.compact(name)
    deadline = time.monotonic() + 30
    state = client.get_compaction_state(compaction_id)
    while state != "Completed" and time.monotonic() < deadline:
        time.sleep(0.2)
        state = client.get_compaction_state(compaction_id)
    assert state == "Completed"

    rows = client.query(name, filter="id >= 0", output_fields=["id"])
    assert sorted(r["id"] for r in rows) == list(range(1, BATCHES * BATCH, 2))
    hits = client.search(name, data=[_vector(31)], limit=1, output_fields=["id"])
    assert hits[0][0]["id"] == 31
