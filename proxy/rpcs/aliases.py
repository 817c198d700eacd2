"""Aliases: a second name of a collection in its database, switched atomically.

The coordinator resolves an alias wherever a collection is looked up by name
(``describe_collection``, behind ``ctx.collection``), so every RPC that takes a
collection name takes an alias too; these RPCs manage them.
"""

from __future__ import annotations

from typing import Any

from proto.public import milvus_pb2
from proxy import convert
from proxy.context import ProxyContext
from proxy.pipeline import Call


def create_alias(ctx: ProxyContext, request: milvus_pb2.CreateAliasRequest, call: Call) -> Any:
    convert.validate_collection_name(request.collection_name)
    convert.validate_alias(request.alias)
    ctx.coordinator.create_alias(call.db_name, request.alias, request.collection_name)


def alter_alias(ctx: ProxyContext, request: milvus_pb2.AlterAliasRequest, call: Call) -> Any:
    convert.validate_collection_name(request.collection_name)
    convert.validate_alias(request.alias)
    ctx.coordinator.alter_alias(call.db_name, request.alias, request.collection_name)


def drop_alias(ctx: ProxyContext, request: milvus_pb2.DropAliasRequest, call: Call) -> Any:
    convert.validate_alias(request.alias)
    ctx.coordinator.drop_alias(call.db_name, request.alias)


def describe_alias(
    ctx: ProxyContext, request: milvus_pb2.DescribeAliasRequest, call: Call
) -> milvus_pb2.DescribeAliasResponse:
    convert.validate_alias(request.alias)
    collection = ctx.coordinator.describe_alias(call.db_name, request.alias)
    return milvus_pb2.DescribeAliasResponse(
        status=convert.status(), db_name=call.db_name, alias=request.alias, collection=collection
    )


def list_aliases(
    ctx: ProxyContext, request: milvus_pb2.ListAliasesRequest, call: Call
) -> milvus_pb2.ListAliasesResponse:
    if request.collection_name:
        convert.validate_collection_name(request.collection_name)
    aliases = ctx.coordinator.list_aliases(call.db_name, request.collection_name)
    return milvus_pb2.ListAliasesResponse(
        status=convert.status(),
        db_name=call.db_name,
        collection_name=request.collection_name,
        aliases=aliases,
    )
