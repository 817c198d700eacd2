"""Calls from the coordinator to nodes run here, off the caller's thread, one lane per node.

The coordinator never calls a node while holding its own locks: a node may call
back (a querynode loading a channel asks for its snapshot), and a slow node must
not stall DDL. Each node has its own lane (a queue and a worker thread): calls to
one node run in the order they were made, and a slow or hung node delays only its
own calls, never another node's. A lane's thread ends once it has been idle for a
while, so nodes that left leave no threads behind.

Every call returns a :class:`~concurrent.futures.Future`: whoever waits on the
call's effect (a flush waiting on its datanode) learns the failure and its reason
instead of waiting out a deadline. Failures are logged as warnings too, since most
calls have no waiter.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field

from elanus import errors

log = logging.getLogger(__name__)

# The lane of calls that are not to a node (file removal): the coordinator's own.
COORDINATOR_LANE = "coordinator"
DEFAULT_LANE_IDLE_S = 30.0


@dataclass
class _Call:
    what: str
    call: Callable[[], object]
    done: Future[None]


@dataclass
class _Lane:
    node: object  # kept alive with the lane, so the id the lane is keyed by is never reused
    wake: threading.Condition  # on the dispatcher's lock: a call arrived, or closing
    calls: deque[_Call] = field(default_factory=deque)


class Dispatcher:
    def __init__(
        self, name: str = "coordinator-dispatch", lane_idle_s: float = DEFAULT_LANE_IDLE_S
    ) -> None:
        self._name = name
        self._lane_idle_s = lane_idle_s
        self._lock = threading.Lock()
        self._lanes: dict[int, _Lane] = {}  # by id(node): a node's client need not be hashable
        self._threads: list[threading.Thread] = []
        self._closed = False
        # Calls submitted and not yet finished, over every lane; idle means zero.
        self._pending = 0
        self._idle = threading.Condition(self._lock)

    def submit(
        self, what: str, call: Callable[[], object], node: object = COORDINATOR_LANE
    ) -> Future[None]:
        """Run ``call`` on ``node``'s lane (the node's client object: one lane per
        object) after every call submitted to that lane before it."""
        done: Future[None] = Future()
        with self._lock:
            if self._closed:
                done.set_exception(errors.ServiceUnavailable("the coordinator is stopping"))
                return done
            self._pending += 1
            lane = self._lanes.get(id(node))
            if lane is None:
                lane = _Lane(node, threading.Condition(self._lock))
                self._lanes[id(node)] = lane
                worker = threading.Thread(
                    target=self._run, args=(lane,), name=f"{self._name}-{what}", daemon=True
                )
                self._threads = [t for t in self._threads if t.is_alive()]
                self._threads.append(worker)
                worker.start()
            lane.calls.append(_Call(what, call, done))
            lane.wake.notify()
        return done

    def wait_idle(self, timeout_s: float) -> bool:
        """True once every call submitted before this one has finished."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout_s)

    def close(self, timeout_s: float = 5.0) -> None:
        """Refuse new calls, let the queued ones run, and wait (bounded) for the lanes."""
        with self._lock:
            self._closed = True
            for lane in self._lanes.values():
                lane.wake.notify()
            threads = list(self._threads)
        deadline = (
            time.monotonic() + timeout_s
        )  # one bound for all: a hung node's lane may never end
        for thread in threads:
            thread.join(max(deadline - time.monotonic(), 0.0))

    def _run(self, lane: _Lane) -> None:
        while True:
            with self._lock:
                if not lane.calls and not self._closed:
                    lane.wake.wait(self._lane_idle_s)
                if not lane.calls:
                    del self._lanes[
                        id(lane.node)
                    ]  # idle or closing: a later call starts a new lane
                    return
                item = lane.calls.popleft()
            try:
                item.call()
            except errors.ElanusError as exc:  # a node down or refusing: expected
                log.warning(
                    "node call failed",
                    extra={"call": item.what, "reason": f"{type(exc).__name__}: {exc}"},
                )
                item.done.set_exception(exc)
            except Exception as exc:  # a bug: its traceback is wanted
                log.exception("node call failed unexpectedly", extra={"call": item.what})
                item.done.set_exception(exc)
            else:
                item.done.set_result(None)
            finally:
                with self._lock:
                    self._pending -= 1
                    if self._pending == 0:
                        self._idle.notify_all()
