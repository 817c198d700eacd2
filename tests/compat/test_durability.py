"""kill -9 the server: everything acknowledged survives, nothing half-applied shows."""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pytest
from pymilvus import DataType, MilvusClient

from .helpers import count_rows, unique_name
from .server import ElanusServer

pytestmark = [pytest.mark.fault, pytest.mark.slow]

DIM = 16
BATCH = 50
RPC_TIMEOUT_S = 10.0  # the writer's per-call timeout while the server is down
WRITER_JOIN_TIMEOUT_S = 150.0


def vector_for(row_id: int) -> list[float]:
    """A deterministic vector per id, so the test can search for any row later."""
    return np.random.default_rng(row_id).random(DIM, dtype=np.float32).tolist()


def create_collection(client: MilvusClient) -> str:
    name = unique_name("durable")
    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("batch", DataType.INT64)
    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=DIM)
    index = client.prepare_index_params()
    index.add_index(field_name="vec", index_type="FLAT", metric_type="L2")
    client.create_collection(name, schema=schema, index_params=index, consistency_level="Strong")
    return name


def batch_rows(batch: int) -> list[dict]:
    first = batch * BATCH
    return [{"id": i, "batch": batch, "vec": vector_for(i)} for i in range(first, first + BATCH)]


def restart(server: ElanusServer, collection: str) -> MilvusClient:
    """Kill -9 (if still alive), start again on the same data dir and port, and load."""
    server.kill()
    server.start()
    client = MilvusClient(uri=server.uri, timeout=60)
    assert client.has_collection(collection), "the collection itself was lost"
    client.load_collection(collection)  # a no-op if the server restored the load by itself
    return client


def all_rows(client: MilvusClient, collection: str) -> list[dict]:
    return client.query(
        collection,
        filter="id >= 0",
        output_fields=["id", "batch"],
        limit=16384,
        consistency_level="Strong",
    )


def assert_found_by_search(client: MilvusClient, collection: str, ids: list[int]) -> None:
    results = client.search(collection, data=[vector_for(i) for i in ids], limit=1)
    for row_id, hits in zip(ids, results, strict=True):
        assert hits and hits[0]["id"] == row_id, f"row {row_id} not found by its own vector"
        assert hits[0]["distance"] == pytest.approx(0.0, abs=1e-5)


def test_acknowledged_writes_survive_kill_9(own_server: ElanusServer) -> None:
    client = MilvusClient(uri=own_server.uri, timeout=60)
    name = create_collection(client)
    expected: set[int] = set()

    for batch in range(4):  # flushed: these reach segment files
        client.insert(name, batch_rows(batch))
        expected |= {row["id"] for row in batch_rows(batch)}
    client.flush(name)
    client.delete(name, ids=[0, 1, 2, 60])  # deletes of flushed rows, themselves unflushed
    expected -= {0, 1, 2, 60}
    for batch in range(4, 7):  # growing only: never flushed
        client.insert(name, batch_rows(batch))
        expected |= {row["id"] for row in batch_rows(batch)}
    client.delete(name, filter="batch == 5 and id % 2 == 0")
    expected -= {i for i in range(5 * BATCH, 6 * BATCH) if i % 2 == 0}
    client.upsert(name, [{"id": 7, "batch": 99, "vec": vector_for(7)}])
    assert count_rows(client, name) == len(expected)
    client.close()

    client = restart(own_server, name)
    rows = all_rows(client, name)
    assert sorted(row["id"] for row in rows) == sorted(expected)
    assert count_rows(client, name) == len(expected)
    assert {row["id"]: row["batch"] for row in rows}[7] == 99, "upsert lost"
    assert_found_by_search(client, name, [3, 7, 149, 201, 251, 349])
    assert client.get(name, ids=[0, 60, 250]) == []

    # And it still takes writes after the restart.
    client.insert(name, batch_rows(7))
    assert count_rows(client, name) == len(expected) + BATCH
    client.drop_collection(name)
    client.close()


@dataclass
class Writer:
    """Inserts numbered batches until stopped or refused; remembers what was acknowledged."""

    client: MilvusClient
    collection: str
    max_batches: int = 400
    acknowledged: list[int] = field(default_factory=list)
    attempted: list[int] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        for batch in range(self.max_batches):
            if self.stop.is_set():
                return
            self.attempted.append(batch)
            try:
                self.client.insert(self.collection, batch_rows(batch))
                if batch % 10 == 9:
                    self.client.flush(self.collection)
            except Exception:  # the server went away: stop at the first refusal
                return
            self.acknowledged.append(batch)


def test_kill_9_during_inserts_loses_no_acknowledged_batch(own_server: ElanusServer) -> None:
    setup = MilvusClient(uri=own_server.uri, timeout=60)
    name = create_collection(setup)
    setup.close()

    writer = Writer(MilvusClient(uri=own_server.uri, timeout=RPC_TIMEOUT_S), name)
    thread = threading.Thread(target=writer.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while len(writer.acknowledged) < 12 and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(writer.acknowledged) >= 12, "the writer made no progress before the kill"
    time.sleep(0.03)  # land the kill in the middle of an insert, most likely

    own_server.kill()
    writer.stop.set()
    client = restart(own_server, name)
    # pymilvus may keep retrying the interrupted insert (with back-off up to a minute in
    # 2.5.x) and succeed against the restarted server: then that batch counts as acknowledged.
    thread.join(timeout=WRITER_JOIN_TIMEOUT_S)
    assert not thread.is_alive(), "the writer did not give up"

    rows = all_rows(client, name)
    per_batch = Counter(row["batch"] for row in rows)
    missing = [batch for batch in writer.acknowledged if per_batch[batch] != BATCH]
    assert not missing, f"acknowledged batches lost or partial: {missing}"
    partial = {batch: count for batch, count in per_batch.items() if count != BATCH}
    assert not partial, f"half-applied batches: {partial}"
    assert set(per_batch) <= set(writer.attempted), "rows from batches never sent"
    assert len({row["id"] for row in rows}) == len(rows), "duplicate primary keys"
    last = writer.acknowledged[-1]
    assert_found_by_search(client, name, [0, last * BATCH, last * BATCH + BATCH - 1])
    client.drop_collection(name)
    # Last: pymilvus 2.5 shares one connection per uri, so closing one client closes both.
    writer.client.close()
    client.close()
