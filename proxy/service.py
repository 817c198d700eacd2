"""The gRPC front door: MilvusService on one port, every RPC a thin handler.

RPCs Elanus does not serve are not overridden here, so the generated base class
answers them UNIMPLEMENTED, which is the honest answer.
"""

from __future__ import annotations

import logging
from concurrent import futures

import grpc

from proto.legacy.v1 import milvus_pb2_grpc as legacy_pb2_grpc
from proto.public import milvus_pb2_grpc
from proxy.context import ProxyContext
from proxy.legacy.service import LegacyServicer
from proxy.rpc_admin import AdminRpcs
from proxy.rpc_data import DataRpcs

log = logging.getLogger(__name__)


class MilvusServicer(AdminRpcs, DataRpcs, milvus_pb2_grpc.MilvusServiceServicer):
    def __init__(self, ctx: ProxyContext) -> None:
        self.ctx = ctx


def serve(ctx: ProxyContext, host: str, port: int, workers: int = 16) -> grpc.Server:
    """Start the server and return it once it listens."""
    limit = ctx.config.max_request_bytes
    server = grpc.server(
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
    milvus_pb2_grpc.add_MilvusServiceServicer_to_server(MilvusServicer(ctx), server)
    legacy_pb2_grpc.add_MilvusServiceServicer_to_server(LegacyServicer(ctx), server)
    address = f"{host}:{port}"
    if server.add_insecure_port(address) == 0:
        raise OSError(f"cannot listen on {address}")
    server.start()
    log.info("proxy listening", extra={"address": address})
    return server
