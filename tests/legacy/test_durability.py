"""kill -9 keeps what a 1.x insert or delete was told succeeded, flushed or not."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from milvus import Milvus

from .conftest import ON_CLUSTER, _probe, host_port, server_module


@pytest.mark.fault
@pytest.mark.skipif(ON_CLUSTER, reason="kills a standalone server; cluster faults: tests/cluster")
def test_acknowledged_1x_writes_survive_kill_9(tmp_path: Path) -> None:
    handle = server_module.ElanusServer(
        data_dir=tmp_path / "data",
        port=server_module.free_port(),
        log_path=tmp_path / "elanus.log",
        ready_probe=_probe,
    )
    handle.start()
    try:
        host, port = host_port(handle.uri)
        client: Any = Milvus(host=host, port=port)
        assert client.create_collection({"collection_name": "durable", "dimension": 8}).OK()
        vectors = [[random.random() for _ in range(8)] for _ in range(30)]
        assert client.insert("durable", vectors[:20], ids=list(range(20)))[0].OK()
        assert client.flush(["durable"]).OK()
        # not flushed: acknowledged only by the log
        assert client.insert("durable", vectors[20:], ids=list(range(20, 30)))[0].OK()
        assert client.delete_entity_by_id("durable", [0, 1, 25]).OK()
        client.close()
        handle.kill()
        handle.start()
        client = Milvus(host=host, port=port)
        status, count = client.count_entities("durable")
        assert status.OK() and count == 27
        status, got = client.get_entity_by_id("durable", [0, 2, 25, 29])
        assert status.OK()
        assert [len(v) > 0 for v in got] == [False, True, False, True]
        assert got[3] == pytest.approx(vectors[29], abs=1e-6)
        client.close()
    finally:
        handle.stop()
