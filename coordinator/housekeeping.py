"""One background thread for the coordinator's periodic jobs (sealing, compaction, GC).

Each job runs at its own interval; a failing job is logged and retried at its
next turn, never taking the others down.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from elanus import errors

log = logging.getLogger(__name__)


@dataclass
class PeriodicJob:
    name: str
    interval_s: float
    run: Callable[[], object]
    next_at: float = 0.0


class Housekeeping:
    def __init__(self, jobs: list[PeriodicJob], tick_s: float = 0.05) -> None:
        self._jobs = jobs
        self._tick_s = tick_s
        self._stopping = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name="coordinator-housekeeping", daemon=True
        )

    def start(self) -> None:
        now = time.monotonic()
        for job in self._jobs:
            job.next_at = now + job.interval_s
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    def _run(self) -> None:
        while not self._stopping.wait(self._tick_s):
            for job in self._jobs:
                now = time.monotonic()
                if now < job.next_at:
                    continue
                job.next_at = now + job.interval_s
                try:
                    job.run()
                except errors.ElanusError as exc:  # a node or the KV unreachable: next round
                    log.warning(
                        "coordinator job failed", extra={"job": job.name, "reason": str(exc)}
                    )
                except Exception:
                    log.exception("coordinator job failed", extra={"job": job.name})
