"""One cluster for the whole fault suite (starting one costs most of a minute),
and the record of measured recovery times, written when the session ends."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cluster.test_cluster import LocalCluster, two_free_ports
from tests.faults.harness import FaultCluster


@pytest.fixture(scope="session")
def fault_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultCluster]:
    if not os.environ.get("ELANUS_TEST_ETCD"):
        pytest.skip("infra not started (ELANUS_TEST_ETCD unset; run via tests/run)")
    cluster = FaultCluster(LocalCluster(tmp_path_factory.mktemp("faults"), two_free_ports()))
    try:
        print(f"\ncluster up took {cluster.up():.1f}s in {cluster.data_dir}")
        yield cluster
    finally:
        done = cluster.down()
        print(done.stdout, done.stderr)


@pytest.fixture(scope="session")
def timings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, dict]]:
    """Measured times by test and event; printed and saved as JSON at the end."""
    measured: dict[str, dict] = {}
    yield measured
    path = Path(tmp_path_factory.getbasetemp()) / "fault-timings.json"
    path.write_text(json.dumps(measured, indent=2) + "\n")
    print(f"\nfault timings ({path}):\n{json.dumps(measured, indent=2)}")


@pytest.fixture(scope="session")
def verified() -> dict[str, Path]:
    """Collections whose journal was verified, by name: the whole-cluster restart
    reads them all again."""
    return {}
