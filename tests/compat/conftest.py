"""Fixtures for the pymilvus compatibility suite.

By default every test talks to `elanus standalone` started as a subprocess.
With ELANUS_COMPAT_TARGET=milvus-lite the same tests talk to Milvus Lite (the
embedded Milvus that pymilvus starts for a local `.db` uri), so that what the
suite expects can be checked against Milvus itself. With
ELANUS_COMPAT_TARGET=cluster they talk to proxy 0 of `elanus cluster up` (2
proxies, 2 querynodes, 2 datanodes, 1 indexnode on etcd, Kafka and MinIO).
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from importlib import metadata
from pathlib import Path

import pluggy
import pytest
from pymilvus import MilvusClient

from .helpers import ON_MILVUS_LITE, TARGET, unique_name
from .server import ElanusCluster, ElanusServer, consecutive_free_ports, free_port

if TARGET not in ("elanus", "milvus-lite", "cluster"):
    raise pytest.UsageError(
        f"ELANUS_COMPAT_TARGET must be elanus, milvus-lite or cluster, not {TARGET!r}"
    )
ON_CLUSTER = TARGET == "cluster"

_running_servers: list[ElanusServer | ElanusCluster] = []


def _milvus_lite_major() -> int:
    try:
        return int(metadata.version("milvus-lite").split(".")[0])
    except metadata.PackageNotFoundError:
        return 0


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "not_on_milvus_lite(reason): Milvus Lite lacks this; run only on Elanus"
    )
    config.addinivalue_line(
        "markers", "needs_partitions: Milvus Lite 2.x answers UNIMPLEMENTED to partition RPCs"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if not ON_MILVUS_LITE:
        return
    for item in items:
        lacking = item.get_closest_marker("not_on_milvus_lite")
        if lacking is not None:
            item.add_marker(pytest.mark.skip(reason=f"Milvus Lite: {lacking.args[0]}"))
        if item.get_closest_marker("needs_partitions") and _milvus_lite_major() < 3:
            item.add_marker(pytest.mark.skip(reason="Milvus Lite 2.x has no partition RPCs"))


def _new_server(base: Path) -> ElanusServer:
    base.mkdir(parents=True, exist_ok=True)
    server = ElanusServer(data_dir=base / "data", port=free_port(), log_path=base / "elanus.log")
    server.start()  # on failure its error already carries the log tail
    _running_servers.append(server)
    return server


@pytest.fixture(scope="session")
def server_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The uri of the server shared by the whole session."""
    base = tmp_path_factory.mktemp("elanus-session")
    if ON_MILVUS_LITE:
        yield str(base / "milvus.db")
        return
    if ON_CLUSTER:
        cluster = ElanusCluster(base / "cluster", consecutive_free_ports(2))
        cluster.start()  # on failure its error carries the output of `cluster up`
        _running_servers.append(cluster)
        try:
            yield cluster.uri(0)
        finally:
            cluster.stop()
            _running_servers.remove(cluster)
        return
    server = _new_server(base)
    try:
        yield server.uri
    finally:
        server.stop()
        _running_servers.remove(server)


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[ElanusServer]:
    """A server of the test's own, which the test may kill and restart."""
    if ON_MILVUS_LITE:
        pytest.skip("Milvus Lite runs inside pymilvus's server manager: no process to kill")
    if ON_CLUSTER:
        pytest.skip("kills and restarts a standalone server; cluster faults: tests/cluster")
    server = _new_server(tmp_path / "elanus")
    try:
        yield server
    finally:
        server.stop()
        _running_servers.remove(server)


@pytest.fixture
def querynode_ports(server_uri: str) -> set[int] | None:
    """The gRPC ports of the cluster's running querynodes; None off the cluster."""
    for server in _running_servers:
        if isinstance(server, ElanusCluster):
            return server.ports_of("querynode")
    return None


@pytest.fixture
def client(server_uri: str) -> Iterator[MilvusClient]:
    milvus = MilvusClient(uri=server_uri, timeout=60)
    try:
        yield milvus
    finally:
        milvus.close()


@pytest.fixture
def new_collection_name(client: MilvusClient) -> Iterator[Callable[[str], str]]:
    """Hands out unique collection names and drops those collections afterwards."""
    handed_out: list[str] = []

    def make(prefix: str = "c") -> str:
        name = unique_name(prefix)
        handed_out.append(name)
        return name

    yield make
    for name in handed_out:
        if client.has_collection(name):
            client.drop_collection(name)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo
) -> Generator[None, pluggy.Result[pytest.TestReport], None]:
    """Attach the server log tail to every failing test's report."""
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for server in _running_servers:
            report.sections.append((f"elanus log :{server.port}", server.log_tail()))
