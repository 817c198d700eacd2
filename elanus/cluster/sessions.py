"""Sessions: how the roles of a cluster find each other through the metadata KV.

Every running role holds one key, ``sessions/{role}/{node_id}``, written under a
lease that it refreshes in the background. The key says where the role's gRPC
server listens. When the process dies the lease runs out and the key vanishes,
so a :class:`SessionWatcher` turns the keys under ``sessions/{role}/`` into
``on_join`` and ``on_leave`` calls: the coordinator learns which nodes exist,
proxies learn which querynodes they can ask.

A role whose lease has expired while it was still running (it was paused, or
cut off from etcd for longer than the TTL) has already been replaced; its
:class:`SessionKeeper` reports that through ``on_lost`` so that the process can
stop instead of competing with its replacement. An etcd it merely cannot reach
is not that: a restarted etcd keeps its leases, so the keeper goes on trying
(``alive`` is false meanwhile, which fences a proxy's writes) and gives up only
when etcd says the lease is gone, or after ``MAX_UNREACHABLE_S``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from elanus.kv import Compare, MetaKV, Put, Watch, WatchEvent

log = logging.getLogger(__name__)

SESSIONS_PREFIX = "sessions/"
NODE_ID_COUNTER_KEY = "cluster/next-node-id"
ROLES = ("coordinator", "proxy", "datanode", "querynode", "indexnode")
DEFAULT_TTL_S = 5.0
# How long a role rides out an etcd it cannot reach before it gives its session up.
MAX_UNREACHABLE_S = 300.0
_ID_ATTEMPTS = 100
_WATCH_POLL_S = 0.2
_RESYNC_BACKOFF_S = 1.0


def session_prefix(role: str) -> str:
    return f"{SESSIONS_PREFIX}{role}/"


def session_key(role: str, node_id: int) -> str:
    return f"{session_prefix(role)}{node_id}"


@dataclass(frozen=True)
class Session:
    """What a role tells the others about itself."""

    role: str
    node_id: int
    address: str  # host:port of its gRPC server
    pid: int = field(default_factory=os.getpid)
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return session_key(self.role, self.node_id)

    def to_bytes(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True).encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> Session:
        data = json.loads(raw)
        return cls(
            role=str(data["role"]),
            node_id=int(data["node_id"]),
            address=str(data["address"]),
            pid=int(data.get("pid", 0)),
            extra={str(k): str(v) for k, v in (data.get("extra") or {}).items()},
        )


def allocate_node_id(kv: MetaKV) -> int:
    """A node id no other process of this cluster was ever given (a counter in the KV)."""
    for _ in range(_ID_ATTEMPTS):
        current = kv.get(NODE_ID_COUNTER_KEY)
        next_id = int(current.value) if current is not None else 1
        guard = Compare(NODE_ID_COUNTER_KEY, current.revision if current is not None else 0)
        if kv.txn([guard], [Put(NODE_ID_COUNTER_KEY, str(next_id + 1).encode())]):
            return next_id
    raise RuntimeError(f"could not allocate a node id in {_ID_ATTEMPTS} attempts (contention)")


def list_sessions(kv: MetaKV, role: str) -> list[Session]:
    return [Session.from_bytes(item.value) for item in kv.get_prefix(session_prefix(role))]


def wait_for_session(kv: MetaKV, role: str, timeout_s: float) -> Session:
    """The first live session of ``role``, waiting at most ``timeout_s`` for one to appear."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = list_sessions(kv, role)
        if found:
            return found[0]
        if time.monotonic() >= deadline:
            raise TimeoutError(f"no {role} registered a session within {timeout_s:.0f}s")
        time.sleep(0.2)


class SessionKeeper:
    """Holds one session key alive under a lease until :meth:`stop`."""

    def __init__(
        self,
        kv: MetaKV,
        session: Session,
        ttl_s: float = DEFAULT_TTL_S,
        on_lost: Callable[[], None] | None = None,
        max_unreachable_s: float = MAX_UNREACHABLE_S,
    ) -> None:
        self.session = session
        self._kv = kv
        self._ttl_s = ttl_s
        self._on_lost = on_lost
        self._max_unreachable_s = max(max_unreachable_s, ttl_s)
        self._warned_at = 0.0
        self._lease: int | None = None
        # The lease surely lives until then: one TTL after the last grant or refresh
        # was *sent* (etcd counts from when it received it, later).
        self._valid_until = 0.0
        self._lost = False
        self._stopping = threading.Event()
        self._thread = threading.Thread(
            target=self._refresh_loop, name=f"session-{session.role}", daemon=True
        )

    @property
    def alive(self) -> bool:
        """Whether the session surely still holds: not lost, and the lease cannot have
        run out yet even if the next refresh fails. A write acknowledged while this
        is true was counted by the coordinator's time ticks."""
        return not self._lost and time.monotonic() < self._valid_until

    def start(self, wait_s: float | None = None) -> None:
        """Write the key; if another process holds it, wait (bounded) for its lease to end.

        The default wait is a little over one TTL: long enough for the key of a
        killed predecessor with the same node id to expire, never forever.
        """
        wait_s = self._ttl_s + 3.0 if wait_s is None else wait_s
        deadline = time.monotonic() + wait_s
        while True:
            sent = time.monotonic()
            lease = self._kv.grant_lease(self._ttl_s)
            put = Put(self.session.key, self.session.to_bytes(), lease=lease)
            if self._kv.txn([Compare(self.session.key, 0)], [put]):
                self._lease = lease
                self._valid_until = sent + self._ttl_s
                break
            self._kv.revoke_lease(lease)
            if time.monotonic() >= deadline:
                raise RuntimeError(
                    f"{self.session.role} node id {self.session.node_id} is in use by another "
                    f"process (session key {self.session.key} did not expire in {wait_s:.0f}s)"
                )
            time.sleep(0.5)
        self._thread.start()
        log.info(
            "session registered",
            extra={"role": self.session.role, "node": self.session.node_id},
        )

    def stop(self) -> None:
        """Revoke the lease: the key goes now, so others react at once, not after the TTL."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(self._ttl_s)
        if self._lease is not None:
            try:
                self._kv.revoke_lease(self._lease)
            except Exception:
                log.warning("could not revoke the session lease", exc_info=True)
            self._lease = None

    def _refresh_loop(self) -> None:
        assert self._lease is not None
        interval = max(self._ttl_s / 3.0, 0.2)
        last_refresh = time.monotonic()
        while not self._stopping.wait(interval):
            try:
                sent = time.monotonic()
                self._kv.refresh_lease(self._lease)
                last_refresh = time.monotonic()
                self._valid_until = sent + self._ttl_s
                self._warned_at = 0.0
                continue
            except LookupError:
                reason = "the lease expired"
            except RuntimeError:
                return  # the KV was closed: this process is stopping
            except Exception as error:
                # etcd unreachable. Keep trying: a restarted etcd keeps its leases (and
                # renews them), so the session may well survive the outage; meanwhile
                # ``alive`` is false once a TTL has passed, which fences this role's
                # writes. Only etcd saying the lease is gone ends the session, or an
                # outage so long that the node is surely replaced.
                unreachable_s = time.monotonic() - last_refresh
                if unreachable_s < self._max_unreachable_s:
                    self._warn_unreachable(error, unreachable_s)
                    continue
                reason = f"etcd unreachable for {unreachable_s:.0f}s ({error})"
            self._lost = True
            log.error(
                "session lost",
                extra={"role": self.session.role, "node": self.session.node_id, "why": reason},
            )
            if self._on_lost is not None:
                self._on_lost()
            return

    def _warn_unreachable(self, error: Exception, unreachable_s: float) -> None:
        """One warning per TTL while etcd is unreachable, not one per refresh attempt."""
        now = time.monotonic()
        if now - self._warned_at >= self._ttl_s:
            self._warned_at = now
            log.warning(
                "session refresh failed, retrying",
                extra={
                    "role": self.session.role,
                    "node": self.session.node_id,
                    "unreachable_s": round(unreachable_s, 1),
                    "error": str(error),
                },
            )


class SessionWatcher:
    """Calls ``on_join(session)`` and ``on_leave(session)`` as sessions of one role come and go.

    Callbacks run on the watcher's thread (the first ones inside :meth:`start`),
    one at a time and in the order of the KV's revisions. A session that comes
    back under the same key with a different value is reported as a leave and a
    join. A callback that raises is logged; the watcher goes on.
    """

    def __init__(
        self,
        kv: MetaKV,
        role: str,
        on_join: Callable[[Session], None],
        on_leave: Callable[[Session], None],
    ) -> None:
        self.role = role
        self._kv = kv
        self._prefix = session_prefix(role)
        self._on_join = on_join
        self._on_leave = on_leave
        self._known: dict[str, tuple[int, Session]] = {}  # key -> (revision, session)
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def sessions(self) -> list[Session]:
        return [session for _, session in self._known.values()]

    def start(self) -> None:
        """Report the sessions that exist now, then follow changes in the background."""
        watch = self._sync()
        self._thread = threading.Thread(
            target=self._run, args=(watch,), name=f"watch-{self.role}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None and self._thread.is_alive():
            self._thread.join(5.0)

    def _sync(self) -> Watch:
        """Open a watch, then read a snapshot and reconcile it with what was known.

        The watch is opened first so that nothing between the two is missed;
        events the snapshot already covers are skipped by revision.
        """
        watch = self._kv.watch_prefix(self._prefix)
        snapshot = {item.key: item for item in self._kv.get_prefix(self._prefix)}
        for key in [k for k in self._known if k not in snapshot]:
            _, gone = self._known.pop(key)
            self._call(self._on_leave, gone)
        for key, item in snapshot.items():
            self._apply(WatchEvent("put", key, item.value, item.revision))
        return watch

    def _run(self, watch: Watch | None) -> None:
        while not self._stopping.is_set():
            try:
                if watch is None:
                    watch = self._sync()
                for event in watch.events(_WATCH_POLL_S):
                    self._apply(event)
            except Exception as error:
                log.warning(
                    "session watch failed, resyncing",
                    extra={"role": self.role, "error": str(error)},
                )
                if watch is not None:
                    with contextlib.suppress(Exception):
                        watch.cancel()
                watch = None
                self._stopping.wait(_RESYNC_BACKOFF_S)
        if watch is not None:
            watch.cancel()

    def _apply(self, event: WatchEvent) -> None:
        known = self._known.get(event.key)
        if known is not None and event.revision <= known[0]:
            return  # the snapshot already had this, or something newer
        if event.kind == "delete":
            if known is not None:
                del self._known[event.key]
                self._call(self._on_leave, known[1])
            return
        try:
            session = Session.from_bytes(event.value)
        except (ValueError, KeyError, TypeError):
            log.warning("ignoring a malformed session", extra={"key": event.key})
            return
        self._known[event.key] = (event.revision, session)
        if known is not None:
            if known[1] == session:
                return
            self._call(self._on_leave, known[1])
        self._call(self._on_join, session)

    def _call(self, callback: Callable[[Session], None], session: Session) -> None:
        try:
            callback(session)
        except Exception:
            log.exception(
                "session callback failed", extra={"role": session.role, "node": session.node_id}
            )
