"""Roles over gRPC: clients that implement :mod:`elanus.services`, and serving helpers.

``codec`` converts between the roles' dataclasses and ``proto/internal/roles.proto``;
``status`` maps errors both ways; ``server`` starts a gRPC server for servicers
(each role's ``grpc_service.py``) and wraps their handlers; ``clients`` holds one
client per role interface. Standalone never needs any of this: it hands roles
each other's objects. A cluster hands them these clients.
"""

from elanus.rpc.clients import (
    CoordinatorGrpcClient,
    DataNodeGrpcClient,
    IndexNodeGrpcClient,
    QueryNodeGrpcClient,
)
from elanus.rpc.server import RoleServer, answers, start_server

__all__ = [
    "CoordinatorGrpcClient",
    "DataNodeGrpcClient",
    "IndexNodeGrpcClient",
    "QueryNodeGrpcClient",
    "RoleServer",
    "answers",
    "start_server",
]
