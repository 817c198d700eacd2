"""Serving a role over gRPC: the server itself, and the wrapper every RPC handler wears.

A role's servicer (``<role>/grpc_service.py``) is a thin shell whose handlers
convert, delegate to the core and convert back; :func:`answers` turns whatever
the core raises into the response's ``ErrorInfo``, so no handler catches
anything itself.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable
from concurrent import futures
from dataclasses import dataclass
from typing import Any, TypeVar

import grpc

from elanus import errors
from elanus.rpc.status import error_info
from proto.internal import roles_pb2_grpc as pb_grpc

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 64 * 1024 * 1024
# The metadata key a node's clients name the node they mean with (see AddressedTo).
NODE_ID_HEADER = "elanus-node-id"
# Options for both ends: search results and snapshots can be large.
CHANNEL_OPTIONS: tuple[tuple[str, int], ...] = (
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
)

# Servicer base class -> how to add an instance of it to a server.
_REGISTRARS: dict[type, Callable[[Any, grpc.Server], None]] = {
    pb_grpc.CoordinatorServiceServicer: pb_grpc.add_CoordinatorServiceServicer_to_server,
    pb_grpc.DataNodeServiceServicer: pb_grpc.add_DataNodeServiceServicer_to_server,
    pb_grpc.QueryNodeServiceServicer: pb_grpc.add_QueryNodeServiceServicer_to_server,
    pb_grpc.IndexNodeServiceServicer: pb_grpc.add_IndexNodeServiceServicer_to_server,
}

Handler = TypeVar("Handler", bound=Callable[..., Any])


def answers(response_type: type) -> Callable[[Handler], Handler]:
    """Wrap a handler so that an exception becomes ``response_type(error=...)``.

    An ElanusError is the callee saying no and travels as is; any other
    exception is a bug in the callee, logged here with its trace and answered
    as InternalError.
    """

    def wrap(handler: Handler) -> Handler:
        @functools.wraps(handler)
        def handle(self: Any, request: Any, context: grpc.ServicerContext) -> Any:
            try:
                return handler(self, request, context)
            except errors.ElanusError as exc:
                return response_type(error=error_info(exc))
            except Exception as exc:
                log.exception("unexpected error in %s", handler.__qualname__)
                return response_type(error=error_info(exc))

        return handle  # type: ignore[return-value]

    return wrap


class AddressedTo(grpc.ServerInterceptor):
    """Refuse calls meant for another node.

    Clients made from a node's session name its node id on every call. A node
    killed and restarted gets a new id but often the same address, so a client
    of the dead node still reaches the new process; served, its calls would
    make the new node act for the dead one (a shard loaded there would be led
    by a node id whose session is about to expire). Refused as UNAVAILABLE, the
    caller treats the dead node as what it is: gone. A call without the header
    (the coordinator's clients, tools) is served.
    """

    def __init__(self, node_id: int) -> None:
        self._node_id = str(node_id)

    def intercept_service(self, continuation: Any, handler_call_details: Any) -> Any:
        metadata = dict(handler_call_details.invocation_metadata or ())
        meant = metadata.get(NODE_ID_HEADER)
        if meant is None or meant == self._node_id:
            return continuation(handler_call_details)
        reason = f"node {meant} is not at this address (node {self._node_id} is)"

        def refuse(request: Any, context: grpc.ServicerContext) -> Any:
            context.abort(grpc.StatusCode.UNAVAILABLE, reason)

        return grpc.unary_unary_rpc_method_handler(refuse)


@dataclass
class RoleServer:
    """A started gRPC server and the address it listens on."""

    server: grpc.Server
    host: str
    port: int

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def stop(self, grace_s: float = 2.0) -> None:
        """Stop accepting calls; wait up to ``grace_s`` for those in flight."""
        self.server.stop(grace_s).wait(grace_s + 1.0)


def start_server(
    servicers: Iterable[Any],
    host: str = "127.0.0.1",
    port: int = 0,
    max_workers: int = 32,
    node_id: int | None = None,
) -> RoleServer:
    """Serve ``servicers`` on host:port (port 0 picks a free one) and return the started server.

    ``max_workers`` bounds concurrent calls; keep it well above the number of
    calls that may block at once (searches waiting for serve-time), since a
    role's handler may itself call another role. ``node_id``: the node this
    server is, so calls meant for another node are refused (:class:`AddressedTo`).
    """
    registrations = [(_registrar_of(servicer), servicer) for servicer in servicers]
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="rpc"),
        options=list(CHANNEL_OPTIONS),
        interceptors=[AddressedTo(node_id)] if node_id is not None else [],
    )
    for register, servicer in registrations:
        register(servicer, server)
    bound = server.add_insecure_port(f"{host}:{port}")
    if bound == 0:
        raise OSError(f"cannot listen on {host}:{port}")
    server.start()
    log.info("role server listening", extra={"address": f"{host}:{bound}"})
    return RoleServer(server, host, bound)


def _registrar_of(servicer: Any) -> Callable[[Any, grpc.Server], None]:
    for base, registrar in _REGISTRARS.items():
        if isinstance(servicer, base):
            return registrar
    raise TypeError(f"{type(servicer).__name__} is not a servicer of proto/internal/roles.proto")
