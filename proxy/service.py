"""The gRPC front door: MilvusService (2.x) and the Milvus 1.x service on one port.

Each servicer is made from a route table (proxy/routes.py, proxy/legacy/routes.py):
each method hands its request to the pipeline. A method without a route answers
UNIMPLEMENTED, quietly: it is an honest answer, not a fault of the server.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from concurrent import futures
from typing import Any

import grpc

from elanus import errors
from proto.legacy.v1 import milvus_pb2_grpc as legacy_pb2_grpc
from proto.public import milvus_pb2_grpc
from proxy import routes
from proxy.context import ProxyContext
from proxy.legacy.routes import MILVUS_V1, UNSERVED_REASONS, legacy_routes
from proxy.legacy.service import LegacyApi
from proxy.pipeline import Guard, Pipeline, RequestObserver, Route

log = logging.getLogger(__name__)


def grpc_servicer(
    base: type[Any], pipeline: Pipeline, unserved_reasons: Mapping[str, str] | None = None
) -> Any:
    """A servicer of generated class ``base`` whose every method runs through ``pipeline``."""
    declared = [name for name in vars(base) if not name.startswith("_")]
    reasons = unserved_reasons or {}
    methods: dict[str, Callable[..., Any]] = {}
    for name in declared:
        if name in pipeline.routes:
            methods[name] = _served(pipeline, name)
        else:
            methods[name] = _unserved(reasons.get(name, f"{name} is not implemented by Elanus yet"))
    unknown = set(pipeline.routes) - set(declared)
    if unknown:
        raise ValueError(f"routes for methods {base.__name__} does not declare: {sorted(unknown)}")
    servicer_type = type(base.__name__.removesuffix("Servicer") + "Pipeline", (base,), methods)
    return servicer_type()


def milvus_servicer(pipeline: Pipeline) -> milvus_pb2_grpc.MilvusServiceServicer:
    """The Milvus 2.x MilvusService, served by ``pipeline``."""
    servicer: milvus_pb2_grpc.MilvusServiceServicer = grpc_servicer(
        milvus_pb2_grpc.MilvusServiceServicer, pipeline
    )
    return servicer


def _served(pipeline: Pipeline, method: str) -> Callable[..., Any]:
    def handle(self: Any, request: Any, context: grpc.ServicerContext) -> Any:
        metadata = {
            key: value
            for key, value in context.invocation_metadata()
            if isinstance(value, str)  # binary headers (-bin) carry nothing we read
        }
        try:
            return pipeline.serve(method, request, metadata)
        except errors.ElanusError as refusal:  # only those with a grpc_code escape
            context.abort(grpc.StatusCode[refusal.grpc_code], refusal.reason)

    handle.__name__ = method
    return handle


def _unserved(reason: str) -> Callable[..., Any]:
    def handle(self: Any, request: Any, context: grpc.ServicerContext) -> Any:
        context.abort(grpc.StatusCode.UNIMPLEMENTED, reason)

    return handle


def grpc_server(ctx: ProxyContext, workers: int) -> grpc.Server:
    """A gRPC server with the proxy's message limits and keepalive rules, nothing served yet."""
    limit = ctx.config.max_request_bytes
    return grpc.server(
        futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="proxy-rpc"),
        options=[
            ("grpc.max_receive_message_length", limit),
            ("grpc.max_send_message_length", limit),
            ("grpc.so_reuseport", 0),
            # pymilvus pings every 10 s, with or without calls in flight. gRPC's server
            # defaults count such pings as abuse and, after two, close the connection
            # with GOAWAY "too_many_pings": the next RPC on it fails (seen in CI).
            ("grpc.keepalive_permit_without_calls", 1),
            ("grpc.http2.min_recv_ping_interval_without_data_ms", 5000),
            ("grpc.http2.max_ping_strikes", 0),
        ],
    )


def serve(
    ctx: ProxyContext,
    host: str,
    port: int,
    workers: int = 16,
    guard: Guard | None = None,
    observer: RequestObserver | None = None,
    table: Sequence[Route] | None = None,
) -> grpc.Server:
    """Start the server and return it once it listens."""
    pipeline = Pipeline(ctx, routes.ROUTES if table is None else table, guard, observer)
    legacy = Pipeline(ctx, legacy_routes(LegacyApi(ctx)), guard, observer, MILVUS_V1)
    server = grpc_server(ctx, workers)
    milvus_pb2_grpc.add_MilvusServiceServicer_to_server(milvus_servicer(pipeline), server)
    legacy_servicer = grpc_servicer(legacy_pb2_grpc.MilvusServiceServicer, legacy, UNSERVED_REASONS)
    legacy_pb2_grpc.add_MilvusServiceServicer_to_server(legacy_servicer, server)
    address = f"{host}:{port}"
    if server.add_insecure_port(address) == 0:
        raise OSError(f"cannot listen on {address}")
    server.start()
    log.info("proxy listening", extra={"address": address})
    return server
