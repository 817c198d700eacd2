"""kill -9 keeps what a 0.x insert was told succeeded (0.x has no flush: the log keeps it)."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from .conftest import ON_CLUSTER, _probe_legacy, connect, server_module


@pytest.mark.fault
@pytest.mark.skipif(ON_CLUSTER, reason="kills a standalone server; cluster faults: tests/cluster")
def test_acknowledged_0x_inserts_survive_kill_9(tmp_path: Path) -> None:
    legacy_port = server_module.free_port()
    handle = server_module.ElanusServer(
        data_dir=tmp_path / "data",
        port=server_module.free_port(),
        log_path=tmp_path / "elanus.log",
        env={"ELANUS_PROXY_LEGACY_PORT": str(legacy_port)},
        ready_probe=_probe_legacy(legacy_port),
    )
    handle.start()
    try:
        milvus: Any = connect(legacy_port)
        assert milvus.create_table({"table_name": "durable0", "dimension": 8}).OK()
        assert milvus.create_partition("durable0", "durable0_p", "p").OK()
        vectors = [[random.random() for _ in range(8)] for _ in range(30)]
        assert milvus.add_vectors("durable0", vectors[:20], ids=list(range(20)))[0].OK()
        status, tagged = milvus.insert("durable0", vectors[20:], partition_tag="p")
        assert status.OK()
        milvus.disconnect()
        handle.kill()
        handle.start()
        milvus = connect(legacy_port)
        status, count = milvus.count_table("durable0")
        assert status.OK() and count == 30
        status, results = milvus.search("durable0", 1, 8, vectors[19:21])
        assert status.OK() and [row[0].id for row in results] == [19, tagged[0]]
        status, partitions = milvus.show_partitions("durable0")
        assert status.OK() and [p.tag for p in partitions] == ["p"]
        milvus.disconnect()
    finally:
        handle.stop()
