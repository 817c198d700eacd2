"""The embedded metadata KV: etcd's model (revisions, txn, watch, lease) in one SQLite file.

Why this shape: roles are written against etcd semantics, so the embedded store
keeps them exactly where it is cheap to. There is one global revision counter;
every write that changes something (a put, a delete that found keys, a
successful txn with effects, a lease expiry that removed keys) commits as one
SQLite transaction (WAL, ``synchronous=FULL``) and bumps it by one, and every
key records the revision of its last change. Writes that change nothing do not
bump it. The counter starts at 0, so the first write gets revision 1.

Watches read an event table holding the last ``history_revisions`` revisions;
older history is discarded ("compacted") and a watch that needs it raises
:class:`RevisionCompacted`, as an etcd watch on a compacted revision fails.

Lease deadlines are wall-clock times (``time.time()``) stored in the file, so a
lease keeps its deadline across a restart, and a lease that expired while the
store was closed is reaped on open. Expiry runs on a daemon thread every
``expiry_interval_s`` and, lazily, before every operation, so no read ever
returns a key whose lease has passed its deadline.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from elanus.kv import (
    Compare,
    Delete,
    KeyValue,
    MetaKV,
    Put,
    RevisionCompacted,
    Watch,
    WatchEvent,
)

__all__ = ["EmbeddedKV", "EmbeddedWatch", "RevisionCompacted"]

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO counters VALUES ('revision', 0), ('compacted', 0);
CREATE TABLE IF NOT EXISTS kv (
    key TEXT PRIMARY KEY,
    value BLOB NOT NULL,
    revision INTEGER NOT NULL,
    lease INTEGER
);
CREATE INDEX IF NOT EXISTS kv_by_lease ON kv (lease) WHERE lease IS NOT NULL;
CREATE TABLE IF NOT EXISTS events (
    revision INTEGER NOT NULL,
    seq INTEGER NOT NULL,          -- order of the event within its revision
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    value BLOB NOT NULL,
    PRIMARY KEY (revision, seq)
);
CREATE TABLE IF NOT EXISTS leases (
    id INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused, even across restarts
    ttl_s REAL NOT NULL,
    deadline REAL NOT NULL                 -- wall-clock seconds since the epoch
);
CREATE INDEX IF NOT EXISTS leases_by_deadline ON leases (deadline);
"""

_LAST_SEQ = 1 << 62  # a cursor (revision, _LAST_SEQ) is past every event of that revision
_WATCH_BATCH = 1000


@dataclass(frozen=True)
class _Outcome:
    applied: bool  # every compare held
    deleted: int  # keys the operations deleted
    revision: int  # the store revision after the transaction (when applied)


def _prefix_range(prefix: str) -> tuple[str, list[str]]:
    """An index-friendly SQL condition on ``key`` for "starts with ``prefix``".

    SQLite compares TEXT by UTF-8 bytes, which orders like code points, so the
    keys starting with ``prefix`` are exactly those in [prefix, successor).
    """
    stem = prefix.rstrip(chr(0x10FFFF))
    if not stem:
        return ("key >= ?", [prefix])
    following = ord(stem[-1]) + 1
    if 0xD800 <= following <= 0xDFFF:  # surrogates cannot be stored; skip past them
        following = 0xE000
    return ("key >= ? AND key < ?", [prefix, stem[:-1] + chr(following)])


class EmbeddedKV(MetaKV):
    """A :class:`MetaKV` in one SQLite file; safe for many threads of one process.

    Several processes may open the same file (SQLite serialises writers); a
    watch then sees the other process's writes within ``poll_interval_s``.
    """

    def __init__(
        self,
        path: Path,
        *,
        history_revisions: int = 10_000,
        poll_interval_s: float = 0.1,
        expiry_interval_s: float = 0.05,
        busy_timeout_s: float = 30.0,
    ) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.history_revisions = history_revisions
        self.poll_interval_s = poll_interval_s
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._conn.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.executescript(_SCHEMA)
        self._lock = threading.Lock()  # guards the connection
        self._changed = threading.Condition(self._lock)  # notified after every write
        self._closed = False
        self._stop = threading.Event()
        with self._lock:
            self._expire_due()
        self._expirer = threading.Thread(
            target=self._expire_loop, args=(expiry_interval_s,), name="kv-lease-expiry", daemon=True
        )
        self._expirer.start()

    # -- reads ---------------------------------------------------------------

    def revision(self) -> int:
        """The store's current revision (0 before the first write)."""
        with self._lock:
            self._check_open()
            return self._counter("revision")

    def get(self, key: str) -> KeyValue | None:
        with self._lock:
            self._expire_due()
            row = self._conn.execute(
                "SELECT value, revision FROM kv WHERE key = ?", (key,)
            ).fetchone()
        return None if row is None else KeyValue(key, row[0], row[1])

    def get_prefix(self, prefix: str) -> list[KeyValue]:
        """All keys starting with ``prefix`` (every key for ``""``), sorted by key."""
        condition, params = _prefix_range(prefix)
        with self._lock:
            self._expire_due()
            rows = self._conn.execute(
                f"SELECT key, value, revision FROM kv WHERE {condition} ORDER BY key", params
            ).fetchall()
        return [KeyValue(*row) for row in rows]

    # -- writes --------------------------------------------------------------

    def put(self, key: str, value: bytes, lease: int | None = None) -> int:
        """Write one key; returns the new store revision. LookupError if ``lease`` is gone."""
        with self._lock:
            self._expire_due()
            return self._transaction([], [Put(key, value, lease)]).revision

    def delete(self, key: str, prefix: bool = False) -> int:
        """Delete ``key`` (or every key starting with it); returns how many were deleted.

        Deleting nothing is not an error and leaves the revision unchanged.
        """
        with self._lock:
            self._expire_due()
            return self._transaction([], [Delete(key, prefix)]).deleted

    def txn(self, compares: Sequence[Compare], success: Sequence[Put | Delete]) -> bool:
        """If every compare holds, apply ``success`` in order as one revision; else change nothing.

        ``Compare(key, r)`` holds when the key's last modification was at revision
        ``r``; ``r == 0`` means the key must be absent. A put under a missing lease
        raises LookupError and applies nothing.
        """
        with self._lock:
            self._expire_due()
            return self._transaction(compares, success).applied

    def _transaction(
        self, compares: Sequence[Compare], operations: Sequence[Put | Delete]
    ) -> _Outcome:
        """Check ``compares`` and apply ``operations`` in one SQLite transaction; lock held."""
        self._check_open()
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            for compare in compares:
                row = conn.execute("SELECT revision FROM kv WHERE key = ?", (compare.key,))
                current = row.fetchone()
                if (0 if current is None else current[0]) != compare.revision:
                    conn.execute("ROLLBACK")
                    return _Outcome(applied=False, deleted=0, revision=0)
            revision = self._counter("revision") + 1
            events: list[tuple[str, str, bytes]] = []
            deleted = 0
            for operation in operations:
                if isinstance(operation, Put):
                    self._apply_put(operation, revision)
                    events.append(("put", operation.key, bytes(operation.value)))
                else:
                    keys = self._apply_delete(operation)
                    deleted += len(keys)
                    events.extend(("delete", key, b"") for key in keys)
            self._record(revision, events)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        if not events:
            return _Outcome(applied=True, deleted=0, revision=revision - 1)
        self._changed.notify_all()
        return _Outcome(applied=True, deleted=deleted, revision=revision)

    def _apply_put(self, put: Put, revision: int) -> None:
        if put.lease is not None:
            row = self._conn.execute("SELECT deadline FROM leases WHERE id = ?", (put.lease,))
            lease = row.fetchone()
            if lease is None or lease[0] <= time.time():
                raise LookupError(f"lease {put.lease} not found or expired")
        self._conn.execute(
            "INSERT OR REPLACE INTO kv (key, value, revision, lease) VALUES (?, ?, ?, ?)",
            (put.key, bytes(put.value), revision, put.lease),
        )

    def _apply_delete(self, delete: Delete) -> list[str]:
        if delete.prefix:
            condition, params = _prefix_range(delete.key)
        else:
            condition, params = "key = ?", [delete.key]
        rows = self._conn.execute(
            f"DELETE FROM kv WHERE {condition} RETURNING key", params
        ).fetchall()
        return sorted(row[0] for row in rows)

    def _record(self, revision: int, events: list[tuple[str, str, bytes]]) -> None:
        """Log the events of ``revision``, advance the counter and drop old history."""
        if not events:
            return
        self._conn.executemany(
            "INSERT INTO events (revision, seq, kind, key, value) VALUES (?, ?, ?, ?, ?)",
            ((revision, seq, *event) for seq, event in enumerate(events)),
        )
        self._conn.execute("UPDATE counters SET value = ? WHERE name = 'revision'", (revision,))
        horizon = revision - self.history_revisions
        if horizon > self._counter("compacted"):
            self._conn.execute("DELETE FROM events WHERE revision <= ?", (horizon,))
            self._conn.execute("UPDATE counters SET value = ? WHERE name = 'compacted'", (horizon,))

    def _counter(self, name: str) -> int:
        row = self._conn.execute("SELECT value FROM counters WHERE name = ?", (name,)).fetchone()
        result: int = row[0]
        return result

    # -- watches -------------------------------------------------------------

    def watch_prefix(self, prefix: str, start_revision: int | None = None) -> EmbeddedWatch:
        """Events for keys under ``prefix`` with revision strictly greater than ``start_revision``.

        ``None`` means the current revision: only future events. Past events come
        from the retained history; RevisionCompacted if it no longer reaches back.
        """
        with self._lock:
            self._check_open()
            if start_revision is None:
                start_revision = self._counter("revision")
            compacted = self._counter("compacted")
        if start_revision < compacted:
            raise RevisionCompacted(f"history before revision {compacted + 1} is compacted")
        return EmbeddedWatch(self, prefix, start_revision)

    def _events_after(
        self, prefix: str, cursor: tuple[int, int], timeout_s: float
    ) -> list[tuple[int, int, str, str, bytes]]:
        """Event rows past ``cursor`` under ``prefix``, waiting up to ``timeout_s`` for some."""
        condition, params = _prefix_range(prefix)
        query = (
            "SELECT revision, seq, kind, key, value FROM events"
            f" WHERE (revision, seq) > (?, ?) AND {condition}"
            " ORDER BY revision, seq LIMIT ?"
        )
        deadline = time.monotonic() + max(timeout_s, 0.0)
        with self._lock:
            while True:
                self._check_open()
                self._expire_due()
                if cursor[0] < self._counter("compacted"):
                    raise RevisionCompacted(f"watch fell behind compaction at {cursor[0]}")
                rows = self._conn.execute(query, [*cursor, *params, _WATCH_BATCH]).fetchall()
                remaining = deadline - time.monotonic()
                if rows or remaining <= 0:
                    return rows
                self._changed.wait(min(remaining, self.poll_interval_s))

    # -- leases --------------------------------------------------------------

    def grant_lease(self, ttl_s: float) -> int:
        """A new lease expiring ``ttl_s`` seconds from now (wall clock)."""
        if ttl_s <= 0:
            raise ValueError(f"lease TTL must be positive, got {ttl_s}")
        with self._lock:
            self._check_open()
            cursor = self._conn.execute(
                "INSERT INTO leases (ttl_s, deadline) VALUES (?, ?)", (ttl_s, time.time() + ttl_s)
            )
            assert cursor.lastrowid is not None
            return cursor.lastrowid

    def refresh_lease(self, lease: int) -> None:
        """Move the deadline to now + TTL; LookupError if the lease expired or never was."""
        with self._lock:
            self._expire_due()
            cursor = self._conn.execute(
                "UPDATE leases SET deadline = ? + ttl_s WHERE id = ?", (time.time(), lease)
            )
            if cursor.rowcount == 0:
                raise LookupError(f"lease {lease} not found or expired")

    def revoke_lease(self, lease: int) -> None:
        """Delete the lease and its keys now (one revision). No error if it is already gone."""
        with self._lock:
            self._check_open()
            self._end_lease(lease, expired_by=None)

    def _end_lease(self, lease: int, expired_by: float | None) -> None:
        """Drop the lease and delete its keys in one transaction; called with the lock held.

        With ``expired_by`` set, only if its deadline is still at or before that
        time (another process may have refreshed it meanwhile).
        """
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            row = conn.execute("SELECT deadline FROM leases WHERE id = ?", (lease,)).fetchone()
            if row is None or (expired_by is not None and row[0] > expired_by):
                conn.execute("ROLLBACK")
                return
            rows = conn.execute("SELECT key FROM kv WHERE lease = ? ORDER BY key", (lease,))
            keys = [key for (key,) in rows.fetchall()]
            conn.execute("DELETE FROM kv WHERE lease = ?", (lease,))
            conn.execute("DELETE FROM leases WHERE id = ?", (lease,))
            revision = self._counter("revision") + 1
            self._record(revision, [("delete", key, b"") for key in keys])
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        if keys:
            self._changed.notify_all()

    def _expire_due(self) -> None:
        """End every lease past its deadline; called with the lock held (cheap if none is)."""
        self._check_open()
        now = time.time()
        due = self._conn.execute(
            "SELECT id FROM leases WHERE deadline <= ? ORDER BY deadline LIMIT 100", (now,)
        ).fetchall()
        for (lease,) in due:
            self._end_lease(lease, expired_by=now)

    def _expire_loop(self, interval_s: float) -> None:
        while not self._stop.wait(interval_s):
            with self._lock:
                if self._closed:
                    return
                try:
                    self._expire_due()
                except sqlite3.Error:  # e.g. busy beyond the timeout; try again next round
                    log.exception("lease expiry failed")

    # -- lifecycle -----------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("EmbeddedKV is closed")

    def close(self) -> None:
        """Stop lease expiry and close the file; waiting watches raise RuntimeError. Idempotent."""
        self._stop.set()
        if self._expirer is not threading.current_thread():
            self._expirer.join(timeout=5)
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._changed.notify_all()
            self._conn.close()


class EmbeddedWatch(Watch):
    """A cursor over the event history of one prefix; pull-based, so no callback threads.

    Meant for one thread at a time. ``events`` raises RuntimeError after the store
    closes and RevisionCompacted if it fell more than ``history_revisions`` behind.
    """

    def __init__(self, kv: EmbeddedKV, prefix: str, start_revision: int) -> None:
        self._kv = kv
        self.prefix = prefix
        self._cursor = (start_revision, _LAST_SEQ)
        self._cancelled = False

    def events(self, timeout_s: float = 0.1) -> list[WatchEvent]:
        """Next events in (revision, order within the txn); ``[]`` after ``timeout_s`` or cancel."""
        if self._cancelled:
            return []
        rows = self._kv._events_after(self.prefix, self._cursor, timeout_s)
        if rows:
            self._cursor = (rows[-1][0], rows[-1][1])
        return [WatchEvent(kind, key, value, revision) for revision, _, kind, key, value in rows]

    def cancel(self) -> None:
        """Stop the watch; later ``events`` calls return ``[]``. Idempotent."""
        self._cancelled = True
