"""The composition root: configuration in, running roles out.

This is the one place that picks adapter implementations and wires roles to
each other. ``elanus standalone`` runs every role in this process on the
embedded adapters, each role handed the others' objects as its clients; roles
start in dependency order and stop in reverse.

``elanus run <role>`` runs one role per process on etcd, Kafka and MinIO (never
the embedded adapters: they cannot be shared between processes). Each role
serves its gRPC, announces itself with a session in etcd, and reaches the
others through gRPC clients built from their sessions (:class:`RoleProcess`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

from elanus.config import Config
from elanus.http import (
    Health,
    RoleHttpServer,
    meter_datanode_coordinator,
    meter_indexnode_coordinator,
    meter_proxy_reader,
    meter_proxy_writer,
)

log = logging.getLogger(__name__)

NODE_ID = 1


@dataclass
class EmbeddedRoles:
    """Every role in this process on the embedded adapters, wired to each other.

    ``elanus standalone`` serves it behind the proxy's gRPC; tests drive the same
    wiring directly, so the two cannot drift apart.
    """

    config: Config
    kv: Any = None
    stream: Any = None
    storage: Any = None
    coordinator: Any = None
    datanode: Any = None
    indexnode: Any = None
    querynode: Any = None
    writer: Any = None
    reader: Any = None
    _stops: list[Callable[[], Any]] = field(default_factory=list)

    def start(self) -> EmbeddedRoles:
        # Roles are imported here, not at module level: elanus is the shared runtime
        # every role imports, and only this composition root knows the roles.
        from coordinator import Coordinator
        from datanode import DataNode
        from elanus.kv.embedded import EmbeddedKV
        from elanus.storage.local_dir import LocalDirStore
        from elanus.stream.embedded_log import EmbeddedLog
        from indexnode import IndexNode
        from proxy.reads import Reader
        from proxy.writer import DmlWriter
        from querynode import QueryNode

        config = self.config
        data_dir = config.data_dir
        data_dir.mkdir(parents=True, exist_ok=True)
        self.kv = EmbeddedKV(data_dir / "meta" / "kv.sqlite")
        self._stops.append(self.kv.close)
        self.stream = EmbeddedLog(data_dir / "log")
        self._stops.append(self.stream.close)
        self.storage = LocalDirStore(data_dir / "objects")

        coordinator = Coordinator(
            config.coordinator,
            self.kv,
            self.stream,
            self.storage,
            config.proxy.time_tick_interval_s,
        )
        self.coordinator = coordinator
        self._stops.append(coordinator.stop)
        self.datanode = DataNode(
            NODE_ID,
            config.datanode,
            self.stream,
            self.storage,
            meter_datanode_coordinator(coordinator),
        )
        self._stops.append(self.datanode.stop)
        self.indexnode = IndexNode(
            NODE_ID, config.indexnode, self.storage, meter_indexnode_coordinator(coordinator)
        )
        self.indexnode.start()
        self._stops.append(self.indexnode.stop)
        self.querynode = QueryNode(
            NODE_ID, config.querynode, self.stream, self.storage, coordinator
        )
        self._stops.append(self.querynode.stop)
        coordinator.register_datanode(NODE_ID, self.datanode)
        coordinator.register_indexnode(NODE_ID, self.indexnode)
        coordinator.register_querynode(NODE_ID, self.querynode)
        coordinator.start()

        self.writer = DmlWriter(
            NODE_ID, self.stream, coordinator, config.proxy.time_tick_interval_s
        )
        self.writer.start()
        self._stops.append(self.writer.stop)
        self.reader = Reader(
            coordinator,
            {NODE_ID: self.querynode},
            config.coordinator.graceful_time_s,
            config.proxy.max_topk,
            tick_now=self.writer.tick,
        )
        return self

    def stop(self) -> None:
        """Stop in reverse order; every stop runs even if an earlier one failed."""
        for stop in reversed(self._stops):
            try:
                stop()
            except Exception:
                log.exception("error while stopping")
        self._stops.clear()


@dataclass
class Standalone:
    config: Config
    _stops: list[Any] = field(default_factory=list)
    port: int = 0
    http_port: int = 0

    def start(self) -> None:
        from proxy.context import ProxyContext
        from proxy.service import serve

        warm_up()
        proxy_config = self.config.proxy
        health = Health("standalone", NODE_ID)
        http_server = start_http(health, proxy_config.host, proxy_config.http_port)
        self._stops.append(http_server.stop)
        self.http_port = http_server.port
        roles = EmbeddedRoles(self.config).start()
        self._stops.append(roles.stop)
        ctx = ProxyContext(
            NODE_ID,
            proxy_config,
            roles.coordinator,
            meter_proxy_writer(roles.writer),
            meter_proxy_reader(roles.reader),
            version(),
        )
        server = serve(ctx, proxy_config.host, proxy_config.port)
        self._stops.append(lambda: server.stop(grace=2).wait(5))
        self._stops.append(lambda: setattr(health, "state", "stopping"))
        health.state = "serving"
        self.port = proxy_config.port
        log.info(
            "elanus standalone ready",
            extra={"port": self.port, "data_dir": str(self.config.data_dir)},
        )

    def stop(self) -> None:
        for stop in reversed(self._stops):
            try:
                stop()
            except Exception:
                log.exception("error while stopping")
        self._stops.clear()


def start_http(health: Health, host: str, port: int) -> RoleHttpServer:
    """The role's /healthz and /metrics server, started.

    A busy port falls back to a free one (logged): the HTTP side port must not
    keep a role from serving, and several local processes (tests, ``cluster
    up``) would otherwise fight over the default 9091. In a container the port
    is free, so probes find it where configured.
    """
    try:
        server = RoleHttpServer(health, host, port)
    except OSError as error:
        if port == 0:
            raise
        log.warning(
            "http port busy; serving /healthz and /metrics on a free port",
            extra={"role": health.role, "port": port, "error": str(error)},
        )
        server = RoleHttpServer(health, host, 0)
    server.start()
    return server


def warm_up() -> None:
    """Pay one-time costs in the background at start, not in the first request: pyarrow's
    first numpy conversion imports pandas (0.4 s, more under load) and the first filter
    builds the expression parser (0.3 s)."""

    def once() -> None:
        import numpy as np
        import pyarrow as pa

        from elanus import expr
        from elanus.schema import CollectionSchema, DataType, FieldSchema

        pa.array(np.zeros(1, dtype=np.int64))
        key = FieldSchema("id", DataType.INT64, is_primary=True)
        expr.parse("id > 0", CollectionSchema("warm_up", (key,)))

    threading.Thread(target=once, name="warm-up", daemon=True).start()


def version() -> str:
    try:
        return "v" + metadata.version("elanus")
    except metadata.PackageNotFoundError:
        return "v0.0.0-dev"


def run_until_signalled(service: Standalone | RoleProcess) -> int:
    """Run until SIGINT/SIGTERM; 1 if a role lost its session and stopped by itself."""
    import signal

    done = threading.Event()
    stopping = getattr(service, "stopping", done)

    def on_signal(*_: Any) -> None:
        done.set()
        stopping.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)
    lost = getattr(service, "lost", threading.Event())
    try:
        service.start()
    except StartInterrupted as interrupted:
        log.info("stopped while starting", extra={"why": str(interrupted)})
        return 0
    try:
        while not done.wait(0.5):
            if lost.is_set():
                log.error("stopping: this role's session was lost (another node replaces it)")
                return 1
        return 0
    finally:
        service.stop()


# --- one role per process (``elanus run``) -------------------------------------

ROLES = ("coordinator", "proxy", "datanode", "querynode", "indexnode")
COORDINATOR_WAIT_S = 60.0  # how long a node waits for the coordinator's session
NODE_CALL_TIMEOUT_S = 30.0


class ClusterConfigError(ValueError):
    """The configuration cannot run a role of a cluster (e.g. no etcd endpoint)."""


class StartInterrupted(RuntimeError):
    """Asked to stop while still starting (a standby that never took over): not a failure."""


@dataclass
class RoleProcess:
    """One role of a cluster in this process: adapters, core, gRPC server, session.

    ``node_id`` None allocates one from etcd; ``port`` None takes the role's
    configured port. ``lost`` is set when the session expired under a running
    role: its work has moved elsewhere, so the process must stop. ``stopping``
    (set on SIGTERM) ends a wait inside :meth:`start`, such as a standby's.
    """

    role: str
    config: Config
    node_id: int | None = None
    port: int | None = None
    address: str = ""
    http_port: int = 0
    lost: threading.Event = field(default_factory=threading.Event)
    stopping: threading.Event = field(default_factory=threading.Event)
    _stops: list[Callable[[], Any]] = field(default_factory=list)
    health: Health = field(init=False)

    def __post_init__(self) -> None:
        self.health = Health(self.role, self.node_id)

    def start(self) -> None:
        if self.role not in ROLES:
            raise ClusterConfigError(f"unknown role {self.role!r}; roles: {', '.join(ROLES)}")
        # kafka-python logs every connection at INFO: noise in a role's log.
        logging.getLogger("kafka").setLevel(logging.WARNING)
        section = getattr(self.config, self.role)
        warm_up()
        try:
            http_server = start_http(self.health, section.host, section.http_port)
            self.on_stop(http_server.stop)
            self.http_port = http_port = http_server.port
            _COMPOSERS[self.role](self)
        except BaseException:
            self.stop()
            raise
        self.health.node_id = self.node_id
        self.health.state = "serving"
        self.on_stop(lambda: setattr(self.health, "state", "stopping"))
        log.info(
            "role ready",
            extra={
                "role": self.role,
                "node": self.node_id,
                "address": self.address,
                "http_port": http_port,
            },
        )

    def stop(self) -> None:
        for stop in reversed(self._stops):
            try:
                stop()
            except Exception:
                log.exception("error while stopping", extra={"role": self.role})
        self._stops.clear()

    def on_stop(self, stop: Callable[[], Any]) -> None:
        self._stops.append(stop)

    # --- pieces every role needs

    def kv(self) -> Any:
        from elanus.kv.etcd import EtcdKV

        etcd = self.config.etcd
        if not etcd.endpoint:
            raise ClusterConfigError(
                "cluster mode needs etcd: set etcd.endpoint in the config (or "
                "ELANUS_ETCD_ENDPOINT); the embedded KV serves only `elanus standalone`"
            )
        kv = EtcdKV(etcd.endpoint, etcd.prefix)
        self.on_stop(kv.close)
        if self.node_id is None:
            from elanus.cluster.sessions import allocate_node_id

            self.node_id = allocate_node_id(kv)
        return kv

    def stream(self) -> Any:
        from elanus.stream.kafka import KafkaStream

        kafka = self.config.kafka
        if not kafka.bootstrap:
            raise ClusterConfigError(
                "cluster mode needs Kafka: set kafka.bootstrap in the config (or "
                "ELANUS_KAFKA_BOOTSTRAP); the embedded log serves only `elanus standalone`"
            )
        stream = KafkaStream(kafka.bootstrap, kafka.topic_prefix)
        self.on_stop(stream.close)
        return stream

    def storage(self) -> Any:
        from elanus.storage.minio import MinioStore

        minio = self.config.minio
        if not minio.endpoint:
            raise ClusterConfigError(
                "cluster mode needs MinIO/S3: set minio.endpoint in the config (or "
                "ELANUS_MINIO_ENDPOINT); a local directory serves only `elanus standalone`"
            )
        return MinioStore(
            minio.endpoint,
            minio.access_key,
            minio.secret_key,
            minio.bucket,
            minio.prefix,
            minio.secure,
        )

    def serve(self, servicer: Any, host: str, port: int) -> None:
        from elanus.rpc import start_server

        server = start_server([servicer], host, self.port if self.port is not None else port)
        self.on_stop(lambda: server.stop(2.0))
        advertised = getattr(self.config, self.role).advertise_host
        self.address = f"{advertised}:{server.port}" if advertised else server.address

    def session_lost(self) -> None:
        self.health.state = "lost"
        self.lost.set()

    def announce(self, kv: Any) -> Any:
        """Register this role's session; from now on the others can find it.
        Returns its SessionKeeper (whose ``alive`` says the session surely holds)."""
        from elanus.cluster.sessions import Session, SessionKeeper

        assert self.node_id is not None
        keeper = SessionKeeper(
            kv,
            Session(self.role, self.node_id, self.address),
            self.config.etcd.session_ttl_s,
            on_lost=self.session_lost,
        )
        keeper.start()
        self.on_stop(keeper.stop)
        return keeper

    def coordinator_client(self, kv: Any) -> Any:
        """A client of whichever coordinator is active, following takeovers."""
        from elanus.cluster.coordinator_link import CoordinatorLink
        from elanus.rpc import CoordinatorGrpcClient

        def connect(address: str) -> CoordinatorGrpcClient:
            return CoordinatorGrpcClient(address, timeout_s=NODE_CALL_TIMEOUT_S)

        link = CoordinatorLink(kv, connect)
        self.on_stop(link.close)
        link.start(COORDINATOR_WAIT_S)
        return link


def _run_coordinator(process: RoleProcess) -> None:
    """Lead, or stand by until the leader is gone; then build the core from the KV and serve.

    The leader key (:mod:`elanus.cluster.election`) says which coordinator is
    active; a standby waits for it, so a second ``elanus run coordinator`` is
    a hot spare. Everything the active one knew is in etcd, so taking over is
    a coordinator start: the nodes that outlived the old one register again.
    """
    from coordinator import Coordinator
    from coordinator.grpc_service import CoordinatorServicer
    from coordinator.membership import Membership
    from elanus.cluster.election import Leader, LeaderElection, read_leader

    config = process.config
    kv = process.kv()
    stream, storage = process.stream(), process.storage()  # ready before taking over
    assert process.node_id is not None
    election = LeaderElection(
        kv, Leader(process.node_id), config.etcd.session_ttl_s, on_lost=process.session_lost
    )
    # Registered first, so it runs last: the leadership goes only after the core stopped.
    process.on_stop(election.resign)
    if not election.campaign(timeout_s=0):
        active = read_leader(kv)
        process.health.node_id = process.node_id
        process.health.state = "standby"
        log.info(
            "coordinator standing by",
            extra={
                "node": process.node_id,
                "active": active.node_id if active else None,
                "active_address": active.address if active else "",
            },
        )
        if not election.campaign(stop=process.stopping):
            raise StartInterrupted("the standby coordinator stopped before it took over")
        process.health.state = "starting"
        log.info("coordinator taking over", extra={"node": process.node_id})
    core = Coordinator(config.coordinator, kv, stream, storage)
    process.on_stop(core.stop)
    membership = Membership(core, kv, _connect_node)
    process.on_stop(membership.stop)
    membership.start()  # registers the nodes already running
    # Serve before starting the core: nodes that outlived a previous coordinator
    # call back (channel snapshots) as soon as the core re-watches their channels.
    process.serve(CoordinatorServicer(core), config.coordinator.host, config.coordinator.port)
    core.start()
    membership.start_reconciling()
    process.announce(kv)
    # Only now may nodes and proxies call it (elanus.cluster.coordinator_link).
    if not election.update(Leader(process.node_id, process.address, serving=True)):
        process.session_lost()
    log.info("coordinator active", extra={"node": process.node_id, "address": process.address})


def _connect_node(session: Any) -> Any:
    from elanus.rpc import DataNodeGrpcClient, IndexNodeGrpcClient, QueryNodeGrpcClient

    kinds = {
        "datanode": DataNodeGrpcClient,
        "querynode": QueryNodeGrpcClient,
        "indexnode": IndexNodeGrpcClient,
    }
    return kinds[session.role](session.address, timeout_s=NODE_CALL_TIMEOUT_S)


def _run_datanode(process: RoleProcess) -> None:
    from datanode import DataNode
    from datanode.grpc_service import DataNodeServicer

    config = process.config
    kv = process.kv()
    coordinator = process.coordinator_client(kv)
    assert process.node_id is not None
    node = DataNode(
        process.node_id,
        config.datanode,
        process.stream(),
        process.storage(),
        meter_datanode_coordinator(coordinator),
    )
    process.on_stop(node.stop)
    process.serve(DataNodeServicer(node), config.datanode.host, config.datanode.port)
    process.announce(kv)


def _run_querynode(process: RoleProcess) -> None:
    from querynode import QueryNode
    from querynode.grpc_service import QueryNodeServicer

    config = process.config
    kv = process.kv()
    coordinator = process.coordinator_client(kv)
    assert process.node_id is not None
    node = QueryNode(
        process.node_id, config.querynode, process.stream(), process.storage(), coordinator
    )
    process.on_stop(node.stop)
    process.serve(QueryNodeServicer(node), config.querynode.host, config.querynode.port)
    process.announce(kv)


def _run_indexnode(process: RoleProcess) -> None:
    from indexnode import IndexNode
    from indexnode.grpc_service import IndexNodeServicer

    config = process.config
    kv = process.kv()
    coordinator = process.coordinator_client(kv)
    assert process.node_id is not None
    node = IndexNode(
        process.node_id,
        config.indexnode,
        process.storage(),
        meter_indexnode_coordinator(coordinator),
    )
    node.start()
    process.on_stop(node.stop)
    process.serve(IndexNodeServicer(node), config.indexnode.host, config.indexnode.port)
    process.announce(kv)


def _run_proxy(process: RoleProcess) -> None:
    from coordinator.catalog import Catalog
    from elanus.cluster.sessions import SessionWatcher
    from elanus.rpc import QueryNodeGrpcClient
    from proxy.context import ProxyContext
    from proxy.reads import Reader
    from proxy.service import serve
    from proxy.writer import DmlWriter

    config = process.config
    kv = process.kv()
    coordinator = process.coordinator_client(kv)
    assert process.node_id is not None
    # Until the session exists the coordinator cannot drop this proxy from the ticks
    # (it drops a proxy when its session goes), so a write is safe; after, only
    # while the session surely holds (SessionKeeper.alive).
    session: list[Any] = []
    writer = DmlWriter(
        process.node_id,
        process.stream(),
        coordinator,
        config.proxy.time_tick_interval_s,
        is_live=lambda: not session or session[0].alive,
    )
    # The pool of physical channels is configuration; the catalog names them.
    writer.start(Catalog(kv, config.coordinator.dml_channel_pool).pchannels())
    writer_stopped = threading.Event()

    def stop_writing() -> None:
        if not writer_stopped.is_set():
            writer_stopped.set()
            writer.stop()

    process.on_stop(stop_writing)

    # Which querynodes exist: the Reader asks the coordinator who leads a shard
    # and looks the leader up here, a map the session watcher keeps current.
    querynodes: dict[int, Any] = {}

    def joined(session: Any) -> None:
        querynodes[session.node_id] = QueryNodeGrpcClient(
            session.address, timeout_s=config.proxy.search_timeout_s
        )

    def left(session: Any) -> None:
        client = querynodes.pop(session.node_id, None)
        if client is not None:
            client.close()

    watcher = SessionWatcher(kv, "querynode", joined, left)
    watcher.start()
    process.on_stop(lambda: [c.close() for c in list(querynodes.values())])
    process.on_stop(watcher.stop)
    reader = Reader(
        coordinator,
        querynodes,
        config.coordinator.graceful_time_s,
        config.proxy.max_topk,
        tick_now=writer.tick,
    )
    ctx = ProxyContext(
        process.node_id,
        config.proxy,
        coordinator,
        meter_proxy_writer(writer),
        meter_proxy_reader(reader),
        version(),
    )
    port = process.port if process.port is not None else config.proxy.port
    server = serve(ctx, config.proxy.host, port)
    process.address = f"{config.proxy.advertise_host or config.proxy.host}:{port}"
    session.append(process.announce(kv))
    # Stops run in reverse: the server first, then the writer drains and leaves the
    # ticks, and only then the session goes (a proxy whose session ends first died).
    process.on_stop(stop_writing)
    process.on_stop(lambda: server.stop(grace=2).wait(5))


_COMPOSERS: dict[str, Callable[[RoleProcess], None]] = {
    "coordinator": _run_coordinator,
    "proxy": _run_proxy,
    "datanode": _run_datanode,
    "querynode": _run_querynode,
    "indexnode": _run_indexnode,
}
