"""A node's or proxy's line to whichever coordinator is active.

The active coordinator is named by the leader key (:mod:`elanus.cluster.election`)
once it serves. :class:`CoordinatorLink` implements the
:class:`elanus.services.CoordinatorApi` calls by delegating to a gRPC client
for that address, and swaps the client when the key changes: a watch follows
the key, and a call that finds its coordinator unreachable reads it again.

While no coordinator serves (a standby is taking over: one lease TTL plus its
start), a call waits, bounded by ``failover_wait_s``. A call that failed in
transport is sent again only when that cannot apply it twice:

- calls in :data:`RETRY_SAFE` repeat harmlessly (reads; allocations, where a
  lost range is only a gap; time-tick reports, which stay true; node reports
  keyed by id or monotonic; loads, releases, index drops, database drops and
  alias creates and drops, idempotent in Milvus too);
- any other call (CreateCollection, DropCollection, RenameCollection,
  TruncateCollection, CreateDatabase, the alters,
  partitions, CreateIndex, ManualCompaction) is sent again only if gRPC could
  not connect at all, so the request never left; otherwise its
  ServiceUnavailable reaches the client, which knows whether to retry.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from elanus import errors
from elanus.cluster.election import COORDINATOR_LEADER_KEY, Leader, read_leader
from elanus.kv import MetaKV, Watch

log = logging.getLogger(__name__)

DEFAULT_FAILOVER_WAIT_S = 30.0
_RESOLVE_POLL_S = 0.2
_RESYNC_EVERY_S = 10.0  # a watch that silently missed an event is corrected this often
_WATCH_POLL_S = 0.5
_BACKOFF_S = (0.1, 0.2, 0.5, 1.0)
_MAX_ATTEMPTS = 200
_RETIRED_KEPT = 4
# gRPC's words when no connection could be made: the request was never sent.
_NOT_CONNECTED = ("failed to connect to all addresses", "Connection refused")

RETRY_SAFE = frozenset(
    {
        # allocations: a range lost with a failed answer is only a gap
        "alloc_timestamp",
        "alloc_ids",
        "assign_segment",
        # time ticks: registering twice and stale reports are harmless. Not
        # unregister_proxy: it runs as a proxy stops, and when no coordinator answers
        # at once the proxy's session ending tells the next one; waiting for a
        # failover there only kept a stopping proxy alive for a minute.
        "register_proxy",
        "report_safe_ts",
        "request_tick",
        # reads
        "describe_collection",
        "list_collections",
        "collection_statistics",
        "flush_state",
        "compaction_state",
        "channel_snapshot",
        "describe_indexes",
        "load_progress",
        "shard_leaders",
        "list_databases",
        "describe_database",
        "describe_alias",
        "list_aliases",
        # idempotent requests (as in Milvus: a second flush/load/release/drop succeeds)
        "flush",
        "load_collection",
        "release_collection",
        "release_partitions",
        "drop_index",
        # idempotent too: dropping what is gone succeeds, and an alias made again for
        # its collection changes nothing (not the alters: a repeat could undo a newer one)
        "drop_database",
        "create_alias",
        "drop_alias",
        # node reports: keyed by segment/log id, or monotonic
        "segment_flushed",
        "add_delta_log",
        "update_checkpoint",
        "channel_flushed",
        "index_built",
        "index_failed",
    }
)


def never_sent(error: errors.ElanusError) -> bool:
    """Whether a transport error says the request never reached a server."""
    text = str(error)
    return any(words in text for words in _NOT_CONNECTED)


class CoordinatorLink:
    """:class:`elanus.services.CoordinatorApi` that follows the active coordinator.

    ``connect(address)`` makes the client for one coordinator (a
    CoordinatorGrpcClient). Any method of that client can be called here;
    see the module docstring for which ones are retried across a takeover.
    """

    def __init__(
        self,
        kv: MetaKV,
        connect: Callable[[str], Any],
        failover_wait_s: float = DEFAULT_FAILOVER_WAIT_S,
        key: str = COORDINATOR_LEADER_KEY,
    ) -> None:
        self._kv = kv
        self._connect = connect
        self._failover_wait_s = failover_wait_s
        self._key = key
        self._changed = threading.Condition()
        self._address = ""
        self._client: Any = None
        self._leader: Leader | None = None  # whom _client reaches
        self._client_type: type | None = None  # what connect() makes: its methods are ours
        self._retired: list[Any] = []  # replaced clients; a call may still be using them
        self._stopping = threading.Event()
        self._watcher: threading.Thread | None = None

    @property
    def address(self) -> str:
        """The active coordinator's address as last seen ("" while none serves)."""
        return self._address

    def start(self, wait_s: float) -> CoordinatorLink:
        """Find the active coordinator (TimeoutError if none serves within ``wait_s``),
        then follow the leader key in the background."""
        deadline = time.monotonic() + wait_s
        while not self._resolve():
            if time.monotonic() >= deadline:
                raise TimeoutError(f"no coordinator became active within {wait_s:.0f}s")
            time.sleep(_RESOLVE_POLL_S)
        self._watcher = threading.Thread(target=self._follow, name="coordinator-link", daemon=True)
        self._watcher.start()
        return self

    def close(self) -> None:
        self._stopping.set()
        if self._watcher is not None and self._watcher.is_alive():
            self._watcher.join(_WATCH_POLL_S * 4)
        with self._changed:
            clients = [*self._retired, self._client]
            self._client, self._retired = None, []
            self._changed.notify_all()
        for client in clients:
            if client is not None:
                with contextlib.suppress(Exception):
                    client.close()

    def __getattr__(self, method: str) -> Callable[..., Any]:
        if method.startswith("_"):
            raise AttributeError(method)
        known = self._client_type
        if known is not None and not hasattr(known, method):
            raise AttributeError(method)

        def call(*args: Any, **kwargs: Any) -> Any:
            return self._invoke(method, args, kwargs)

        call.__name__ = method
        return call

    # --- calls

    def _invoke(self, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        retry_safe = method in RETRY_SAFE
        deadline = time.monotonic() + self._failover_wait_s
        for attempt in range(_MAX_ATTEMPTS):
            client = self._active_client(method, deadline)
            try:
                return getattr(client, method)(*args, **kwargs)
            except errors.ServiceUnavailable as error:
                self._recheck_leader()
                if not (retry_safe or never_sent(error)) or time.monotonic() >= deadline:
                    raise
                log.log(
                    logging.INFO if attempt == 0 else logging.DEBUG,
                    "coordinator unreachable, retrying",
                    extra={"method": method, "attempt": attempt + 1, "error": str(error)[:200]},
                )
            pause = _BACKOFF_S[min(attempt, len(_BACKOFF_S) - 1)]
            self._stopping.wait(min(pause, max(deadline - time.monotonic(), 0.0)))
        raise errors.ServiceUnavailable(
            f"{method}: no coordinator answered in {_MAX_ATTEMPTS} tries"
        )

    def _active_client(self, method: str, deadline: float) -> Any:
        """The current coordinator's client, waiting (until ``deadline``) while none serves."""
        while True:
            with self._changed:
                if self._client is not None:
                    return self._client
                if self._stopping.is_set():
                    raise errors.ServiceUnavailable(f"{method}: the coordinator link is closed")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise errors.ServiceUnavailable(
                        f"{method}: no coordinator is active (waited {self._failover_wait_s:.0f}s "
                        "for a standby to take over)"
                    )
                self._changed.wait(min(left, _RESOLVE_POLL_S))
            self._resolve()

    def _recheck_leader(self) -> None:
        """A call failed in transport: read the leader key again now. The client stays
        while the key still names its coordinator (gRPC reconnects by itself)."""
        self._resolve()

    # --- following the leader key

    def _resolve(self) -> bool:
        """Read the leader key and point at the coordinator it names; whether one serves."""
        try:
            leader = read_leader(self._kv, self._key)
        except Exception as error:  # the KV unreachable: keep what we have
            log.warning("cannot read the coordinator leader", extra={"error": str(error)})
            return self._client is not None
        self._point_at(leader if leader is not None and leader.serving else None)
        return self._client is not None

    def _point_at(self, leader: Leader | None) -> None:
        """Swap the client when another coordinator (or another process of it) leads;
        drop it while none serves, so calls wait instead of knocking on a dead one."""
        with self._changed:
            if leader == self._leader:
                return
            self._retire_locked()
            self._leader = leader
            if leader is not None:
                self._client = self._connect(leader.address)
                self._client_type = type(self._client)
                self._address = leader.address
                log.info(
                    "following the active coordinator",
                    extra={"node": leader.node_id, "address": leader.address, "pid": leader.pid},
                )
            self._changed.notify_all()

    def _retire_locked(self) -> None:
        """Put the current client aside; close the oldest retired ones (any call on them
        has long ended: a takeover takes seconds, and only a few are kept)."""
        if self._client is not None:
            self._retired.append(self._client)
        self._client, self._address, self._leader = None, "", None
        while len(self._retired) > _RETIRED_KEPT:
            with contextlib.suppress(Exception):
                self._retired.pop(0).close()

    def _follow(self) -> None:
        watch: Watch | None = None
        last_sync = time.monotonic()
        while not self._stopping.is_set():
            try:
                if watch is None:
                    watch = self._kv.watch_prefix(self._key)
                    self._resolve()
                    last_sync = time.monotonic()
                events = watch.events(_WATCH_POLL_S)
                if any(event.key == self._key for event in events) or (
                    time.monotonic() - last_sync > _RESYNC_EVERY_S
                ):
                    self._resolve()
                    last_sync = time.monotonic()
            except Exception as error:
                log.warning("leader watch failed, reopening", extra={"error": str(error)})
                if watch is not None:
                    with contextlib.suppress(Exception):
                        watch.cancel()
                watch = None
                self._stopping.wait(1.0)
        if watch is not None:
            with contextlib.suppress(Exception):
                watch.cancel()
