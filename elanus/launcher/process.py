"""What a standalone server and a cluster role process share: the /healthz and
/metrics side port, warm-up, the version, and running until a signal."""

from __future__ import annotations

import logging
import threading
from importlib import metadata
from typing import Any, Protocol

from elanus.http import Health, RoleHttpServer

log = logging.getLogger(__name__)


class StartInterrupted(RuntimeError):
    """Asked to stop while still starting (a standby that never took over): not a failure."""


class Service(Protocol):
    def start(self) -> None: ...

    def stop(self) -> None: ...


def start_http(health: Health, host: str, port: int) -> RoleHttpServer:
    """The role's /healthz and /metrics server, started.

    A busy port falls back to a free one (logged): the HTTP side port must not
    keep a role from serving, and several local processes (tests, ``cluster
    up``) would otherwise fight over the default 9091. In a container the port
    is free, so probes find it where configured.
    """
    try:
        server = RoleHttpServer(health, host, port)
    except OSError as error:
        if port == 0:
            raise
        log.warning(
            "http port busy; serving /healthz and /metrics on a free port",
            extra={"role": health.role, "port": port, "error": str(error)},
        )
        server = RoleHttpServer(health, host, 0)
    server.start()
    return server


def warm_up() -> None:
    """Pay one-time costs in the background at start, not in the first request: pyarrow's
    first numpy conversion imports pandas (0.4 s, more under load) and the first filter
    builds the expression parser (0.3 s)."""

    def once() -> None:
        import numpy as np
        import pyarrow as pa

        from elanus import expr
        from elanus.schema import CollectionSchema, DataType, FieldSchema

        pa.array(np.zeros(1, dtype=np.int64))
        key = FieldSchema("id", DataType.INT64, is_primary=True)
        expr.parse("id > 0", CollectionSchema("warm_up", (key,)))

    threading.Thread(target=once, name="warm-up", daemon=True).start()


def version() -> str:
    try:
        return "v" + metadata.version("elanus")
    except metadata.PackageNotFoundError:
        return "v0.0.0-dev"


def run_until_signalled(service: Service) -> int:
    """Run until SIGINT/SIGTERM; 1 if a role lost its session and stopped by itself."""
    import signal

    done = threading.Event()
    stopping = getattr(service, "stopping", done)

    def on_signal(*_: Any) -> None:
        done.set()
        stopping.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)
    lost = getattr(service, "lost", threading.Event())
    try:
        service.start()
    except StartInterrupted as interrupted:
        log.info("stopped while starting", extra={"why": str(interrupted)})
        return 0
    try:
        while not done.wait(0.5):
            if lost.is_set():
                log.error("stopping: this role's session was lost (another node replaces it)")
                return 1
        return 0
    finally:
        service.stop()
