"""``elanus run <role>``: one role of a cluster per process, on etcd, Kafka and MinIO.

Each role serves its gRPC, announces itself with a session in etcd, and reaches
the others through gRPC clients built from their sessions (:class:`RoleProcess`);
nodes and proxies follow the active coordinator through its leader key.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from elanus.config import Config
from elanus.http import (
    Health,
    ProxyRequestMetrics,
    meter_datanode_coordinator,
    meter_indexnode_coordinator,
    meter_proxy_reader,
    meter_proxy_writer,
)
from elanus.launcher.process import StartInterrupted, start_http, version, warm_up

log = logging.getLogger(__name__)

# The roles whose servers answer only calls meant for them (see elanus.rpc.server.AddressedTo).
NODE_ROLES = ("datanode", "querynode", "indexnode")


ROLES = ("coordinator", "proxy", "datanode", "querynode", "indexnode")
COORDINATOR_WAIT_S = 60.0  # how long a node waits for the coordinator's session
NODE_CALL_TIMEOUT_S = 30.0


class ClusterConfigError(ValueError):
    """The configuration cannot run a role of a cluster (e.g. no etcd endpoint)."""


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

        port = self.port if self.port is not None else port
        # Nodes refuse calls meant for another node; the coordinator is found by
        # its leader key, not by a node id, so it serves whoever asks.
        node_id = self.node_id if self.role in NODE_ROLES else None
        server = start_server([servicer], host, port, node_id=node_id)
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
        from elanus.hardware import session_extra

        assert self.node_id is not None
        # Its machine as read now goes with it: GetMetrics reports it (hardware_infos).
        extra = session_extra(self.config.data_dir)
        keeper = SessionKeeper(
            kv,
            Session(self.role, self.node_id, self.address, extra=extra),
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
    from elanus.kv.fenced import FencedKV

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
    # Every metadata write holds only while this term does: a successor's win fences
    # this process's late writes (if it was paused past its lease), instead of mixing.
    meta = FencedKV(kv, election.fence, on_fenced=process.session_lost)
    core = Coordinator(
        config.coordinator,
        meta,
        stream,
        storage,
        default_root_password=config.security.default_root_password,
    )
    core.admin.data_dir = config.data_dir
    process.on_stop(core.stop)
    membership = Membership(core, meta, _connect_node)
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
    return kinds[session.role](
        session.address, timeout_s=NODE_CALL_TIMEOUT_S, node_id=session.node_id
    )


def _run_node(process: RoleProcess, build: Callable[[Any], tuple[Any, Any]]) -> None:
    """A datanode, querynode or indexnode: ``build(coordinator)`` makes the node and
    its gRPC servicer; the node serves, then announces its session."""
    kv = process.kv()
    node, servicer = build(process.coordinator_client(kv))
    process.on_stop(node.stop)
    section = getattr(process.config, process.role)
    process.serve(servicer, section.host, section.port)
    process.announce(kv)


def _run_datanode(process: RoleProcess) -> None:
    from datanode import DataNode
    from datanode.grpc_service import DataNodeServicer

    def build(coordinator: Any) -> tuple[Any, Any]:
        assert process.node_id is not None
        node = DataNode(
            process.node_id,
            process.config.datanode,
            process.stream(),
            process.storage(),
            meter_datanode_coordinator(coordinator),
        )
        return node, DataNodeServicer(node)

    _run_node(process, build)


def _run_querynode(process: RoleProcess) -> None:
    from querynode import QueryNode
    from querynode.grpc_service import QueryNodeServicer

    def build(coordinator: Any) -> tuple[Any, Any]:
        assert process.node_id is not None
        node = QueryNode(
            process.node_id,
            process.config.querynode,
            process.stream(),
            process.storage(),
            coordinator,
        )
        return node, QueryNodeServicer(node)

    _run_node(process, build)


def _run_indexnode(process: RoleProcess) -> None:
    from indexnode import IndexNode
    from indexnode.grpc_service import IndexNodeServicer

    def build(coordinator: Any) -> tuple[Any, Any]:
        assert process.node_id is not None
        node = IndexNode(
            process.node_id,
            process.config.indexnode,
            process.storage(),
            meter_indexnode_coordinator(coordinator),
        )
        node.start()
        return node, IndexNodeServicer(node)

    _run_node(process, build)


def _run_proxy(process: RoleProcess) -> None:
    from coordinator.catalog import Catalog
    from elanus.cluster.sessions import SessionWatcher
    from elanus.rpc import QueryNodeGrpcClient
    from proxy.context import ProxyContext
    from proxy.guard import guard_for
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
            session.address, timeout_s=config.proxy.search_timeout_s, node_id=session.node_id
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
    guard = guard_for(config.security.authorization_enabled, coordinator)
    server = serve(ctx, config.proxy.host, port, guard=guard, observer=ProxyRequestMetrics())
    process.address = f"{config.proxy.advertise_host or config.proxy.host}:{port}"
    session.append(process.announce(kv))
    # Stops run in reverse: the server first, then the writer drains and leaves the
    # ticks, and only then the session goes (a proxy whose session ends first died).
    process.on_stop(stop_writing)
    process.on_stop(lambda: server.stop(grace=2).wait(5))
    if config.proxy.legacy_port:
        from proxy.legacy.v0.server import serve_legacy0

        legacy0 = serve_legacy0(
            ctx,
            config.proxy.host,
            config.proxy.legacy_port,
            guard=guard,
            observer=ProxyRequestMetrics(),
        )
        process.on_stop(lambda: legacy0.stop(grace=2).wait(5))


_COMPOSERS: dict[str, Callable[[RoleProcess], None]] = {
    "coordinator": _run_coordinator,
    "proxy": _run_proxy,
    "datanode": _run_datanode,
    "querynode": _run_querynode,
    "indexnode": _run_indexnode,
}
