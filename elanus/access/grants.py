"""Grants and the one decision: may these roles do this to that object?

A grant as a user wrote it names a privilege or a group; :func:`expand` turns
it into single-privilege grants, each on the object type its privilege is
checked on (a Global privilege of a collection-scoped group applies to the
whole database, as in Milvus). :func:`permits` is the only place a request is
matched against grants.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from elanus.access.privileges import ALL, ANY, BUILTIN_GROUPS, GLOBAL, object_type_of

ADMIN_ROLE = "admin"
PUBLIC_ROLE = "public"
BUILTIN_ROLES = (ADMIN_ROLE, PUBLIC_ROLE)


@dataclass(frozen=True)
class Grant:
    """``role`` may use ``privilege`` on ``object_type`` ``object_name`` of ``db_name``
    (``*`` in a name means any); ``grantor`` is the user who granted it."""

    role: str
    object_type: str
    object_name: str
    db_name: str
    privilege: str
    grantor: str = ""


@dataclass(frozen=True)
class Wanted:
    """What a request needs: a privilege on one object of a database."""

    privilege: str
    object_type: str
    object_name: str
    db_name: str


def groups_with_builtins(custom: Mapping[str, Sequence[str]]) -> dict[str, tuple[str, ...]]:
    merged = {name: tuple(privileges) for name, privileges in custom.items()}
    merged.update(BUILTIN_GROUPS)
    return merged


def expand(grant: Grant, groups: Mapping[str, Sequence[str]]) -> list[Grant]:
    """The single-privilege grants a grant stands for."""
    members = groups.get(grant.privilege)
    if members is None:
        return [grant]
    expanded = []
    for privilege in members:
        object_type = object_type_of(privilege)
        object_name = ANY if object_type == GLOBAL else grant.object_name
        expanded.append(
            Grant(grant.role, object_type, object_name, grant.db_name, privilege, grant.grantor)
        )
    return expanded


def _matches(grant: Grant, wanted: Wanted) -> bool:
    if grant.db_name not in (ANY, wanted.db_name):
        return False
    if grant.privilege == ALL:
        # Milvus's All: every privilege on every object of the database.
        return True
    return (
        grant.privilege in (ANY, wanted.privilege)
        and grant.object_type == wanted.object_type
        and grant.object_name in (ANY, wanted.object_name)
    )


def permits(
    roles: Iterable[str],
    wanted: Wanted,
    grants: Iterable[Grant],
    groups: Mapping[str, Sequence[str]],
) -> bool:
    """Whether any of ``roles`` (``public`` always counts) is granted ``wanted``.

    ``groups`` maps every group name, built-in and custom, to its privileges.
    The ``admin`` role may do anything.
    """
    held = set(roles) | {PUBLIC_ROLE}
    if ADMIN_ROLE in held:
        return True
    for grant in grants:
        if grant.role not in held:
            continue
        if any(_matches(single, wanted) for single in expand(grant, groups)):
            return True
    return False
