"""Databases: create, drop, alter, list, describe (stored by the coordinator).

Names are checked here as Milvus checks them; the coordinator refuses what
depends on its state (a duplicate, the 65th database, a database that still
holds collections, dropping ``default``).
"""

from __future__ import annotations

from typing import Any

from elanus import errors
from elanus.meta import DatabaseInfo
from proto.public import common_pb2, milvus_pb2
from proxy import convert
from proxy.context import ProxyContext
from proxy.pipeline import Call


def create_database(
    ctx: ProxyContext, request: milvus_pb2.CreateDatabaseRequest, call: Call
) -> Any:
    convert.validate_database_name(request.db_name)
    properties = convert.kv_pairs_to_dict(request.properties)
    ctx.coordinator.create_database(request.db_name, properties)


def drop_database(ctx: ProxyContext, request: milvus_pb2.DropDatabaseRequest, call: Call) -> Any:
    convert.validate_database_name(request.db_name)
    ctx.coordinator.drop_database(request.db_name)


def alter_database(ctx: ProxyContext, request: milvus_pb2.AlterDatabaseRequest, call: Call) -> Any:
    properties = convert.kv_pairs_to_dict(request.properties)
    if not properties and not request.delete_keys:
        raise errors.OperationRefused(
            "alter database with empty properties and delete keys, "
            "expected to set either properties or delete keys"
        )
    ctx.coordinator.alter_database(call.db_name, properties, tuple(request.delete_keys))


def list_databases(
    ctx: ProxyContext, request: milvus_pb2.ListDatabasesRequest, call: Call
) -> milvus_pb2.ListDatabasesResponse:
    databases = ctx.coordinator.list_databases()
    return milvus_pb2.ListDatabasesResponse(
        status=convert.status(),
        db_names=[d.name for d in databases],
        db_ids=[d.db_id for d in databases],
        created_timestamp=[d.created_ts for d in databases],
    )


def describe_database(ctx: ProxyContext, request: Any, call: Call) -> Any:
    db: DatabaseInfo = ctx.coordinator.describe_database(call.db_name)
    return milvus_pb2.DescribeDatabaseResponse(
        status=convert.status(),
        db_name=db.name,
        dbID=db.db_id,
        created_timestamp=db.created_ts,
        properties=[common_pb2.KeyValuePair(key=k, value=v) for k, v in db.properties.items()],
    )
