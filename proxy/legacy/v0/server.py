"""The second gRPC server, on proxy.legacy_port, that speaks the Milvus 0.x API.

Milvus 0.x and 1.x both call their service ``milvus.grpc.MilvusService`` and
share method names whose requests are byte-identical but whose replies differ
(ShowPartitions, DescribeIndex), so no server can tell the two apart on one
port, and one gRPC server holds one handler per service name. 0.x therefore
has its own server and port. Our 0.x messages are declared in package
``milvus.grpc.v0`` (proto/legacy/v0/milvus.proto) so they share the process's
descriptor pool with the 1.x ones; the handler is registered here under the
wire's service name, with the methods, request and reply types of that
package's service.
"""

from __future__ import annotations

import logging
from typing import Any

import grpc
from google.protobuf.descriptor import Descriptor

from proto.legacy.v0 import milvus_pb2, milvus_pb2_grpc, status_pb2
from proxy.context import ProxyContext
from proxy.legacy.service import LegacyApi
from proxy.legacy.v0.routes import MILVUS_V0, legacy0_routes
from proxy.legacy.v0.service import Legacy0Api
from proxy.pipeline import Guard, Pipeline, RequestObserver
from proxy.service import grpc_server, grpc_servicer

log = logging.getLogger(__name__)

WIRE_SERVICE = "milvus.grpc.MilvusService"
_MODULES = {module.DESCRIPTOR.name: module for module in (milvus_pb2, status_pb2)}


def _message_class(descriptor: Descriptor) -> Any:
    return getattr(_MODULES[descriptor.file.name], descriptor.name)


def wire_handler(servicer: Any) -> grpc.GenericRpcHandler:
    """``servicer``'s methods as the 0.x wire names them: /milvus.grpc.MilvusService/<rpc>."""
    service = milvus_pb2.DESCRIPTOR.services_by_name["MilvusService"]
    handlers = {
        method.name: grpc.unary_unary_rpc_method_handler(
            getattr(servicer, method.name),
            request_deserializer=_message_class(method.input_type).FromString,
            response_serializer=_message_class(method.output_type).SerializeToString,
        )
        for method in service.methods
    }
    return grpc.method_handlers_generic_handler(WIRE_SERVICE, handlers)


def serve_legacy0(
    ctx: ProxyContext,
    host: str,
    port: int,
    workers: int = 8,
    guard: Guard | None = None,
    observer: RequestObserver | None = None,
) -> grpc.Server:
    """Start the 0.x server on ``host:port`` and return it once it listens."""
    pipeline = Pipeline(ctx, legacy0_routes(Legacy0Api(LegacyApi(ctx))), guard, observer, MILVUS_V0)
    servicer = grpc_servicer(milvus_pb2_grpc.MilvusServiceServicer, pipeline)
    server = grpc_server(ctx, workers)
    server.add_generic_rpc_handlers((wire_handler(servicer),))
    address = f"{host}:{port}"
    if server.add_insecure_port(address) == 0:
        raise OSError(f"cannot listen on {address}")
    server.start()
    log.info("proxy listening for Milvus 0.x clients", extra={"address": address})
    return server
