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
        # Calls submitted and not yet finished; idle means zero. A count under a
        # lock, not queue.empty(): the queue can be empty while a call still runs.
        self._pending = 0
        self._idle = threading.Condition()
        self._thread.start()

    def submit(self, what: str, call: Callable[[], None]) -> None:
        with self._idle:
            self._pending += 1
        self._queue.put((what, call))

    def wait_idle(self, timeout_s: float) -> bool:
        """True once every call submitted before this one has finished."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout_s)

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
            finally:
                with self._idle:
                    self._pending -= 1
                    if self._pending == 0:
                        self._idle.notify_all()
