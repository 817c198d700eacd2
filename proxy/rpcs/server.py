"""The server itself: connecting, its version and health, timestamps."""

from __future__ import annotations

import time

from proto.public import common_pb2, milvus_pb2
from proxy import convert
from proxy.context import ProxyContext
from proxy.pipeline import Call


def connect(
    ctx: ProxyContext, request: milvus_pb2.ConnectRequest, call: Call
) -> milvus_pb2.ConnectResponse:
    info = common_pb2.ServerInfo(build_tags=ctx.version, deploy_mode="STANDALONE")
    return milvus_pb2.ConnectResponse(
        status=convert.status(), server_info=info, identifier=int(time.time_ns() % 2**62)
    )


def get_version(
    ctx: ProxyContext, request: milvus_pb2.GetVersionRequest, call: Call
) -> milvus_pb2.GetVersionResponse:
    return milvus_pb2.GetVersionResponse(status=convert.status(), version=ctx.version)


def check_health(
    ctx: ProxyContext, request: milvus_pb2.CheckHealthRequest, call: Call
) -> milvus_pb2.CheckHealthResponse:
    return milvus_pb2.CheckHealthResponse(status=convert.status(), isHealthy=True)


def get_component_states(
    ctx: ProxyContext, request: milvus_pb2.GetComponentStatesRequest, call: Call
) -> milvus_pb2.ComponentStates:
    state = milvus_pb2.ComponentInfo(
        nodeID=ctx.node_id, role="proxy", state_code=common_pb2.Healthy
    )
    return milvus_pb2.ComponentStates(state=state, status=convert.status())


def alloc_timestamp(
    ctx: ProxyContext, request: milvus_pb2.AllocTimestampRequest, call: Call
) -> milvus_pb2.AllocTimestampResponse:
    ts = ctx.coordinator.alloc_timestamp()
    return milvus_pb2.AllocTimestampResponse(status=convert.status(), timestamp=ts)
