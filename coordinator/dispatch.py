"""Calls from the coordinator to nodes run here, in order, off the caller's thread.

The coordinator never calls a node while holding its own locks: a node may call
back (a querynode loading a channel asks for its snapshot), and a slow node must
not stall DDL. One worker keeps notifications in the order they were made.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class Dispatcher:
    def __init__(self, name: str = "coordinator-dispatch") -> None:
        self._queue: queue.Queue[tuple[str, Callable[[], None]] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._idle = threading.Event()
        self._idle.set()
        self._thread.start()

    def submit(self, what: str, call: Callable[[], None]) -> None:
        self._idle.clear()
        self._queue.put((what, call))

    def wait_idle(self, timeout_s: float) -> bool:
        return self._idle.wait(timeout_s)

    def close(self, timeout_s: float = 5.0) -> None:
        self._queue.put(None)
        self._thread.join(timeout_s)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            what, call = item
            try:
                call()
            except Exception:
                log.exception("node call failed", extra={"call": what})
            if self._queue.empty():
                self._idle.set()
