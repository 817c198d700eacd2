"""Authentication and authorization of every call, when
``security.authorization_enabled`` is on (issue 15).

Each call asks the coordinator for the access version (one small read), and
refreshes the proxy's copy of users and RBAC only when it moved: a new
password, a dropped user or a revoke therefore holds from the next request on
every proxy. A password is checked against its bcrypt hash once; the match is
remembered (bounded) for as long as that user's hash is unchanged.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import OrderedDict
from typing import Any, Protocol

import bcrypt

from elanus import errors
from elanus.access.changes import AccessSnapshot
from elanus.access.grants import Wanted, permits
from elanus.access.passwords import bcrypt_input
from elanus.access.privileges import ANY, COLLECTION, USER
from elanus.meta import DEFAULT_DB
from proto.public import milvus_pb2 as pb
from proxy.pipeline import Call, Guard, Privilege, credentials_of

log = logging.getLogger(__name__)

VERIFIED_CACHE_SIZE = 1024


class AccessSource(Protocol):
    def access_version(self) -> int: ...

    def access_snapshot(self) -> AccessSnapshot: ...


class AuthGuard:
    def __init__(self, source: AccessSource) -> None:
        self._source = source
        self._lock = threading.Lock()
        self._snapshot: AccessSnapshot | None = None
        # (user, sha256 of the password) -> the hash it matched
        self._verified: OrderedDict[tuple[str, bytes], str] = OrderedDict()

    def admit(self, call: Call, privilege: Privilege | None, request: Any) -> None:
        credentials = credentials_of(call.metadata)
        if credentials is None:
            raise errors.Unauthenticated("missing authorization in header")
        user, password = credentials
        snapshot = self.current()
        if not self._password_matches(snapshot, user, password):
            raise errors.Unauthenticated(
                "auth check failure, please check username and password are correct"
            )
        call.user = user
        if privilege is None:
            return
        roles = snapshot.rbac.roles_of(user)
        names = object_names(privilege, request)
        if privilege.object_type == USER and names == [user]:
            return  # one's own password and roles
        if _selects_own_role(request, roles):
            return
        groups = snapshot.rbac.all_groups()
        db_name = call.db_name or DEFAULT_DB
        for name in names:
            wanted = Wanted(privilege.name, privilege.object_type, name, db_name)
            if not permits(roles, wanted, snapshot.rbac.grants, groups):
                log.info(
                    "permission denied",
                    extra={"user": user, "privilege": privilege.name, "object": name},
                )
                raise errors.PermissionDenied(
                    f"Privilege{privilege.name}: permission deny to {user} "
                    f"in the `{db_name}` database"
                )

    def current(self) -> AccessSnapshot:
        """The proxy's copy of users and RBAC, refreshed if the coordinator's moved on."""
        version = self._source.access_version()
        with self._lock:
            snapshot = self._snapshot
        if snapshot is not None and snapshot.version == version:
            return snapshot
        fresh = self._source.access_snapshot()
        with self._lock:
            if self._snapshot is None or fresh.version >= self._snapshot.version:
                self._snapshot = fresh
        return fresh

    def _password_matches(self, snapshot: AccessSnapshot, user: str, password: str) -> bool:
        stored = snapshot.password_hashes.get(user)
        if stored is None:
            return False
        key = (user, hashlib.sha256(password.encode()).digest())
        with self._lock:
            if self._verified.get(key) == stored:
                self._verified.move_to_end(key)
                return True
        if not bcrypt.checkpw(bcrypt_input(password), stored.encode()):
            return False
        with self._lock:
            self._verified[key] = stored
            while len(self._verified) > VERIFIED_CACHE_SIZE:
                self._verified.popitem(last=False)
        return True


def guard_for(authorization_enabled: bool, source: AccessSource) -> Guard | None:
    """The proxy's guard: None (the open door) unless authorization is enabled."""
    return AuthGuard(source) if authorization_enabled else None


def object_names(privilege: Privilege, request: Any) -> list[str]:
    """The objects a call acts on, by the field Milvus reads for its privilege."""
    if privilege.object_type == COLLECTION:
        many = list(getattr(request, "collection_names", ()) or ())
        if many:
            return [str(name) for name in many]
        return [str(getattr(request, "collection_name", "") or ANY)]
    if privilege.object_type == USER:
        named = getattr(request, "username", None)
        if named is None:
            entity = getattr(request, "user", None)
            named = entity.name if entity is not None else ""
        return [str(named or ANY)]
    return [ANY]


def _selects_own_role(request: Any, roles: set[str]) -> bool:
    return isinstance(request, pb.SelectGrantRequest) and request.entity.role.name in roles
