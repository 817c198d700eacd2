"""Keeping DML channels from growing forever.

A message may go once nothing can need it again: it lies below every virtual
channel's checkpoint (a node taking a channel over replays from there), and it
has been below that for ``retention_s`` (a querynode that follows a channel a
little behind the datanode still reads it). So this keeps, per physical
channel, a short history of (time, lowest checkpoint) and truncates at the
newest lowest-checkpoint that is old enough.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable

from elanus.stream import MessageStream

log = logging.getLogger(__name__)


class ChannelRetention:
    def __init__(
        self,
        stream: MessageStream,
        lowest_checkpoints: Callable[[], dict[str, int]],
        retention_s: float,
        interval_s: float,
    ) -> None:
        self._stream = stream
        self._lowest_checkpoints = lowest_checkpoints
        self._retention_s = retention_s
        self._interval_s = interval_s
        self._history: dict[str, deque[tuple[float, int]]] = {}
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="channel-retention", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(5)

    def run_once(self, now: float | None = None) -> dict[str, int]:
        """Record the current lowest checkpoints and truncate what is old enough."""
        now = time.monotonic() if now is None else now
        truncated = {}
        for pchannel, position in self._lowest_checkpoints().items():
            history = self._history.setdefault(pchannel, deque())
            history.append((now, position))
            # Drop entries that a newer, old-enough entry supersedes.
            while len(history) > 1 and now - history[1][0] >= self._retention_s:
                history.popleft()
            recorded_at, safe = history[0]
            if now - recorded_at < self._retention_s:
                continue
            removed = self._stream.truncate_before(pchannel, safe)
            if removed:
                truncated[pchannel] = removed
                log.info(
                    "channel truncated",
                    extra={"pchannel": pchannel, "before": safe, "removed": removed},
                )
        return truncated

    def _run(self) -> None:
        while not self._stopping.wait(self._interval_s):
            try:
                self.run_once()
            except Exception:
                log.exception("channel retention failed")
