"""Users and RBAC as the coordinator serves them (issue 15): the credential store
and the RBAC store on one metadata KV, under one version.

A user's deletion first takes its roles, then its password: a crash between
the two leaves a user without roles (it can do less), never a new user of the
same name inheriting the old one's roles.
"""

from __future__ import annotations

import threading

from coordinator.credentials import CredentialStore
from coordinator.rbac import RbacStore
from elanus import errors
from elanus.access.changes import AccessChange, AccessOp, AccessSnapshot
from elanus.access.grants import Grant
from elanus.access.rbac import RbacState
from elanus.kv import MetaKV


class AccessService:
    """``root`` is created on first use rather than at start: hashing its password
    costs a bcrypt round, which a server that never hears of users need not pay."""

    def __init__(self, kv: MetaKV, default_root_password: str) -> None:
        self.credentials = CredentialStore(kv)
        self.rbac = RbacStore(kv)
        self._default_root_password = default_root_password
        self._root_lock = threading.Lock()
        self._root_ensured = False

    def _ensure_root(self) -> None:
        if self._root_ensured:
            return
        with self._root_lock:
            if not self._root_ensured:
                self.credentials.ensure_root(self._default_root_password)
                self._root_ensured = True

    def version(self) -> int:
        self._ensure_root()
        return self.credentials.version()

    def snapshot(self) -> AccessSnapshot:
        """Users and RBAC at one version (read again if a change raced the read)."""
        self._ensure_root()
        for _ in range(16):
            version = self.credentials.version()
            hashes = {c.username: c.password_hash.decode() for c in self.credentials.all()}
            state = self.rbac.state()
            if self.credentials.version() == version:
                return AccessSnapshot(version, hashes, state)
        raise errors.ServiceUnavailable("users and roles kept changing; try again")

    def change(self, change: AccessChange) -> None:
        self._ensure_root()
        op = change.op
        if op is AccessOp.CREATE_USER:
            self.credentials.create(change.user, change.password)
        elif op is AccessOp.UPDATE_PASSWORD:
            self.credentials.update(change.user, change.password)
        elif op is AccessOp.DELETE_USER:
            self.rbac.change(f"forget user {change.user}", lambda s: s.forget_user(change.user))
            self.credentials.delete(change.user)
        else:
            self.rbac.change(op.value, lambda state: self._apply_rbac(state, change))

    def _apply_rbac(self, state: RbacState, change: AccessChange) -> None:
        op = change.op
        if op is AccessOp.CREATE_ROLE:
            state.create_role(change.role, change.description)
        elif op is AccessOp.DROP_ROLE:
            state.drop_role(change.role, change.force)
        elif op is AccessOp.BIND_ROLE:
            exists = self.credentials.get(change.user) is not None
            state.bind(change.user, change.role, change.add, user_exists=exists)
        elif op in (AccessOp.GRANT_V1, AccessOp.GRANT_V2):
            grant = _required_grant(change)
            if self.credentials.get(grant.grantor) is None:
                raise errors.OperationRefused(
                    "not found the user, maybe the user isn't existed or internal system error"
                )
            if op is AccessOp.GRANT_V1:
                state.grant_v1(grant, change.add)
            else:
                state.grant_v2(grant, change.add)
        elif op is AccessOp.CREATE_GROUP:
            state.create_group(change.group)
        elif op is AccessOp.DROP_GROUP:
            state.drop_group(change.group)
        elif op is AccessOp.OPERATE_GROUP:
            state.operate_group(change.group, change.privileges, change.add)
        else:
            raise errors.ParameterInvalid(f"unknown access change {op.value}")


def _required_grant(change: AccessChange) -> Grant:
    if change.grant is None:
        raise errors.ParameterInvalid(cause="the grant entity in the request is nil")
    return change.grant
