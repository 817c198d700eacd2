"""A stand-in role core behind a real gRPC server, to drive every RPC of every service."""

from __future__ import annotations

import inspect
import re
import threading
import typing
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from coordinator.grpc_service import CoordinatorServicer
from datanode.grpc_service import DataNodeServicer
from elanus import services
from elanus.rpc import (
    CoordinatorGrpcClient,
    DataNodeGrpcClient,
    IndexNodeGrpcClient,
    QueryNodeGrpcClient,
    start_server,
)
from indexnode.grpc_service import IndexNodeServicer
from querynode.grpc_service import QueryNodeServicer


@dataclass(frozen=True)
class Role:
    interface: type
    service: str  # the service's name in proto/internal/roles.proto
    servicer: type
    client: type

    def __str__(self) -> str:
        return self.service


ROLES = [
    Role(services.CoordinatorApi, "CoordinatorService", CoordinatorServicer, CoordinatorGrpcClient),
    Role(services.DataNodeClient, "DataNodeService", DataNodeServicer, DataNodeGrpcClient),
    Role(services.QueryNodeClient, "QueryNodeService", QueryNodeServicer, QueryNodeGrpcClient),
    Role(services.IndexNodeClient, "IndexNodeService", IndexNodeServicer, IndexNodeGrpcClient),
]


def interface_methods(interface: type) -> list[str]:
    """The methods an interface declares (itself or the Protocols it joins), in
    declaration order, each once."""
    names: dict[str, None] = {}
    for base in reversed(interface.__mro__):
        for name, value in vars(base).items():
            if not name.startswith("_") and inspect.isfunction(value):
                names.setdefault(name)
    return list(names)


def rpc_name(method: str) -> str:
    return "".join(part.capitalize() for part in method.split("_"))


def method_hints(interface: type, method: str) -> dict[str, Any]:
    return typing.get_type_hints(getattr(interface, method))


def snake(rpc: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", rpc).lower()


class FakeCore:
    """Records every call; answers with ``returns[name]``, raises ``raises``, or runs ``hook``."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.returns: dict[str, Any] = {}
        self.raises: BaseException | None = None
        self.hook: Callable[[], object] | None = None
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("_"):
            raise AttributeError(name)

        def call(*args: Any) -> Any:
            with self._lock:
                self.calls.append((name, args))
            if self.hook is not None:
                self.hook()
            if self.raises is not None:
                raise self.raises
            return self.returns.get(name)

        return call


@contextmanager
def served(role: Role, timeout_s: float = 5.0) -> Iterator[tuple[Any, FakeCore]]:
    """A client of ``role`` talking over loopback to a servicer around a FakeCore."""
    core = FakeCore()
    server = start_server([role.servicer(core)], "127.0.0.1", 0)
    client = role.client(server.address, timeout_s=timeout_s)
    try:
        yield client, core
    finally:
        client.close()
        server.stop(0)
