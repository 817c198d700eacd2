"""Closing a store must wake whoever waits on it: a stopping role must never hang."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


def wait_through_close(wait: Callable[[], object], close: Callable[[], None]) -> list[RuntimeError]:
    """Run ``wait`` in a thread, ``close`` the store under it; the errors the wait raised.

    The wait must end within a second of the close, whatever its own timeout.
    """
    failures: list[RuntimeError] = []

    def waiting() -> None:
        try:
            wait()
        except RuntimeError as error:
            failures.append(error)

    waiter = threading.Thread(target=waiting)
    waiter.start()
    time.sleep(0.2)
    closed_at = time.monotonic()
    close()
    waiter.join(timeout=5)
    assert not waiter.is_alive() and time.monotonic() - closed_at < 1.0
    return failures
