"""Index builds in flight: which node runs the build of each (index, segment), and
how many times that build was tried.

Nothing here is persisted: after a coordinator restart every missing build is
scheduled afresh (coordinator/indexes.py), with a fresh count of attempts.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

MAX_BUILD_ATTEMPTS = 3

BuildKey = tuple[int, int]  # (index id, segment id)


@dataclass(frozen=True)
class BuildAttempt:
    build_id: int
    node_id: int
    key: BuildKey


class BuildTracker:
    def __init__(self, max_attempts: int = MAX_BUILD_ATTEMPTS) -> None:
        self.max_attempts = max_attempts
        # Held by the index role while it decides on a build's report and records it,
        # so two reports of one (index, segment) are judged one after the other.
        self.lock = threading.RLock()
        self._current: dict[BuildKey, BuildAttempt] = {}
        self._attempts: dict[BuildKey, int] = {}
        self._last_failure: dict[BuildKey, str] = {}

    def start(self, key: BuildKey, build_id: int, node_id: int) -> None:
        with self.lock:
            self._current[key] = BuildAttempt(build_id, node_id, key)
            self._attempts[key] = self._attempts.get(key, 0) + 1

    def attempts(self, key: BuildKey) -> int:
        with self.lock:
            return self._attempts.get(key, 0)

    def exhausted(self, key: BuildKey) -> bool:
        with self.lock:
            return self._attempts.get(key, 0) >= self.max_attempts

    def last_failure(self, key: BuildKey) -> str:
        with self.lock:
            return self._last_failure.get(key, "")

    def is_current(self, key: BuildKey, build_id: int) -> bool:
        with self.lock:
            current = self._current.get(key)
            return current is not None and current.build_id == build_id

    def in_flight(self, key: BuildKey) -> bool:
        with self.lock:
            return key in self._current

    def succeeded(self, key: BuildKey) -> None:
        """The (index, segment) is built: forget it entirely."""
        with self.lock:
            self._current.pop(key, None)
            self._attempts.pop(key, None)
            self._last_failure.pop(key, None)

    def failed(self, key: BuildKey, reason: str) -> None:
        """The current attempt ended without a result; the attempt still counts."""
        with self.lock:
            self._current.pop(key, None)
            self._last_failure[key] = reason

    def take_node(self, node_id: int) -> list[BuildAttempt]:
        """The builds running on a node that left, no longer in flight."""
        with self.lock:
            lost = [a for a in self._current.values() if a.node_id == node_id]
            for attempt in lost:
                del self._current[attempt.key]
            return lost
