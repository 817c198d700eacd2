"""The metadata KV: every durable fact about collections, segments and nodes.

Keys and values are ``str``/``bytes``; each key has a ``revision``, the store's
global revision number at its last write (as in etcd), so compare-and-swap and
watches can say "since when". A store is shared by every role of a deployment
and is safe to call from many threads.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol


class RevisionCompacted(LookupError):
    """A watch asked for history older than the store still keeps (as etcd after compaction)."""


@dataclass(frozen=True)
class KeyValue:
    key: str
    value: bytes
    revision: int  # the store revision of this key's last modification


@dataclass(frozen=True)
class Compare:
    """A transaction guard. ``revision == 0`` means "the key does not exist"."""

    key: str
    revision: int


@dataclass(frozen=True)
class Put:
    key: str
    value: bytes
    lease: int | None = None


@dataclass(frozen=True)
class Delete:
    key: str
    prefix: bool = False


@dataclass(frozen=True)
class WatchEvent:
    kind: str  # "put" or "delete"
    key: str
    value: bytes  # b"" for deletes
    revision: int


class Watch(Protocol):
    def events(self, timeout_s: float = 0.1) -> list[WatchEvent]:
        """Events in revision order, waiting at most ``timeout_s`` when none is ready."""

    def cancel(self) -> None: ...


class MetaKV(Protocol):
    def get(self, key: str) -> KeyValue | None: ...

    def get_prefix(self, prefix: str) -> list[KeyValue]:
        """All keys that start with ``prefix``, sorted by key."""

    def put(self, key: str, value: bytes, lease: int | None = None) -> int:
        """Write one key; returns the new store revision."""

    def delete(self, key: str, prefix: bool = False) -> int:
        """Delete one key (or every key under a prefix); returns the number deleted."""

    def txn(self, compares: Sequence[Compare], success: Sequence[Put | Delete]) -> bool:
        """Apply ``success`` atomically if every compare holds; returns whether it did."""

    def watch_prefix(self, prefix: str, start_revision: int | None = None) -> Watch:
        """Events for keys under ``prefix`` after ``start_revision`` (default: from now)."""

    def grant_lease(self, ttl_s: float) -> int:
        """A lease id; keys put with it vanish when it expires or is revoked."""

    def refresh_lease(self, lease: int) -> None:
        """Extend a lease by its TTL; raises LookupError if it has expired."""

    def revoke_lease(self, lease: int) -> None: ...

    def close(self) -> None: ...


def iter_values(kvs: Sequence[KeyValue]) -> Iterator[bytes]:
    return (kv.value for kv in kvs)
