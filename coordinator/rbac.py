"""The RBAC state in the coordinator's metadata KV (issue 15).

One JSON value under ``rbac/state`` (roles, bindings, grants and custom groups
are few and change rarely), written only in a transaction that also bumps
``credentials/version``: a proxy that sees the version unchanged knows its
copy of users and RBAC is current, on every proxy of a cluster.

A change is a function that mutates an :class:`RbacState` and raises to refuse;
it runs on a fresh copy each attempt, so a refusal or a lost race writes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from coordinator.credentials import version_step
from elanus import errors
from elanus.access.rbac import RbacState
from elanus.kv import Compare, MetaKV, Put

log = logging.getLogger(__name__)

STATE_KEY = "rbac/state"
_TXN_ATTEMPTS = 16


class RbacStore:
    def __init__(self, kv: MetaKV) -> None:
        self._kv = kv

    def state(self) -> RbacState:
        stored = self._kv.get(STATE_KEY)
        return RbacState() if stored is None else RbacState.from_json(stored.value)

    def change(self, what: str, mutate: Callable[[RbacState], None]) -> RbacState:
        """Apply ``mutate`` atomically; returns the state it wrote. ``what`` names the
        change in logs."""
        for _ in range(_TXN_ATTEMPTS):
            stored = self._kv.get(STATE_KEY)
            state = RbacState() if stored is None else RbacState.from_json(stored.value)
            mutate(state)  # raises to refuse, before anything is written
            guard, bump = version_step(self._kv)
            unchanged = Compare(STATE_KEY, 0 if stored is None else stored.revision)
            if self._kv.txn([unchanged, guard], [Put(STATE_KEY, state.to_json()), bump]):
                log.info("changed rbac", extra={"change": what})
                return state
        raise errors.ServiceUnavailable(f"rbac kept changing while trying to {what}; try again")
