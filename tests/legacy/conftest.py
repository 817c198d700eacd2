"""Fixtures for the Milvus 1.x suite: pymilvus 1.1.2 against `elanus standalone`.

This directory runs only in ``.venv-pymilvus1`` (tests/run's group ``legacy1``):
pymilvus 1.1.2 (module ``milvus``) with a current grpcio, protobuf 3.20.x and
PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION=python. Elsewhere it is not collected.
The server is started with tests/compat/server.py's handle, probed with 1.x;
with ELANUS_COMPAT_TARGET=cluster it is proxy 0 of `elanus cluster up`, as for
tests/compat.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import sys
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pluggy
import pytest


def _pymilvus_major() -> str:
    try:
        return importlib.metadata.version("pymilvus").split(".")[0]
    except importlib.metadata.PackageNotFoundError:
        return ""


if importlib.util.find_spec("milvus") is None or _pymilvus_major() != "1":
    # Not pymilvus 1.x's venv (pymilvus 2+ and 3 install `pymilvus`; 1.x and 0.x `milvus`).
    collect_ignore_glob = ["test_*.py"]
else:
    os.environ.setdefault("PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION", "python")

REPO_ROOT = Path(__file__).resolve().parents[2]
ON_CLUSTER = os.environ.get("ELANUS_COMPAT_TARGET", "elanus") == "cluster"


def _load_server_module() -> Any:
    spec = importlib.util.spec_from_file_location(
        "elanus_compat_server", REPO_ROOT / "tests" / "compat" / "server.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


server_module = _load_server_module()


def pytest_configure(config: pytest.Config) -> None:
    # pymilvus 1.1.2's generated modules use protobuf's deprecated descriptor constructors.
    config.addinivalue_line("filterwarnings", "ignore::DeprecationWarning:milvus.grpc_gen")


def host_port(uri: str) -> tuple[str, str]:
    address = uri.split("://", 1)[1]
    host, port = address.rsplit(":", 1)
    return host, port


def _probe(uri: str) -> None:
    from milvus import Milvus

    host, port = host_port(uri)
    client = Milvus(host=host, port=port, pool_size=1, wait_timeout=5)
    try:
        status, _ = client.list_collections()
        if not status.OK():
            raise RuntimeError(status.message)
    finally:
        client.close()


@dataclass
class ClusterTarget:
    """Proxy 0 of a cluster, shaped like a standalone server handle for the tests."""

    cluster: Any

    @property
    def uri(self) -> str:
        return str(self.cluster.uri(0))

    @property
    def port(self) -> int:
        return int(self.cluster.port)

    def log_tail(self) -> str:
        return str(self.cluster.log_tail())


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    base = tmp_path_factory.mktemp("elanus-legacy")
    if ON_CLUSTER:
        cluster = server_module.ElanusCluster(
            base / "cluster", server_module.consecutive_free_ports(2)
        )
        cluster.start()
        try:
            yield ClusterTarget(cluster)
        finally:
            cluster.stop()
        return
    handle = server_module.ElanusServer(
        data_dir=base / "data",
        port=server_module.free_port(),
        log_path=base / "elanus.log",
        ready_probe=_probe,
    )
    handle.start()
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture
def client(server: Any) -> Iterator[Any]:
    from milvus import Milvus

    host, port = host_port(server.uri)
    milvus = Milvus(host=host, port=port)
    try:
        yield milvus
    finally:
        milvus.close()


@pytest.fixture
def new_name(server: Any) -> Iterator[Callable[[str], str]]:
    """Unique collection names; those collections are dropped afterwards."""
    handed_out: list[str] = []

    def make(prefix: str = "legacy") -> str:
        name = f"{prefix}_{os.getpid()}_{len(handed_out)}_{id(handed_out) % 10000}"
        handed_out.append(name)
        return name

    yield make
    from milvus import Milvus

    host, port = host_port(server.uri)
    cleaner = Milvus(host=host, port=port)  # the test may have closed its client
    for name in handed_out:
        _, exists = cleaner.has_collection(name)
        if exists:
            cleaner.drop_collection(name)
    cleaner.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo
) -> Generator[None, pluggy.Result[pytest.TestReport], None]:
    outcome = yield
    report = outcome.get_result()
    handle = item.funcargs.get("server") if hasattr(item, "funcargs") else None
    if report.failed and handle is not None:
        report.sections.append((f"elanus log :{handle.port}", handle.log_tail()))
