"""The embedded message stream: a durable log in one SQLite file (WAL, ``synchronous=FULL``).

Why SQLite: a committed WAL transaction survives ``kill -9`` and power loss, and an
uncommitted one never becomes visible, which is exactly the guarantee ``produce``
promises. Each channel is a dense sequence of positions 0, 1, 2, ... like one
Kafka partition.

Concurrency inside one process: producers are group-committed (whoever holds the
write lock commits every batch queued so far in one transaction, so N producers
cost about one fsync, not N), and consumers read through a small pool of
connections, which WAL lets run beside the writer. A consumer waiting in
``poll`` is woken by a per-channel condition that in-process producers signal,
and re-reads the file at least every ``poll_interval_s`` so that another process
writing the same file is seen too.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from elanus.stream import EARLIEST, Consumer, Message, MessageStream, Position

__all__ = ["EmbeddedLog", "EmbeddedConsumer"]

DATABASE_NAME = "log.db"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS channels (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    next_position INTEGER NOT NULL,   -- the position the next message gets
    first_position INTEGER NOT NULL   -- the oldest position still kept
);
CREATE TABLE IF NOT EXISTS messages (
    channel_id INTEGER NOT NULL,
    position INTEGER NOT NULL,
    payload BLOB NOT NULL,
    PRIMARY KEY (channel_id, position)
);
"""


@dataclass
class _PendingBatch:
    """One ``produce`` call waiting for a group commit to take it."""

    channel: str
    payloads: Sequence[bytes]
    positions: list[Position] | None = None
    error: BaseException | None = None


@dataclass
class _ChannelSignal:
    """Bumped and notified after every commit that appended to the channel."""

    condition: threading.Condition
    generation: int = 0


@dataclass
class _ConnectionPool:
    """SQLite connections handed out one caller at a time; grows to peak concurrency."""

    path: Path
    busy_timeout_ms: int
    _idle: list[sqlite3.Connection] = field(default_factory=list)
    _every: list[sqlite3.Connection] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _closed: bool = False

    def _open(self) -> sqlite3.Connection:
        # isolation_level=None: we issue BEGIN/COMMIT ourselves, so a read is never
        # left inside an implicit transaction pinning an old WAL snapshot.
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout={self.busy_timeout_ms}")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        return conn

    @contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self._closed:
                raise RuntimeError("EmbeddedLog is closed")
            conn = self._idle.pop() if self._idle else None
        if conn is None:
            conn = self._open()
            with self._lock:
                self._every.append(conn)
        try:
            yield conn
        finally:
            with self._lock:
                if self._closed:
                    conn.close()
                else:
                    self._idle.append(conn)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


class EmbeddedLog(MessageStream):
    """A :class:`MessageStream` in ``directory/log.db``; safe for many threads.

    Several processes may open the same directory: writes are serialised by
    SQLite's file lock and positions stay dense, and consumers see the other
    process's messages within ``poll_interval_s``.

    ``produce`` on a channel that does not exist creates it (as Kafka does with
    auto-creation on); ``consume`` and ``end_position`` on a missing channel
    see an empty channel.
    """

    def __init__(
        self, directory: Path, *, poll_interval_s: float = 0.1, busy_timeout_s: float = 30.0
    ) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / DATABASE_NAME
        self.poll_interval_s = poll_interval_s
        self._pool = _ConnectionPool(self.path, int(busy_timeout_s * 1000))
        self._write_lock = threading.Lock()
        self._pending: list[_PendingBatch] = []
        self._pending_lock = threading.Lock()
        self._signal_lock = threading.Lock()
        self._signals: dict[str, _ChannelSignal] = {}
        self._channel_ids: dict[str, int] = {}
        self._closed = False
        with self._pool.connection() as conn:
            conn.executescript(_SCHEMA)

    # -- writing -------------------------------------------------------------

    def create_channel(self, channel: str) -> None:
        """Make the channel exist with next position 0. Idempotent."""
        with self._write_lock, self._pool.connection() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO channels (name, next_position, first_position)"
                " VALUES (?, 0, 0)",
                (channel,),
            )

    def produce(self, channel: str, payloads: Sequence[bytes]) -> list[Position]:
        """Append ``payloads`` in order, atomically; returns their positions after the commit.

        The batch is one transaction shared with any batches other threads queued
        meanwhile: all of it is durable on return, and none of it is visible if the
        process dies or this raises.
        """
        for payload in payloads:
            if not isinstance(payload, (bytes, bytearray, memoryview)):
                raise TypeError(f"payload must be bytes, not {type(payload).__name__}")
        if not payloads:
            return []
        batch = _PendingBatch(channel, payloads)
        with self._pending_lock:
            self._pending.append(batch)
        with self._write_lock:
            if batch.positions is None and batch.error is None:
                with self._pending_lock:
                    group, self._pending = self._pending, []
                self._commit_group(group)
        if batch.error is not None:
            raise batch.error
        assert batch.positions is not None
        return batch.positions

    def _commit_group(self, group: list[_PendingBatch]) -> None:
        """Write every batch of ``group`` in one transaction; called with the write lock held."""
        try:
            with self._pool.connection() as conn:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    next_by_channel: dict[str, tuple[int, int]] = {}
                    for batch in group:
                        channel_id, start = next_by_channel.get(batch.channel) or (
                            self._channel_for_write(conn, batch.channel)
                        )
                        conn.executemany(
                            "INSERT INTO messages (channel_id, position, payload) VALUES (?, ?, ?)",
                            ((channel_id, start + i, p) for i, p in enumerate(batch.payloads)),
                        )
                        end = start + len(batch.payloads)
                        batch.positions = list(range(start, end))
                        next_by_channel[batch.channel] = (channel_id, end)
                    for channel_id, end in next_by_channel.values():
                        conn.execute(
                            "UPDATE channels SET next_position = ? WHERE id = ?", (end, channel_id)
                        )
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
        except BaseException as error:  # every producer in the group learns why
            for batch in group:
                batch.positions, batch.error = None, error
            return
        self._notify(next_by_channel.keys())

    def _channel_for_write(self, conn: sqlite3.Connection, channel: str) -> tuple[int, int]:
        """(channel id, next position), creating the channel inside the open transaction."""
        row = conn.execute(
            "SELECT id, next_position FROM channels WHERE name = ?", (channel,)
        ).fetchone()
        if row is None:
            cursor = conn.execute(
                "INSERT INTO channels (name, next_position, first_position) VALUES (?, 0, 0)",
                (channel,),
            )
            row = (cursor.lastrowid, 0)
        return row[0], row[1]

    def truncate_before(self, channel: str, position: Position) -> int:
        """Drop messages at positions < ``position`` (retention); returns how many went.

        Positions of later messages do not change; a consumer behind the new first
        position continues from it. Idempotent.
        """
        with self._write_lock, self._pool.connection() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                row = conn.execute(
                    "SELECT id, first_position, next_position FROM channels WHERE name = ?",
                    (channel,),
                ).fetchone()
                removed = 0
                if row is not None and position > row[1]:
                    new_first = min(position, row[2])
                    removed = conn.execute(
                        "DELETE FROM messages WHERE channel_id = ? AND position < ?",
                        (row[0], new_first),
                    ).rowcount
                    conn.execute(
                        "UPDATE channels SET first_position = ? WHERE id = ?", (new_first, row[0])
                    )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return removed

    # -- reading -------------------------------------------------------------

    def consume(self, channel: str, start: Position = EARLIEST) -> EmbeddedConsumer:
        """A consumer that yields messages at positions >= ``start`` (inclusive)."""
        if start < 0:
            raise ValueError(f"start position must be >= 0, got {start}")
        return EmbeddedConsumer(self, channel, start)

    def end_position(self, channel: str) -> Position:
        """The position the next message will get; 0 for an empty or missing channel."""
        with self._pool.connection() as conn:
            row = conn.execute(
                "SELECT next_position FROM channels WHERE name = ?", (channel,)
            ).fetchone()
        return 0 if row is None else row[0]

    def first_position(self, channel: str) -> Position:
        """The oldest position still kept (0 unless ``truncate_before`` dropped some)."""
        with self._pool.connection() as conn:
            row = conn.execute(
                "SELECT first_position FROM channels WHERE name = ?", (channel,)
            ).fetchone()
        return 0 if row is None else row[0]

    def _read(self, channel: str, start: Position, limit: int) -> list[Message]:
        with self._pool.connection() as conn:
            channel_id = self._channel_ids.get(channel)
            if channel_id is None:
                row = conn.execute("SELECT id FROM channels WHERE name = ?", (channel,)).fetchone()
                if row is None:
                    return []
                channel_id = self._channel_ids.setdefault(channel, row[0])
            rows = conn.execute(
                "SELECT position, payload FROM messages"
                " WHERE channel_id = ? AND position >= ? ORDER BY position LIMIT ?",
                (channel_id, start, limit),
            ).fetchall()
        return [Message(channel, position, payload) for position, payload in rows]

    def _generation(self, channel: str) -> int:
        """A counter that changes whenever an in-process producer appends to ``channel``."""
        with self._signal_lock:
            return self._signal(channel).generation

    def _wait_for_append(self, channel: str, seen_generation: int, timeout_s: float) -> None:
        """Sleep until ``channel`` moves past ``seen_generation``, the log closes, or timeout."""
        with self._signal_lock:
            signal = self._signal(channel)
            signal.condition.wait_for(
                lambda: signal.generation != seen_generation or self._closed, timeout=timeout_s
            )

    def _signal(self, channel: str) -> _ChannelSignal:
        """Called with ``_signal_lock`` held."""
        signal = self._signals.get(channel)
        if signal is None:
            signal = self._signals[channel] = _ChannelSignal(threading.Condition(self._signal_lock))
        return signal

    def _notify(self, channels: Iterable[str]) -> None:
        with self._signal_lock:
            for channel in channels:
                signal = self._signal(channel)
                signal.generation += 1
                signal.condition.notify_all()

    def close(self) -> None:
        """Close the file; waiting and later polls raise RuntimeError. Idempotent."""
        with self._signal_lock:
            self._closed = True
            for signal in self._signals.values():
                signal.condition.notify_all()
        with self._write_lock:
            self._pool.close()


class EmbeddedConsumer(Consumer):
    """Reads one channel of an :class:`EmbeddedLog` from a position onwards.

    Meant for one thread at a time; ``poll`` blocks only the calling thread.
    """

    def __init__(self, log: EmbeddedLog, channel: str, start: Position) -> None:
        self._log = log
        self.channel = channel
        self.next_position = start
        self._closed = False

    def poll(self, max_messages: int = 1024, timeout_s: float = 0.1) -> list[Message]:
        """Up to ``max_messages`` messages from ``next_position`` on, in position order.

        Waits at most ``timeout_s`` (plus one SQLite read) when none is ready and
        returns ``[]`` then. Raises RuntimeError once the consumer or its log is closed.
        """
        if max_messages < 1:
            raise ValueError("max_messages must be >= 1")
        deadline = time.monotonic() + max(timeout_s, 0.0)
        log = self._log
        while True:
            if self._closed or log._closed:
                raise RuntimeError("consumer is closed")
            generation = log._generation(self.channel)
            messages = log._read(self.channel, self.next_position, max_messages)
            if messages:
                self.next_position = messages[-1].position + 1
                return messages
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return []
            log._wait_for_append(self.channel, generation, min(remaining, log.poll_interval_s))

    def close(self) -> None:
        """Stop this consumer; the log stays open. Idempotent."""
        self._closed = True
