"""``elanus standalone``: every role in this process on the embedded adapters."""

from __future__ import annotations

import logging
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
from elanus.launcher.process import start_http, version, warm_up

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
        from elanus.hardware import PROCESS_STARTED_MS
        from elanus.kv.embedded import EmbeddedKV
        from elanus.services import NodeDescription
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
            default_root_password=config.security.default_root_password,
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
        # Every role runs here: GetMetrics reads this machine for each of them.
        coordinator.admin.data_dir = data_dir
        for role in ("coordinator", "datanode", "querynode", "indexnode"):
            coordinator.admin.node_joined(NodeDescription(role, NODE_ID, "", PROCESS_STARTED_MS))
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
        from proxy.guard import guard_for
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
        guard = guard_for(self.config.security.authorization_enabled, roles.coordinator)
        server = serve(
            ctx, proxy_config.host, proxy_config.port, guard=guard, observer=ProxyRequestMetrics()
        )
        self._stops.append(lambda: server.stop(grace=2).wait(5))
        if proxy_config.legacy_port:
            from proxy.legacy.v0.server import serve_legacy0

            legacy0 = serve_legacy0(
                ctx,
                proxy_config.host,
                proxy_config.legacy_port,
                guard=guard,
                observer=ProxyRequestMetrics(),
            )
            self._stops.append(lambda: legacy0.stop(grace=2).wait(5))
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
