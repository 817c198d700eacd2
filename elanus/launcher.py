"""The composition root: configuration in, running roles out.

This is the one place that picks adapter implementations and wires roles to
each other. ``elanus standalone`` runs every role in this process on the
embedded adapters, each role handed the others' objects as its clients; roles
start in dependency order and stop in reverse.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

from elanus.config import Config

log = logging.getLogger(__name__)

NODE_ID = 1


@dataclass
class Standalone:
    config: Config
    _stops: list[Any] = field(default_factory=list)
    port: int = 0

    def start(self) -> None:
        # Roles are imported here, not at module level: elanus is the shared runtime
        # every role imports, and only this composition root knows the roles.
        from coordinator import Coordinator
        from datanode import DataNode
        from elanus.kv.embedded import EmbeddedKV
        from elanus.storage.local_dir import LocalDirStore
        from elanus.stream.embedded_log import EmbeddedLog
        from indexnode import IndexNode
        from proxy.context import ProxyContext
        from proxy.reads import Reader
        from proxy.service import serve
        from proxy.writer import DmlWriter
        from querynode import QueryNode

        data_dir = self.config.data_dir
        data_dir.mkdir(parents=True, exist_ok=True)
        kv = EmbeddedKV(data_dir / "meta" / "kv.sqlite")
        self._stops.append(kv.close)
        stream = EmbeddedLog(data_dir / "log")
        self._stops.append(stream.close)
        storage = LocalDirStore(data_dir / "objects")

        coordinator = Coordinator(self.config.coordinator, kv, stream, storage)
        self._stops.append(coordinator.stop)
        datanode = DataNode(NODE_ID, self.config.datanode, stream, storage, coordinator)
        self._stops.append(datanode.stop)
        indexnode = IndexNode(NODE_ID, self.config.indexnode, storage, coordinator)
        indexnode.start()
        self._stops.append(indexnode.stop)
        querynode = QueryNode(NODE_ID, self.config.querynode, stream, storage, coordinator)
        self._stops.append(querynode.stop)
        coordinator.register_datanode(NODE_ID, datanode)
        coordinator.register_indexnode(NODE_ID, indexnode)
        coordinator.register_querynode(NODE_ID, querynode)
        coordinator.start()

        writer = DmlWriter(NODE_ID, stream, coordinator, self.config.proxy.time_tick_interval_s)
        writer.start(coordinator.catalog.pchannels())
        self._stops.append(writer.stop)
        reader = Reader(
            coordinator,
            {NODE_ID: querynode},
            self.config.coordinator.graceful_time_s,
            self.config.proxy.max_topk,
            tick_now=writer.tick,
        )
        ctx = ProxyContext(NODE_ID, self.config.proxy, coordinator, writer, reader, version())
        server = serve(ctx, self.config.proxy.host, self.config.proxy.port)
        self._stops.append(lambda: server.stop(grace=2).wait(5))
        self.port = self.config.proxy.port
        log.info(
            "elanus standalone ready",
            extra={"port": self.port, "data_dir": str(data_dir)},
        )

    def stop(self) -> None:
        for stop in reversed(self._stops):
            try:
                stop()
            except Exception:
                log.exception("error while stopping")
        self._stops.clear()


def version() -> str:
    try:
        return "v" + metadata.version("elanus")
    except metadata.PackageNotFoundError:
        return "v0.0.0-dev"


def run_until_signalled(service: Standalone) -> None:
    import signal

    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    service.start()
    try:
        while not done.wait(1.0):
            pass
    finally:
        service.stop()
