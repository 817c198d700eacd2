"""Roles, the users bound to them, grants and custom privilege groups: the RBAC
state, and every change to it with Milvus's checks and messages.

The state is plain data: the coordinator stores it (coordinator/rbac.py) and a
proxy holds a copy to decide requests with. Each change method validates
first and then mutates, so a refused change leaves the state as it was.
"""

from __future__ import annotations

import json
import string
from collections.abc import Iterable
from dataclasses import dataclass, field

from elanus import errors
from elanus.access.grants import ADMIN_ROLE, BUILTIN_ROLES, Grant, groups_with_builtins
from elanus.access.privileges import (
    ANY,
    BUILTIN_GROUPS,
    GLOBAL,
    OBJECT_PRIVILEGES,
    OBJECT_TYPES,
    RELATED_PRIVILEGES,
    SINGLE_PRIVILEGES,
    group_level,
    is_defined,
    object_type_of,
)
from elanus.meta import DEFAULT_DB

ROOT_USER = "root"
MAX_NAME_LENGTH = 255  # Milvus's proxy.maxNameLength
ROLE_NAME_EXTRA_CHARS = "$"  # proxy.roleNameValidationAllowedChars
_NAME_START = frozenset(string.ascii_letters) | {"_"}
_NAME_CHARS = _NAME_START | frozenset(string.digits)

ROLE_NOT_FOUND = "not found the role, maybe the role isn't existed or internal system error"
USER_NOT_FOUND = "not found the user, maybe the user isn't existed or internal system error"


def validate_role_name(name: str) -> str:
    """Milvus's rule for a role name (trimmed first); returns the trimmed name."""
    return _validate_name(name, "role name", ROLE_NAME_EXTRA_CHARS)


def _validate_name(name: str, kind: str, extra: str = "") -> str:
    trimmed = name.strip()
    if not trimmed:
        raise errors.ParameterInvalid(
            errors.fields(expected="not empty", actual=trimmed), cause=f"{kind} should be not empty"
        )
    if len(trimmed) > MAX_NAME_LENGTH:
        raise errors.ParameterInvalid(
            f"value {len(trimmed)} is out range [0, {MAX_NAME_LENGTH}]",
            cause=f"the length of {kind} must be not greater than limit",
        )
    if trimmed[0] not in _NAME_START:
        raise errors.ParameterInvalid(
            errors.fields(expected="_", actual=trimmed[0]),
            cause=f"the first character of {kind} must be an underscore or letter",
        )
    for position, char in enumerate(trimmed[1:], start=1):
        if char not in _NAME_CHARS and char not in extra:
            raise errors.ParameterInvalid(
                f"{kind} can only contain numbers, letters, underscores, and allowed "
                f"characters ({extra}), found {char} at {position}"
            )
    return trimmed


def validate_group_name(name: str) -> str:
    """Milvus's rule for a privilege group name."""
    if not name:
        raise errors.PrivilegeGroupInvalidName(
            f"privilegeGroup={name}", cause="privilege group name should not be empty"
        )
    if len(name) > MAX_NAME_LENGTH:
        raise errors.PrivilegeGroupInvalidName(
            f"privilegeGroup={name}",
            cause=f"the length of a privilege group name {name} must be less than "
            f"{MAX_NAME_LENGTH} characters",
        )
    if name[0] not in _NAME_START:
        raise errors.PrivilegeGroupInvalidName(
            f"privilegeGroup={name}",
            cause=f"the first character of a privilege group name {name} must be an "
            "underscore or letter",
        )
    if any(char not in _NAME_CHARS for char in name[1:]):
        raise errors.ParameterInvalid(
            cause=f"privilege group name {name} can only contain numbers, letters and underscores"
        )
    return name


@dataclass
class RbacState:
    """Everything RBAC knows; the built-in roles always exist."""

    roles: dict[str, str] = field(default_factory=lambda: {r: "" for r in BUILTIN_ROLES})
    user_roles: dict[str, set[str]] = field(default_factory=dict)
    grants: set[Grant] = field(default_factory=set)
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)  # custom groups only

    # --- reads

    def roles_of(self, user: str) -> set[str]:
        """The roles a user holds; root always holds admin."""
        held = set(self.user_roles.get(user, ()))
        if user == ROOT_USER:
            held.add(ADMIN_ROLE)
        return held

    def users_of(self, role: str) -> list[str]:
        return sorted(user for user, roles in self.user_roles.items() if role in roles)

    def all_groups(self) -> dict[str, tuple[str, ...]]:
        return groups_with_builtins(self.groups)

    def grants_of(self, role: str) -> list[Grant]:
        return sorted(
            (g for g in self.grants if g.role == role),
            key=lambda g: (g.db_name, g.object_type, g.object_name, g.privilege),
        )

    # --- roles

    def create_role(self, name: str, description: str = "") -> None:
        name = validate_role_name(name)
        if name in self.roles:
            raise errors.OperationRefused(f"role [{name}] already exists")
        self.roles[name] = description

    def drop_role(self, name: str, force: bool = False) -> None:
        name = validate_role_name(name)
        if name in BUILTIN_ROLES:
            raise errors.PrivilegeNotPermitted(
                cause=f"the role[{name}] is a default role, which can't be dropped"
            )
        if name not in self.roles:
            raise errors.OperationRefused(ROLE_NOT_FOUND)
        held = self.grants_of(name)
        if held and not force:
            raise errors.OperationRefused(
                "fail to drop the role that it has privileges. Use REVOKE API to revoke privileges"
            )
        del self.roles[name]
        self.grants.difference_update(held)
        for user in list(self.user_roles):
            self._unbind(user, name)

    def bind(self, user: str, role: str, add: bool, user_exists: bool) -> None:
        """Add ``user`` to ``role`` (``user_exists``: the user is known) or remove it."""
        role = validate_role_name(role)
        if role not in self.roles:
            raise errors.OperationRefused(ROLE_NOT_FOUND)
        if add:
            if not user_exists:
                raise errors.OperationRefused(USER_NOT_FOUND)
            self.user_roles.setdefault(user, set()).add(role)
            return
        if user == ROOT_USER and role == ADMIN_ROLE:
            raise errors.PrivilegeNotPermitted(cause="the admin role cannot be taken from root")
        self._unbind(user, role)

    def _unbind(self, user: str, role: str) -> None:
        """Take ``role`` from ``user``; a user left with no role has no entry."""
        roles = self.user_roles.get(user)
        if roles is not None:
            roles.discard(role)
            if not roles:
                del self.user_roles[user]

    def forget_user(self, user: str) -> None:
        """A dropped user leaves its roles."""
        self.user_roles.pop(user, None)

    # --- grants

    def grant_v1(self, grant: Grant, add: bool) -> None:
        """OperatePrivilege: a single privilege (or ``*``/All) on one object type."""
        self._require_role(grant.role)
        if grant.object_type not in OBJECT_TYPES:
            raise errors.OperationRefused("the object entity in the request is nil or invalid")
        name = grant.privilege
        if name in self.groups:
            raise errors.OperationRefused(f"can not operate the custom privilege group [{name}]")
        if name in BUILTIN_GROUPS:
            raise errors.OperationRefused(f"can not operate the built-in privilege group [{name}]")
        if name != ANY and name not in OBJECT_PRIVILEGES[grant.object_type]:
            raise errors.OperationRefused(
                f"not found the privilege name[{name}] in object[{grant.object_type}]"
            )
        if grant.object_type == GLOBAL:
            grant = _replace(grant, object_name=ANY)
        self._apply(grant, add)

    def grant_v2(self, grant: Grant, add: bool) -> None:
        """OperatePrivilegeV2: a privilege or a group, scoped by database and collection;
        the object type follows from the privilege."""
        self._require_role(grant.role)
        name = grant.privilege
        all_groups = self.all_groups()
        if name != ANY and not is_defined(name) and name not in self.groups:
            raise errors.OperationRefused(f"not found the privilege name[{name}]")
        members = all_groups.get(name)
        if members:
            _check_group_scope(name, members, grant.db_name, grant.object_name)
        object_type = GLOBAL if members is not None or name == ANY else object_type_of(name)
        object_name = ANY if object_type == GLOBAL and members is None else grant.object_name
        self._apply(_replace(grant, object_type=object_type, object_name=object_name), add)

    def _apply(self, grant: Grant, add: bool) -> None:
        extra = RELATED_PRIVILEGES.get(grant.privilege, ())
        related = [_replace(grant, privilege=privilege) for privilege in extra]
        for single in (grant, *related):
            key = _without_grantor(single)
            existing = {g for g in self.grants if _without_grantor(g) == key}
            if add:
                if not existing:
                    self.grants.add(single)
            else:
                self.grants.difference_update(existing)

    def _require_role(self, role: str) -> None:
        if role not in self.roles:
            raise errors.OperationRefused(ROLE_NOT_FOUND)

    # --- privilege groups

    def create_group(self, name: str) -> None:
        name = validate_group_name(name)
        if name in self.groups or name in BUILTIN_GROUPS:
            raise errors.OperationRefused(f"privilege group [{name}] already exists")
        self.groups[name] = ()

    def drop_group(self, name: str) -> None:
        name = validate_group_name(name)
        if name in BUILTIN_GROUPS:
            raise errors.OperationRefused(f"the privilege group [{name}] is built in")
        for grant in self.grants:
            if grant.privilege == name:
                raise errors.OperationRefused(
                    f"privilege group [{name}] is used by role [{grant.role}], "
                    "Use REVOKE API to revoke it first"
                )
        self.groups.pop(name, None)

    def operate_group(self, name: str, privileges: Iterable[str], add: bool) -> None:
        name = validate_group_name(name)
        if name not in self.groups:
            raise errors.OperationRefused(f"there is no privilege group name [{name}] to operate")
        asked = list(privileges)
        for privilege in asked:
            if privilege not in SINGLE_PRIVILEGES:
                raise errors.OperationRefused(f"privilege name [{privilege}] is not valid")
        current = list(self.groups[name])
        if add:
            current += [p for p in asked if p not in current]
        else:
            current = [p for p in current if p not in asked]
        self.groups[name] = tuple(current)

    # --- storage

    def to_json(self) -> bytes:
        return json.dumps(
            {
                "roles": self.roles,
                "user_roles": {u: sorted(r) for u, r in sorted(self.user_roles.items()) if r},
                "grants": [vars(g) for g in sorted(self.grants, key=_sort_key)],
                "groups": {name: list(p) for name, p in self.groups.items()},
            },
            sort_keys=True,
        ).encode()

    @classmethod
    def from_json(cls, data: bytes) -> RbacState:
        value = json.loads(data)
        return cls(
            roles=dict(value["roles"]),
            user_roles={u: set(r) for u, r in value["user_roles"].items()},
            grants={Grant(**g) for g in value["grants"]},
            groups={name: tuple(p) for name, p in value["groups"].items()},
        )

    def copy(self) -> RbacState:
        return RbacState.from_json(self.to_json())


def _check_group_scope(name: str, members: tuple[str, ...], db: str, collection: str) -> None:
    """Milvus's rule for the scope a v2 grant of a group may name."""
    level = group_level(members)
    if level == "Cluster" and (db != ANY or collection != ANY):
        raise errors.ParameterInvalid(
            cause=f"dbName and collectionName should be * for the cluster level privilege: {name}"
        )
    if level == "Database" and collection not in ("", ANY):
        raise errors.ParameterInvalid(
            cause=f"collectionName should be * for the database level privilege: {name}"
        )
    if level == "Collection" and db == ANY and collection not in ("", ANY):
        raise errors.ParameterInvalid(
            cause=f"please specify database name for the collection level privilege: {name}"
        )


def grant_of(
    role: str, object_type: str, object_name: str, db_name: str, privilege: str, grantor: str
) -> Grant:
    """A grant as a request names it: an empty database is the default one."""
    return Grant(role, object_type, object_name or ANY, db_name or DEFAULT_DB, privilege, grantor)


def _replace(grant: Grant, **changes: str) -> Grant:
    values = {**vars(grant), **changes}
    return Grant(**values)


def _without_grantor(grant: Grant) -> tuple[str, str, str, str, str]:
    return (grant.role, grant.object_type, grant.object_name, grant.db_name, grant.privilege)


def _sort_key(grant: Grant) -> tuple[str, ...]:
    return (*_without_grantor(grant), grant.grantor)
