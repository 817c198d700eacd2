"""Each role's HTTP port: ``/healthz`` for orchestrators, ``/metrics`` for Prometheus.

Kubernetes probes, docker healthchecks and Prometheus all speak plain HTTP, so
every role runs one small :class:`RoleHttpServer` thread beside its gRPC
server (port 9091 for the proxy and standalone, as in Milvus).

Instrumentation lives here too, in one place: the composition root wraps the
few objects whose calls are worth counting (the proxy's writer and reader, the
coordinator as seen by a datanode or an indexnode) with :class:`Metered`, so
no role imports prometheus_client.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar, cast

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Histogram, generate_latest

log = logging.getLogger(__name__)

# --- metrics: defined once per process (standalone shares them between roles)

PROXY_REQUESTS = Counter(
    "elanus_proxy_requests",
    "RPCs the proxy answered, by RPC (operation) and outcome (ok or the error's name)",
    ["operation", "outcome"],
)
PROXY_REQUEST_SECONDS = Histogram(
    "elanus_proxy_request_seconds",
    "Time the proxy spent answering an RPC, by RPC (operation)",
    ["operation"],
)
ROWS_INSERTED = Counter("elanus_rows_inserted", "Rows written by insert and upsert")
SEARCHES = Counter("elanus_searches", "Search requests served (each may hold many queries)")
SEGMENTS_FLUSHED = Counter("elanus_segments_flushed", "Segments a datanode flushed to storage")
INDEX_BUILDS = Counter("elanus_index_builds", "Index builds an indexnode finished", ["outcome"])

OnCall = Callable[[tuple[Any, ...], dict[str, Any]], None]


class Metered:
    """Delegates every attribute to ``target``; the methods in ``hooks`` also run their hook.

    A hook sees the call's arguments and runs after the call returns.
    """

    def __init__(self, target: Any, hooks: dict[str, OnCall]) -> None:
        self._target = target
        self._hooks = hooks

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._target, name)
        hook = self._hooks.get(name)
        if hook is None or not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            result = attribute(*args, **kwargs)
            hook(args, kwargs)
            return result

        return call


class ProxyRequestMetrics:
    """The proxy pipeline's observer: every RPC counted and timed, failures included."""

    def observe(self, method: str, outcome: str, seconds: float) -> None:
        PROXY_REQUESTS.labels(method, outcome).inc()
        PROXY_REQUEST_SECONDS.labels(method).observe(seconds)


def _count_rows(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    # DmlWriter.insert/upsert(info, partition_id, rows): rows is an Arrow table.
    rows = kwargs.get("rows", args[2] if len(args) > 2 else None)
    ROWS_INSERTED.inc(getattr(rows, "num_rows", 0))


# Metered forwards every attribute to its target, so to its callers it is the
# target's type: these return it as that type.
Target = TypeVar("Target")


def meter_proxy_writer(writer: Target) -> Target:
    hooks: dict[str, OnCall] = {"insert": _count_rows, "upsert": _count_rows}
    return cast(Target, Metered(writer, hooks))


def meter_proxy_reader(reader: Target) -> Target:
    hooks: dict[str, OnCall] = {"search": lambda a, k: SEARCHES.inc()}
    return cast(Target, Metered(reader, hooks))


def meter_datanode_coordinator(coordinator: Target) -> Target:
    """The coordinator as a datanode sees it: each ``segment_flushed`` report is a flush."""
    hooks: dict[str, OnCall] = {"segment_flushed": lambda a, k: SEGMENTS_FLUSHED.inc()}
    return cast(Target, Metered(coordinator, hooks))


def meter_indexnode_coordinator(coordinator: Target) -> Target:
    """The coordinator as an indexnode sees it: every build ends in one of two reports."""
    hooks: dict[str, OnCall] = {
        "index_built": lambda a, k: INDEX_BUILDS.labels("built").inc(),
        "index_failed": lambda a, k: INDEX_BUILDS.labels("failed").inc(),
    }
    return cast(Target, Metered(coordinator, hooks))


# --- the HTTP server


@dataclass
class Health:
    """What ``/healthz`` and ``/livez`` report.

    ``/healthz`` is readiness: 200 only while ``serving``. ``/livez`` is liveness:
    200 unless the role ``lost`` its session (it is about to exit); a standby
    coordinator is alive but not ready, and must not be restarted for waiting."""

    role: str
    node_id: int | None = None
    state: str = "starting"  # starting | standby | serving | stopping | lost

    def as_json(self) -> bytes:
        body = {"role": self.role, "node_id": self.node_id, "state": self.state}
        return json.dumps(body).encode()


class RoleHttpServer:
    """``/healthz`` and ``/metrics`` on ``host:port`` (0: any free port) in a daemon thread."""

    def __init__(self, health: Health, host: str, port: int) -> None:
        self.health = health
        self._server = ThreadingHTTPServer((host, port), _handler_for(health))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name=f"http-{health.role}", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> None:
        self._thread.start()
        log.info("http listening", extra={"role": self.health.role, "port": self.port})

    def stop(self) -> None:
        self.health.state = "stopping"
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5.0)


def _handler_for(health: Health) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the name http.server calls)
            path = self.path.split("?", 1)[0]
            if path == "/healthz":
                status = 200 if health.state == "serving" else 503
                self._answer(status, "application/json", health.as_json())
            elif path == "/livez":
                status = 503 if health.state == "lost" else 200
                self._answer(status, "application/json", health.as_json())
            elif path == "/metrics":
                self._answer(200, CONTENT_TYPE_LATEST, generate_latest(REGISTRY))
            else:
                self._answer(404, "text/plain", b"not found\n")

        def _answer(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            # Probes hit /healthz every few seconds: not worth a log line each.
            return None

    return Handler
