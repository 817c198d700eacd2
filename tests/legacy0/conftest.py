"""Fixtures for the Milvus 0.x suite: pymilvus 0.2.7 against `elanus standalone`.

This directory runs only in ``.venv-pymilvus0`` (tests/run's group ``legacy0``):
pymilvus 0.2.7 (module ``milvus``, like 1.x) with a current grpcio, protobuf
3.20.x and PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION=python. Elsewhere it is not
collected. The 0.x API has its own port (proxy.legacy_port): the server is
started with tests/compat/server.py's handle and ELANUS_PROXY_LEGACY_PORT, and
probed there with 0.x. With ELANUS_COMPAT_TARGET=cluster it is the one proxy
of `elanus cluster up` (one: every proxy of the cluster opens the same
legacy port).
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


if importlib.util.find_spec("milvus") is None or _pymilvus_major() != "0":
    # Not pymilvus 0.x's venv (1.x also installs `milvus`; 2+ and 3 install `pymilvus`).
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
    # pymilvus 0.2.7's generated modules use protobuf's deprecated descriptor constructors.
    config.addinivalue_line("filterwarnings", "ignore::DeprecationWarning:milvus.grpc_gen")


def connect(port: int) -> Any:
    from milvus import Milvus

    milvus = Milvus()
    status = milvus.connect(host="127.0.0.1", port=str(port), timeout=10)
    assert status.OK(), status
    return milvus


def _probe_legacy(port: int) -> Callable[[str], None]:
    def probe(uri: str) -> None:
        milvus = connect(port)
        try:
            status, _ = milvus.show_tables()
            if not status.OK():
                raise RuntimeError(status.message)
        finally:
            milvus.disconnect()

    return probe


@dataclass
class Target:
    """A server under test: its 2.x uri (for pymilvus 3) and its 0.x port."""

    handle: Any
    uri: str
    legacy_port: int

    @property
    def port(self) -> int:
        return int(self.handle.port)

    def log_tail(self) -> str:
        return str(self.handle.log_tail())


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    base = tmp_path_factory.mktemp("elanus-legacy0")
    legacy_port = server_module.free_port()
    env = {"ELANUS_PROXY_LEGACY_PORT": str(legacy_port)}
    if ON_CLUSTER:
        cluster = server_module.ElanusCluster(
            base / "cluster", server_module.consecutive_free_ports(1), proxies=1, env=env
        )
        cluster.start()
        try:
            _wait_ready(_probe_legacy(legacy_port))
            yield Target(cluster, str(cluster.uri(0)), legacy_port)
        finally:
            cluster.stop()
        return
    handle = server_module.ElanusServer(
        data_dir=base / "data",
        port=server_module.free_port(),
        log_path=base / "elanus.log",
        env=env,
        ready_probe=_probe_legacy(legacy_port),
    )
    handle.start()
    try:
        yield Target(handle, handle.uri, legacy_port)
    finally:
        handle.stop()


def _wait_ready(probe: Callable[[str], None], timeout_s: float = 60.0) -> None:
    import time

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            probe("")
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


@pytest.fixture
def milvus(server: Target) -> Iterator[Any]:
    client = connect(server.legacy_port)
    try:
        yield client
    finally:
        if client.connected():
            client.disconnect()


@pytest.fixture
def new_name(server: Target) -> Iterator[Callable[[str], str]]:
    """Unique table names; those tables are dropped afterwards."""
    handed_out: list[str] = []

    def make(prefix: str = "legacy0") -> str:
        name = f"{prefix}_{os.getpid()}_{len(handed_out)}_{id(handed_out) % 10000}"
        handed_out.append(name)
        return name

    yield make
    cleaner = connect(server.legacy_port)  # the test may have disconnected its client
    for name in handed_out:
        _, exists = cleaner.has_table(name)
        if exists:
            cleaner.drop_table(name)
    cleaner.disconnect()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo
) -> Generator[None, pluggy.Result[pytest.TestReport], None]:
    outcome = yield
    report = outcome.get_result()
    handle = item.funcargs.get("server") if hasattr(item, "funcargs") else None
    if report.failed and handle is not None:
        report.sections.append((f"elanus log :{handle.port}", handle.log_tail()))
