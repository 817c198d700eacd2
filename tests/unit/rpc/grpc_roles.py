"""The roles of :class:`RoleSet`, each behind its own gRPC server on loopback, each wired to
the others through gRPC clients only: the cluster's wiring, in one process.

``coordinator`` (and everything RoleSet's conveniences do with it) is a
:class:`CoordinatorGrpcClient`; the cores stay reachable as ``*_core`` or, for
the nodes, under RoleSet's names, so a test can look inside them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from roles_harness import NODE_ID, RoleSet, fast_config

from coordinator import Coordinator
from coordinator.grpc_service import CoordinatorServicer
from datanode import DataNode
from datanode.grpc_service import DataNodeServicer
from elanus.config import Config
from elanus.kv.embedded import EmbeddedKV
from elanus.rpc import (
    CoordinatorGrpcClient,
    DataNodeGrpcClient,
    IndexNodeGrpcClient,
    QueryNodeGrpcClient,
    RoleServer,
    start_server,
)
from elanus.storage.local_dir import LocalDirStore
from elanus.stream.embedded_log import EmbeddedLog
from indexnode import IndexNode
from indexnode.grpc_service import IndexNodeServicer
from proxy.reads import Reader
from proxy.writer import DmlWriter
from querynode import QueryNode
from querynode.grpc_service import QueryNodeServicer

CALL_TIMEOUT_S = 20.0


@dataclass
class GrpcRoleSet(RoleSet):
    coordinator_core: Coordinator = field(init=False)
    servers: dict[str, RoleServer] = field(default_factory=dict, init=False)

    def start(self, configure: Callable[[Config], None] | None = None) -> GrpcRoleSet:
        self.config = config = fast_config(self.data_dir)
        if configure is not None:
            configure(config)
        self.kv = self._closing(EmbeddedKV(self.data_dir / "meta" / "kv.sqlite"))
        self.stream = self._closing(EmbeddedLog(self.data_dir / "log"))
        self.storage = LocalDirStore(self.data_dir / "objects")

        core = Coordinator(
            config.coordinator,
            self.kv,
            self.stream,
            self.storage,
            config.proxy.time_tick_interval_s,
        )
        self.coordinator_core = core
        self._stops.append(core.stop)
        self._serve("coordinator", CoordinatorServicer(core))

        self.datanode = DataNode(
            NODE_ID, config.datanode, self.stream, self.storage, self._coordinator_client()
        )
        self._stops.append(self.datanode.stop)
        self._serve("datanode", DataNodeServicer(self.datanode))
        self.indexnode = IndexNode(
            NODE_ID, config.indexnode, self.storage, self._coordinator_client()
        )
        self.indexnode.start()
        self._stops.append(self.indexnode.stop)
        self._serve("indexnode", IndexNodeServicer(self.indexnode))
        self.querynode = QueryNode(
            NODE_ID, config.querynode, self.stream, self.storage, self._coordinator_client()
        )
        self._stops.append(self.querynode.stop)
        self._serve("querynode", QueryNodeServicer(self.querynode))

        core.register_datanode(NODE_ID, self._client(DataNodeGrpcClient, "datanode"))
        core.register_indexnode(NODE_ID, self._client(IndexNodeGrpcClient, "indexnode"))
        core.register_querynode(NODE_ID, self._client(QueryNodeGrpcClient, "querynode"))
        core.start()

        # The proxy's side: everything through clients. The channel pool is configuration.
        self.coordinator = self._coordinator_client()  # type: ignore[assignment]
        self.writer = DmlWriter(
            NODE_ID, self.stream, self.coordinator, config.proxy.time_tick_interval_s
        )
        self.writer.start()
        self._stops.append(self.writer.stop)
        self.reader = Reader(
            self._coordinator_client(),
            {NODE_ID: self._client(QueryNodeGrpcClient, "querynode")},
            config.coordinator.graceful_time_s,
            config.proxy.max_topk,
            tick_now=self.writer.tick,
        )
        return self

    def stop(self) -> None:
        # Calls the coordinator still owes the nodes go out before the clients close.
        self.coordinator_core.wait_idle()
        super().stop()

    def _closing(self, resource: Any) -> Any:
        self._stops.append(resource.close)
        return resource

    def _serve(self, role: str, servicer: Any) -> None:
        server = start_server([servicer], "127.0.0.1", 0)
        self.servers[role] = server
        self._stops.append(lambda: server.stop(0.5))

    def _client(self, kind: type, role: str) -> Any:
        return self._closing(kind(self.servers[role].address, timeout_s=CALL_TIMEOUT_S))

    def _coordinator_client(self) -> CoordinatorGrpcClient:
        return self._client(CoordinatorGrpcClient, "coordinator")
