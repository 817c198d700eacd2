"""The Milvus 0.x RPCs Elanus serves, on the same pipeline as the 2.x and 1.x APIs:
the same guard, database resolution, error handling and metrics; only the
wire's Status differs. Each RPC checks the privilege its 2.x counterpart needs.
"""

from __future__ import annotations

from google.protobuf.message import Message

from elanus import errors
from proto.legacy.v0 import milvus_pb2 as v0
from proto.legacy.v0 import status_pb2 as status0
from proxy.legacy import translate as t
from proxy.legacy.v0.service import Legacy0Api, from_v1, status
from proxy.pipeline import (
    PUBLIC,
    Privilege,
    Route,
    Wire,
    carrying,
    on_collection,
    on_global,
    routes_of,
)


def _refusal(exc: errors.ElanusError) -> Message:
    return from_v1(t.refusal_status(exc))


MILVUS_V0 = Wire("v0", "v0.", status, carrying(_refusal, status0.Status))


# method, reply (None: a bare Status), privilege
TABLE: tuple[tuple[str, type[Message] | None, Privilege | None], ...] = (
    ("Cmd", v0.StringReply, PUBLIC),
    ("CreateTable", None, on_global("CreateCollection")),
    ("HasTable", v0.BoolReply, PUBLIC),
    ("DescribeTable", v0.TableSchema, on_global("DescribeCollection")),
    ("CountTable", v0.TableRowCount, on_collection("GetStatistics")),
    ("ShowTables", v0.TableNameList, PUBLIC),
    ("DropTable", None, on_global("DropCollection")),
    ("PreloadTable", None, on_collection("Load")),
    ("CreateIndex", None, on_collection("CreateIndex")),
    ("DescribeIndex", v0.IndexParam, on_collection("IndexDetail")),
    ("DropIndex", None, on_collection("DropIndex")),
    ("CreatePartition", None, on_collection("CreatePartition")),
    ("ShowPartitions", v0.PartitionList, on_collection("ShowPartitions")),
    ("DropPartition", None, on_collection("DropPartition")),
    ("Insert", v0.VectorIds, on_collection("Insert")),
    ("DeleteByDate", None, on_collection("Delete")),
    ("Search", v0.TopKQueryResult, on_collection("Search")),
    ("SearchInFiles", v0.TopKQueryResult, on_collection("Search")),
)


def legacy0_routes(api: Legacy0Api) -> tuple[Route, ...]:
    return routes_of(api, TABLE)
