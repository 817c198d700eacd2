"""Leader election on the metadata KV: one active coordinator, the others standing by.

The leader is whoever holds one key (``cluster/coordinator-leader``), written
under its own lease with a compare "the key does not exist". A candidate that
finds the key taken waits, watching it, and tries again when it goes; the
leader refreshes its lease in the background. When the leader dies the lease
runs out (one TTL), the key vanishes and the next candidate's put wins.

A leader whose lease is gone (it was paused, or cut off from etcd for longer
than the TTL) may already have been replaced, so :class:`LeaderElection`
reports that through ``on_lost`` and the process must stop serving: two active
coordinators would hand out the same timestamps and ids. An etcd that is merely
unreachable (restarting) is ridden out up to ``MAX_UNREACHABLE_S``: etcd keeps
leases across a restart, so the first refresh after it tells which case it was.

Each win also writes a term key (``terms/{key}``, no lease) in the same
transaction. The leader's writes to the KV are guarded by "the term key is as I
wrote it" (:meth:`LeaderElection.fence`, applied by
:class:`elanus.kv.fenced.FencedKV`): once a successor has won, a paused old
leader's late writes fail instead of landing.

The key's value is a :class:`Leader` (JSON): which node leads, from which
process, at which address, and whether it serves yet. Followers read it to
reach the active coordinator (:mod:`elanus.cluster.coordinator_link`).
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

from elanus.cluster.sessions import MAX_UNREACHABLE_S
from elanus.kv import Compare, MetaKV, Put, Watch

log = logging.getLogger(__name__)

COORDINATOR_LEADER_KEY = "cluster/coordinator-leader"
TERMS_PREFIX = "terms/"
DEFAULT_TTL_S = 5.0
_WAIT_POLL_S = 0.5  # a waiting candidate re-reads the key at least this often
_STOP_CHECK_S = 0.2


@dataclass(frozen=True)
class Leader:
    """What the leader key says about the leader."""

    node_id: int
    address: str = ""  # host:port of its gRPC server; "" until known
    serving: bool = False  # True once its server answers (followers may call it)
    pid: int = field(default_factory=os.getpid)

    def to_bytes(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True).encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> Leader:
        data = json.loads(raw)
        return cls(
            node_id=int(data["node_id"]),
            address=str(data.get("address", "")),
            serving=bool(data.get("serving", False)),
            pid=int(data.get("pid", 0)),
        )


def read_leader(kv: MetaKV, key: str = COORDINATOR_LEADER_KEY) -> Leader | None:
    """The current leader, or None when nobody leads (or the value is unreadable)."""
    item = kv.get(key)
    if item is None:
        return None
    try:
        return Leader.from_bytes(item.value)
    except (ValueError, KeyError, TypeError):
        log.warning("ignoring a malformed leader key", extra={"key": key})
        return None


class LeaderElection:
    """One candidate for one leader key.

    :meth:`campaign` blocks until this candidate leads or is told to stop;
    while it leads, a thread refreshes the lease and calls ``on_lost`` (once,
    from that thread) if the lease is gone or cannot be refreshed within one
    TTL. :meth:`resign` gives the leadership up at once (the key goes, a
    standby takes over without waiting for the TTL).
    """

    def __init__(
        self,
        kv: MetaKV,
        leader: Leader,
        ttl_s: float = DEFAULT_TTL_S,
        on_lost: Callable[[], None] | None = None,
        key: str = COORDINATOR_LEADER_KEY,
        max_unreachable_s: float = MAX_UNREACHABLE_S,
    ) -> None:
        self.key = key
        self._kv = kv
        self._leader = leader
        self._ttl_s = ttl_s
        self._on_lost = on_lost
        self._max_unreachable_s = max(max_unreachable_s, ttl_s)
        self._lease: int | None = None
        self._revision = 0  # of our last write of the key
        self._term_revision = 0  # of the term key, written when this candidate won
        self._lock = threading.Lock()
        self._resigned = threading.Event()
        self._refresher: threading.Thread | None = None

    @property
    def is_leader(self) -> bool:
        return self._lease is not None and not self._resigned.is_set()

    def campaign(self, stop: threading.Event | None = None, timeout_s: float | None = None) -> bool:
        """Block until this candidate leads (True), ``stop`` is set or ``timeout_s`` passes
        (False). Logs once that it waits, and whom for."""
        if self.is_leader:
            return True
        stop = stop or threading.Event()
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        watch: Watch | None = None
        announced: Leader | None = None
        try:
            while not stop.is_set():
                if watch is None:
                    watch = self._open_watch()
                if self._try_acquire():
                    self._start_refreshing()
                    log.info("won the leadership", extra={"key": self.key})
                    return True
                current = self._current_leader()
                if current is not None and current != announced:
                    log.info(
                        "standing by: another candidate leads",
                        extra={"key": self.key, "leader": current.node_id, "pid": current.pid},
                    )
                    announced = current
                if deadline is not None and time.monotonic() >= deadline:
                    return False
                watch = self._wait_for_change(watch, stop, deadline)
            return False
        finally:
            if watch is not None:
                with contextlib.suppress(Exception):
                    watch.cancel()

    @property
    def term_key(self) -> str:
        # Not under the leader key's prefix: watchers of that prefix see leaders only.
        return f"{TERMS_PREFIX}{self.key}"

    def fence(self) -> Compare:
        """The guard of this leader's writes: false once anyone else has won since."""
        with self._lock:
            if self._term_revision == 0:
                raise RuntimeError("fence() before this candidate won")
            return Compare(self.term_key, self._term_revision)

    def update(self, leader: Leader) -> bool:
        """Rewrite the key's value (e.g. the address once serving); False if no longer ours."""
        with self._lock:
            if self._lease is None:
                return False
            put = Put(self.key, leader.to_bytes(), lease=self._lease)
            try:
                if not self._kv.txn([Compare(self.key, self._revision)], [put]):
                    return False
            except LookupError:
                return False
            item = self._kv.get(self.key)
            self._revision = item.revision if item is not None else 0
            self._leader = leader
            return True

    def resign(self) -> None:
        """Stop refreshing and revoke the lease, so the key goes now."""
        self._resigned.set()
        if self._refresher is not None and self._refresher.is_alive():
            self._refresher.join(self._ttl_s)
        with self._lock:
            lease, self._lease = self._lease, None
        if lease is not None:
            try:
                self._kv.revoke_lease(lease)
                log.info("resigned the leadership", extra={"key": self.key})
            except Exception:
                log.warning("could not revoke the leader lease", exc_info=True)

    # --- internals

    def _current_leader(self) -> Leader | None:
        try:
            return read_leader(self._kv, self.key)
        except Exception as error:  # the KV unreachable: a standby keeps waiting
            log.warning("cannot read the leader key", extra={"error": str(error)})
            return None

    def _open_watch(self) -> Watch | None:
        try:
            return self._kv.watch_prefix(self.key)
        except Exception as error:  # the KV is unreachable: fall back to polling
            log.warning("cannot watch the leader key", extra={"error": str(error)})
            return None

    def _try_acquire(self) -> bool:
        """One attempt: a fresh lease, and a put that holds only if nobody leads."""
        try:
            lease = self._kv.grant_lease(self._ttl_s)
        except Exception as error:
            log.warning("cannot grant a lease to campaign", extra={"error": str(error)})
            return False
        put = Put(self.key, self._leader.to_bytes(), lease=lease)
        term = Put(self.term_key, str(self._leader.node_id).encode())
        try:
            won = self._kv.txn([Compare(self.key, 0)], [put, term])
        except Exception as error:
            log.warning("campaign attempt failed", extra={"error": str(error)})
            won = False
        if not won:
            with contextlib.suppress(Exception):
                self._kv.revoke_lease(lease)
            return False
        try:
            item = self._kv.get(self.key)  # our revision: the refresher checks it stays ours
            term_item = self._kv.get(self.term_key)
        except Exception as error:
            log.warning("cannot read the won key back", extra={"error": str(error)})
            with contextlib.suppress(Exception):
                self._kv.revoke_lease(lease)
            return False
        with self._lock:
            self._lease = lease
            self._revision = item.revision if item is not None else 0
            self._term_revision = term_item.revision if term_item is not None else 0
        return True

    def _wait_for_change(
        self, watch: Watch | None, stop: threading.Event, deadline: float | None
    ) -> Watch | None:
        """Wait until the key changes, ``_WAIT_POLL_S`` passes, or ``stop``/``deadline``.

        Returns the watch to keep using (None after it failed: the next round reopens it).
        """
        until = time.monotonic() + _WAIT_POLL_S
        if deadline is not None:
            until = min(until, deadline)
        while not stop.is_set():
            left = until - time.monotonic()
            if left <= 0:
                return watch
            if watch is None:
                stop.wait(min(left, _STOP_CHECK_S))
                continue
            try:
                events = watch.events(min(left, _STOP_CHECK_S))
            except Exception:
                with contextlib.suppress(Exception):
                    watch.cancel()
                return None
            if any(event.key == self.key and event.kind == "delete" for event in events):
                return watch
        return watch

    def _start_refreshing(self) -> None:
        self._resigned.clear()
        self._refresher = threading.Thread(
            target=self._refresh_loop, name="leader-lease", daemon=True
        )
        self._refresher.start()

    def _refresh_loop(self) -> None:
        interval = max(self._ttl_s / 3.0, 0.1)
        last_refresh = time.monotonic()
        while not self._resigned.wait(interval):
            with self._lock:
                lease = self._lease
            if lease is None:
                return
            try:
                self._kv.refresh_lease(lease)
                if self._still_ours():
                    last_refresh = time.monotonic()
                    continue
                reason = "the leader key no longer names this candidate"
            except LookupError:
                reason = "the lease expired"
            except RuntimeError:
                return  # the KV was closed: this process is stopping
            except Exception as error:
                # The KV unreachable. A restarted etcd keeps (and renews) leases, so
                # the leadership may well survive: keep trying. Nobody else can win
                # while the key lives; once it is gone, the next refresh says so.
                unreachable_s = time.monotonic() - last_refresh
                if unreachable_s < self._max_unreachable_s:
                    if unreachable_s >= self._ttl_s:
                        log.warning(
                            "leader lease refresh failed, retrying",
                            extra={"unreachable_s": round(unreachable_s, 1), "error": str(error)},
                        )
                    continue
                reason = f"the KV was unreachable for {unreachable_s:.0f}s ({error})"
            if self._resigned.is_set():
                return
            log.error("leadership lost", extra={"key": self.key, "why": reason})
            with self._lock:
                self._lease = None
            if self._on_lost is not None:
                self._on_lost()
            return

    def _still_ours(self) -> bool:
        with self._lock:  # update() rewrites the key and its revision together
            item = self._kv.get(self.key)
            return item is not None and item.revision == self._revision
