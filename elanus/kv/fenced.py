"""A MetaKV whose writes hold only while a guard does: the active coordinator's
writes, guarded by its election term, so a paused old leader that wakes up after
a successor won cannot change the metadata under it.

Reads, watches and leases pass through unchanged. Every put, delete and
transaction becomes one transaction with the guard added; when the guard fails,
``on_fenced`` is called (the process must stop) and
:class:`~elanus.errors.ServiceUnavailable` is raised: nothing was written.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from elanus import errors
from elanus.kv import Compare, Delete, KeyValue, MetaKV, Put, Watch

log = logging.getLogger(__name__)


class FencedKV:
    def __init__(
        self, inner: MetaKV, guard: Callable[[], Compare], on_fenced: Callable[[], None]
    ) -> None:
        self._inner = inner
        self._guard = guard
        self._on_fenced = on_fenced

    # --- writes, guarded

    def put(self, key: str, value: bytes, lease: int | None = None) -> int:
        self._write([], [Put(key, value, lease)], key)
        written = self._inner.get(key)
        return written.revision if written is not None else 0

    def delete(self, key: str, prefix: bool = False) -> int:
        """The count is read just before the delete (a transaction does not report it)."""
        if prefix:
            present = len(self._inner.get_prefix(key))
        else:
            present = int(self._inner.get(key) is not None)
        self._write([], [Delete(key, prefix)], key)
        return present

    def txn(self, compares: Sequence[Compare], success: Sequence[Put | Delete]) -> bool:
        return self._write(compares, success, success[0].key if success else "")

    def _write(
        self, compares: Sequence[Compare], success: Sequence[Put | Delete], key: str
    ) -> bool:
        guard = self._guard()
        if self._inner.txn([guard, *compares], success):
            return True
        current = self._inner.get(guard.key)
        if current is not None and current.revision == guard.revision:
            return False  # the caller's own compares failed
        log.error(
            "write refused: a newer leader has taken over",
            extra={"key": key, "guard": guard.key},
        )
        self._on_fenced()
        raise errors.ServiceUnavailable(
            f"this coordinator is no longer the leader (a newer one won {guard.key}); "
            f"nothing was written to {key!r}"
        )

    # --- everything else, as is

    def get(self, key: str) -> KeyValue | None:
        return self._inner.get(key)

    def get_prefix(self, prefix: str) -> list[KeyValue]:
        return self._inner.get_prefix(prefix)

    def watch_prefix(self, prefix: str, start_revision: int | None = None) -> Watch:
        return self._inner.watch_prefix(prefix, start_revision)

    def grant_lease(self, ttl_s: float) -> int:
        return self._inner.grant_lease(ttl_s)

    def refresh_lease(self, lease: int) -> None:
        self._inner.refresh_lease(lease)

    def revoke_lease(self, lease: int) -> None:
        self._inner.revoke_lease(lease)

    def close(self) -> None:
        self._inner.close()
