"""One cluster for the whole fault suite (starting one costs most of a minute),
and the record of measured recovery times, written when the session ends.

The cluster's directory (data, logs, journals, timings) is a temporary
directory of its own, not pytest's tmp_path: pytest keeps only the last three
base temp dirs of a user, and other test runs on the machine would delete a
running cluster's data. It stays when a test failed (or ELANUS_FAULTS_KEEP=1),
so its logs can be read.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cluster.test_cluster import LocalCluster, two_free_ports
from tests.faults.harness import FaultCluster


@pytest.fixture(scope="session")
def run_dir(request: pytest.FixtureRequest) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="elanus-faults-"))
    yield path
    if request.session.testsfailed or os.environ.get("ELANUS_FAULTS_KEEP") == "1":
        print(f"\nfault suite: kept {path} (logs in cluster/logs)")
    else:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def fault_cluster(run_dir: Path) -> Iterator[FaultCluster]:
    if not os.environ.get("ELANUS_TEST_ETCD"):
        pytest.skip("infra not started (ELANUS_TEST_ETCD unset; run via tests/run)")
    cluster = FaultCluster(LocalCluster(run_dir / "cluster", two_free_ports()))
    try:
        print(f"\ncluster up took {cluster.up():.1f}s in {cluster.data_dir}")
        yield cluster
    finally:
        done = cluster.down()
        print(done.stdout, done.stderr)


@pytest.fixture
def work_dir(run_dir: Path, request: pytest.FixtureRequest) -> Path:
    """Where a test keeps its journals: beside the cluster, kept with it on failure."""
    path = run_dir / "journals" / request.node.name.replace("/", "_")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def timings(run_dir: Path) -> Iterator[dict[str, dict]]:
    """Measured times by test and event; printed and saved as JSON at the end."""
    measured: dict[str, dict] = {}
    yield measured
    path = run_dir / "fault-timings.json"
    path.write_text(json.dumps(measured, indent=2) + "\n")
    print(f"\nfault timings ({path}):\n{json.dumps(measured, indent=2)}")


@pytest.fixture(scope="session")
def verified() -> dict[str, Path]:
    """Collections whose journal was verified, by name: the whole-cluster restart
    reads them all again."""
    return {}
