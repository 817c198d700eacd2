"""The Milvus 0.x RPCs Elanus serves, on the same pipeline as the 2.x and 1.x APIs:
the same guard, database resolution, error handling and metrics; only the
wire's Status differs. Each RPC checks the privilege its 2.x counterpart needs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from google.protobuf.message import Message

from elanus import errors
from proto.legacy.v0 import milvus_pb2 as v0
from proto.legacy.v0 import status_pb2 as status0
from proxy.context import ProxyContext
from proxy.legacy import translate as t
from proxy.legacy.v0.service import Legacy0Api, from_v1, status
from proxy.pipeline import PUBLIC, Call, Privilege, Route, Wire, carrying


def _refusal(exc: errors.ElanusError) -> Message:
    return from_v1(t.refusal_status(exc))


MILVUS_V0 = Wire("v0", "v0.", status, carrying(_refusal, status0.Status))


def _global(name: str) -> Privilege:
    return Privilege("Global", name)


def _collection(name: str) -> Privilege:
    return Privilege("Collection", name)


# method, reply (None: a bare Status), privilege
TABLE: tuple[tuple[str, type[Message] | None, Privilege | None], ...] = (
    ("Cmd", v0.StringReply, PUBLIC),
    ("CreateTable", None, _global("CreateCollection")),
    ("HasTable", v0.BoolReply, _collection("DescribeCollection")),
    ("DescribeTable", v0.TableSchema, _collection("DescribeCollection")),
    ("CountTable", v0.TableRowCount, _collection("GetStatistics")),
    ("ShowTables", v0.TableNameList, _global("ShowCollections")),
    ("DropTable", None, _global("DropCollection")),
    ("PreloadTable", None, _collection("Load")),
    ("CreateIndex", None, _collection("CreateIndex")),
    ("DescribeIndex", v0.IndexParam, _collection("IndexDetail")),
    ("DropIndex", None, _collection("DropIndex")),
    ("CreatePartition", None, _collection("CreatePartition")),
    ("ShowPartitions", v0.PartitionList, _collection("ShowPartitions")),
    ("DropPartition", None, _collection("DropPartition")),
    ("Insert", v0.VectorIds, _collection("Insert")),
    ("DeleteByDate", None, _collection("Delete")),
    ("Search", v0.TopKQueryResult, _collection("Search")),
    ("SearchInFiles", v0.TopKQueryResult, _collection("Search")),
)


def legacy0_routes(api: Legacy0Api) -> tuple[Route, ...]:
    return tuple(
        Route(method, _handler(getattr(api, method)), reply, privilege)
        for method, reply, privilege in TABLE
    )


def _handler(bound: Callable[[Any, Call], Any]) -> Callable[[ProxyContext, Any, Call], Any]:
    def handle(ctx: ProxyContext, request: Any, call: Call) -> Any:
        return bound(request, call)

    return handle
