"""What a proxy asks the coordinator to change about users and RBAC, and what it
reads back: plain data, JSON between roles like the rest of the metadata."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from enum import Enum

from elanus.access.grants import Grant
from elanus.access.rbac import RbacState


class AccessOp(str, Enum):
    CREATE_USER = "create_user"
    UPDATE_PASSWORD = "update_password"
    DELETE_USER = "delete_user"
    CREATE_ROLE = "create_role"
    DROP_ROLE = "drop_role"
    BIND_ROLE = "bind_role"
    GRANT_V1 = "grant_v1"
    GRANT_V2 = "grant_v2"
    CREATE_GROUP = "create_group"
    DROP_GROUP = "drop_group"
    OPERATE_GROUP = "operate_group"


@dataclass(frozen=True)
class AccessChange:
    """One change; which fields it reads depends on ``op``. ``add`` False means
    remove: unbind a role, revoke a grant, take privileges out of a group."""

    op: AccessOp
    user: str = ""
    password: str = ""
    role: str = ""
    description: str = ""
    force: bool = False
    add: bool = True
    grant: Grant | None = None
    group: str = ""
    privileges: tuple[str, ...] = ()

    def to_json(self) -> bytes:
        return json.dumps(asdict(self)).encode()

    @classmethod
    def from_json(cls, data: bytes) -> AccessChange:
        value = json.loads(data)
        grant = value.pop("grant")
        return cls(
            op=AccessOp(value.pop("op")),
            grant=Grant(**grant) if grant else None,
            privileges=tuple(value.pop("privileges")),
            **value,
        )


@dataclass
class AccessSnapshot:
    """Users (name to bcrypt hash) and RBAC as of ``version``: what a proxy decides by."""

    version: int
    password_hashes: dict[str, str] = field(default_factory=dict)
    rbac: RbacState = field(default_factory=RbacState)

    def to_json(self) -> bytes:
        return json.dumps(
            {
                "version": self.version,
                "password_hashes": self.password_hashes,
                "rbac": json.loads(self.rbac.to_json()),
            }
        ).encode()

    @classmethod
    def from_json(cls, data: bytes) -> AccessSnapshot:
        value = json.loads(data)
        return cls(
            version=int(value["version"]),
            password_hashes=dict(value["password_hashes"]),
            rbac=RbacState.from_json(json.dumps(value["rbac"]).encode()),
        )
