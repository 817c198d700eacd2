"""GetMetrics: the system topology Milvus answers for ``{"metric_type": "system_info"}``,
the JSON Attu reads its node list from, built from the roles that really run."""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from typing import Any

from elanus import errors
from elanus.hardware import PROCESS_STARTED_MS, Hardware, read_hardware
from elanus.services import NodeDescription
from proto.public import milvus_pb2
from proxy import convert
from proxy.context import ProxyContext
from proxy.pipeline import Call

SYSTEM_INFO = "system_info"
# Milvus reads the type under either key (metricsinfo.ParseMetricRequestType).
TYPE_KEYS = ("req_type", "metric_type")
# Elanus's roles -> the component types Milvus 2.6 reports (its one coordinator is mixcoord).
MILVUS_TYPES = {
    "proxy": "proxy",
    "coordinator": "mixcoord",
    "datanode": "datanode",
    "querynode": "querynode",
    "indexnode": "indexnode",
}
FORWARD = "forward"  # Milvus's ConnectionType for a proxy's calls to the others


def get_metrics(
    ctx: ProxyContext, request: milvus_pb2.GetMetricsRequest, call: Call
) -> milvus_pb2.GetMetricsResponse:
    metric_type = _metric_type(request.request)
    if metric_type != SYSTEM_INFO:
        raise errors.MetricNotFound(f"metric={metric_type}")
    own_name = f"proxy{ctx.node_id}"
    known = ctx.coordinator.cluster_nodes()
    # This proxy as its session announced it (on a cluster), with its machine read now.
    me = ("proxy", ctx.node_id)
    nodes = [n for n in known if (n.role, n.node_id) != me]
    announced = [n for n in known if (n.role, n.node_id) == me]
    started_ms = announced[0].started_ms if announced else PROCESS_STARTED_MS
    address = announced[0].address if announced else ""
    own = NodeDescription("proxy", ctx.node_id, address, started_ms, read_hardware("."))
    # In-process roles have no address: a standalone server has none.
    deploy_mode = "DISTRIBUTED" if any(n.address for n in nodes) else "STANDALONE"
    proxy_node = _topology_node(own, ctx.version, deploy_mode)
    proxy_node["connected"] = [
        {
            "connected_identifier": n.node_id,
            "type": FORWARD,
            "target_type": MILVUS_TYPES.get(n.role, n.role),
        }
        for n in nodes
    ]
    topology = {
        "nodes_info": [proxy_node, *(_topology_node(n, ctx.version, deploy_mode) for n in nodes)]
    }
    return milvus_pb2.GetMetricsResponse(
        status=convert.status(), response=json.dumps(topology), component_name=own_name
    )


def _metric_type(raw: str) -> str:
    try:
        parsed = json.loads(raw) if raw else {}
    except json.JSONDecodeError:
        parsed = {}
    if isinstance(parsed, dict):
        for key in TYPE_KEYS:
            if key in parsed:
                return str(parsed[key])
    # Milvus's own words, with its plain-error code (65535).
    raise errors.OperationRefused("metric_type or req_type not found in request")


def _topology_node(node: NodeDescription, version: str, deploy_mode: str) -> dict[str, Any]:
    kind = MILVUS_TYPES.get(node.role, node.role)
    hardware = node.hardware or read_hardware(".")
    return {
        "identifier": node.node_id,
        "connected": [],
        "infos": {
            "has_error": False,
            "error_reason": "",
            "name": f"{kind}{node.node_id}",
            "hardware_infos": _hardware(hardware, node.address),
            "system_info": {
                "system_version": version,
                "deploy_mode": deploy_mode,
                "build_version": version,
                "build_time": "",
                "used_go_version": "",
            },
            "created_time": _time(node.started_ms),
            "updated_time": _time(hardware.read_ms),
            "type": kind,
            "id": node.node_id,
        },
    }


def _hardware(hardware: Hardware, address: str) -> dict[str, Any]:
    return {
        "ip": address,
        "cpu_core_count": hardware.cpu_core_count,
        "cpu_core_usage": hardware.cpu_core_usage,
        "memory": hardware.memory,
        "memory_usage": hardware.memory_usage,
        "disk": hardware.disk,
        "disk_usage": hardware.disk_usage,
        "io_wait_percentage": hardware.io_wait_percentage,
    }


def _time(ms: int) -> str:
    """Milvus's time format (Go's time.Time String), in UTC."""
    moment = datetime.fromtimestamp(ms / 1000 if ms else time.time(), tz=timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f +0000 UTC")
