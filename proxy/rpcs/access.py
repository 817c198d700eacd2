"""Users, roles, grants and privilege groups (issue 15).

Changes go to the coordinator as one AccessChange each (it validates against
the stored state and refuses with Milvus's messages); reads are answered from
the access snapshot, the same one the guard decides by.
"""

from __future__ import annotations

import base64
import binascii

from elanus import errors
from elanus.access.changes import AccessChange, AccessOp, AccessSnapshot
from elanus.access.grants import Grant
from elanus.access.passwords import password_matches, validate_password, validate_username
from elanus.access.rbac import ROOT_USER, grant_of, validate_group_name, validate_role_name
from elanus.meta import DEFAULT_DB
from proto.public import milvus_pb2 as pb
from proxy.context import ProxyContext
from proxy.pipeline import Call


def _decoded(encoded: str, what: str) -> str:
    try:
        return base64.b64decode(encoded, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise errors.ParameterInvalid(cause=f"decode {what} fail") from None


def _change(ctx: ProxyContext, change: AccessChange) -> None:
    ctx.coordinator.change_access(change)


def _snapshot(ctx: ProxyContext) -> AccessSnapshot:
    return ctx.coordinator.access_snapshot()


def _grantor(call: Call) -> str:
    return call.user or ROOT_USER


# --- users


def create_credential(ctx: ProxyContext, request: pb.CreateCredentialRequest, call: Call) -> None:
    user = validate_username(request.username)
    password = _decoded(request.password, "password")
    validate_password(password)
    _change(ctx, AccessChange(AccessOp.CREATE_USER, user=user, password=password))


def update_credential(ctx: ProxyContext, request: pb.UpdateCredentialRequest, call: Call) -> None:
    user = validate_username(request.username)
    old_password = _decoded(request.oldPassword, "old password")
    new_password = _decoded(request.newPassword, "password")
    validate_password(new_password)
    if call.user != ROOT_USER:
        stored = _snapshot(ctx).password_hashes.get(user)
        if stored is None or not password_matches(old_password, stored.encode()):
            raise errors.PrivilegeNotAuthenticated(cause=f"old password not correct for {user}")
    _change(ctx, AccessChange(AccessOp.UPDATE_PASSWORD, user=user, password=new_password))


def delete_credential(ctx: ProxyContext, request: pb.DeleteCredentialRequest, call: Call) -> None:
    if request.username.strip() == ROOT_USER:
        raise errors.PrivilegeNotPermitted(cause="root user cannot be deleted")
    _change(ctx, AccessChange(AccessOp.DELETE_USER, user=request.username.strip()))


def list_cred_users(
    ctx: ProxyContext, request: pb.ListCredUsersRequest, call: Call
) -> pb.ListCredUsersResponse:
    return pb.ListCredUsersResponse(usernames=sorted(_snapshot(ctx).password_hashes))


def select_user(
    ctx: ProxyContext, request: pb.SelectUserRequest, call: Call
) -> pb.SelectUserResponse:
    snapshot = _snapshot(ctx)
    if request.HasField("user") and request.user.name:
        names = [validate_username(request.user.name)]
        if names[0] not in snapshot.password_hashes:
            return pb.SelectUserResponse()
    else:
        names = sorted(snapshot.password_hashes)
    results = []
    for name in names:
        roles = sorted(snapshot.rbac.user_roles.get(name, ())) if request.include_role_info else []
        results.append(
            pb.UserResult(
                user=pb.UserEntity(name=name), roles=[pb.RoleEntity(name=r) for r in roles]
            )
        )
    return pb.SelectUserResponse(results=results)


# --- roles


def create_role(ctx: ProxyContext, request: pb.CreateRoleRequest, call: Call) -> None:
    role = validate_role_name(request.entity.name)
    _change(ctx, AccessChange(AccessOp.CREATE_ROLE, role=role))


def drop_role(ctx: ProxyContext, request: pb.DropRoleRequest, call: Call) -> None:
    role = validate_role_name(request.role_name)
    _change(ctx, AccessChange(AccessOp.DROP_ROLE, role=role, force=request.force_drop))


def operate_user_role(ctx: ProxyContext, request: pb.OperateUserRoleRequest, call: Call) -> None:
    user = validate_username(request.username)
    role = validate_role_name(request.role_name)
    if request.type not in (pb.AddUserToRole, pb.RemoveUserFromRole):
        raise errors.ParameterInvalid(cause=f"invalid operate user role type {request.type}")
    add = request.type == pb.AddUserToRole
    _change(ctx, AccessChange(AccessOp.BIND_ROLE, user=user, role=role, add=add))


def select_role(
    ctx: ProxyContext, request: pb.SelectRoleRequest, call: Call
) -> pb.SelectRoleResponse:
    rbac = _snapshot(ctx).rbac
    if request.HasField("role") and request.role.name:
        names = [validate_role_name(request.role.name)]
        if names[0] not in rbac.roles:
            return pb.SelectRoleResponse()
    else:
        names = sorted(rbac.roles)
    results = []
    for name in names:
        users = rbac.users_of(name) if request.include_user_info else []
        results.append(
            pb.RoleResult(
                role=pb.RoleEntity(name=name), users=[pb.UserEntity(name=u) for u in users]
            )
        )
    return pb.SelectRoleResponse(results=results)


# --- grants


def _operation(kind: int) -> bool:
    if kind not in (pb.Grant, pb.Revoke):
        raise errors.ParameterInvalid(cause="the type in the request not grant or revoke")
    return bool(kind == pb.Grant)


def operate_privilege(ctx: ProxyContext, request: pb.OperatePrivilegeRequest, call: Call) -> None:
    entity = request.entity
    if not entity.grantor.privilege.name:
        raise errors.ParameterInvalid(cause="the privilege entity in the grantor entity is nil")
    grant = grant_of(
        validate_role_name(entity.role.name),
        entity.object.name,
        entity.object_name,
        entity.db_name,
        entity.grantor.privilege.name,
        _grantor(call),
    )
    add = _operation(request.type)
    _change(ctx, AccessChange(AccessOp.GRANT_V1, grant=grant, add=add))


def operate_privilege_v2(
    ctx: ProxyContext, request: pb.OperatePrivilegeV2Request, call: Call
) -> None:
    if not request.grantor.privilege.name:
        raise errors.ParameterInvalid(cause="the privilege entity in the grantor entity is nil")
    grant = grant_of(
        validate_role_name(request.role.name),
        "",
        request.collection_name,
        request.db_name,
        request.grantor.privilege.name,
        _grantor(call),
    )
    add = _operation(request.type)
    _change(ctx, AccessChange(AccessOp.GRANT_V2, grant=grant, add=add))


def select_grant(
    ctx: ProxyContext, request: pb.SelectGrantRequest, call: Call
) -> pb.SelectGrantResponse:
    entity = request.entity
    role = validate_role_name(entity.role.name)
    rbac = _snapshot(ctx).rbac
    if role not in rbac.roles:
        raise errors.OperationRefused(
            "not found the role, maybe the role isn't existed or internal system error"
        )
    chosen: list[Grant] = []
    for grant in rbac.grants_of(role):
        if entity.object.name and grant.object_type != entity.object.name:
            continue
        if entity.object_name and grant.object_name != entity.object_name:
            continue
        if entity.db_name and grant.db_name not in (entity.db_name, "*"):
            continue
        chosen.append(grant)
    return pb.SelectGrantResponse(entities=[_grant_entity(g) for g in chosen])


def _grant_entity(grant: Grant) -> pb.GrantEntity:
    return pb.GrantEntity(
        role=pb.RoleEntity(name=grant.role),
        object=pb.ObjectEntity(name=grant.object_type),
        object_name=grant.object_name,
        db_name=grant.db_name or DEFAULT_DB,
        grantor=pb.GrantorEntity(
            user=pb.UserEntity(name=grant.grantor),
            privilege=pb.PrivilegeEntity(name=grant.privilege),
        ),
    )


# --- privilege groups


def create_privilege_group(
    ctx: ProxyContext, request: pb.CreatePrivilegeGroupRequest, call: Call
) -> None:
    group = validate_group_name(request.group_name)
    _change(ctx, AccessChange(AccessOp.CREATE_GROUP, group=group))


def drop_privilege_group(
    ctx: ProxyContext, request: pb.DropPrivilegeGroupRequest, call: Call
) -> None:
    group = validate_group_name(request.group_name)
    _change(ctx, AccessChange(AccessOp.DROP_GROUP, group=group))


def operate_privilege_group(
    ctx: ProxyContext, request: pb.OperatePrivilegeGroupRequest, call: Call
) -> None:
    group = validate_group_name(request.group_name)
    if request.type not in (pb.AddPrivilegesToGroup, pb.RemovePrivilegesFromGroup):
        raise errors.ParameterInvalid(cause=f"invalid operate privilege group type {request.type}")
    privileges = tuple(p.name for p in request.privileges)
    if not privileges:
        raise errors.ParameterInvalid(cause="privileges of the privilege group are empty")
    add = request.type == pb.AddPrivilegesToGroup
    change = AccessChange(AccessOp.OPERATE_GROUP, group=group, privileges=privileges, add=add)
    _change(ctx, change)


def list_privilege_groups(
    ctx: ProxyContext, request: pb.ListPrivilegeGroupsRequest, call: Call
) -> pb.ListPrivilegeGroupsResponse:
    groups = _snapshot(ctx).rbac.all_groups()
    return pb.ListPrivilegeGroupsResponse(
        privilege_groups=[
            pb.PrivilegeGroupInfo(
                group_name=name, privileges=[pb.PrivilegeEntity(name=p) for p in privileges]
            )
            for name, privileges in sorted(groups.items())
        ]
    )
