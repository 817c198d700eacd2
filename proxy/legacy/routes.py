"""The Milvus 1.x RPCs Elanus serves, on the same pipeline as the 2.x API: the
same guard, database resolution, error handling and metrics; only the wire's
Status differs. Each RPC checks the privilege its 2.x counterpart needs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from google.protobuf.message import Message

from proto.legacy.v1 import milvus_pb2 as v1
from proto.legacy.v1 import status_pb2
from proxy.context import ProxyContext
from proxy.legacy import translate as t
from proxy.legacy.service import LegacyApi
from proxy.pipeline import PUBLIC, Call, Privilege, Route, Wire, carrying

MILVUS_V1 = Wire("v1", "v1.", t.status, carrying(t.refusal_status, status_pb2.Status))

# Declared by pymilvus 1.1.2 for Milvus 0.11's hybrid collections, not served.
HYBRID_REFUSAL = (
    "hybrid collections (Milvus 0.11) are not supported; use a Milvus 2.x client "
    "for collections with scalar fields"
)
_HYBRID_RPCS = (
    "CreateHybridCollection HasHybridCollection DropHybridCollection DescribeHybridCollection "
    "CountHybridCollection ShowHybridCollections ShowHybridCollectionInfo "
    "PreloadHybridCollection InsertEntity HybridSearch HybridSearchInSegments GetEntityByID "
    "GetEntityIDs DeleteEntitiesByID"
)
UNSERVED_REASONS = dict.fromkeys(_HYBRID_RPCS.split(), HYBRID_REFUSAL)


def _global(name: str) -> Privilege:
    return Privilege("Global", name)


def _collection(name: str) -> Privilege:
    return Privilege("Collection", name)


# method, reply (None: a bare Status), privilege
TABLE: tuple[tuple[str, type[Message] | None, Privilege | None], ...] = (
    ("Cmd", v1.StringReply, PUBLIC),
    ("CreateCollection", None, _global("CreateCollection")),
    ("HasCollection", v1.BoolReply, _collection("DescribeCollection")),
    ("DescribeCollection", v1.CollectionSchema, _collection("DescribeCollection")),
    ("CountCollection", v1.CollectionRowCount, _collection("GetStatistics")),
    ("ShowCollections", v1.CollectionNameList, _global("ShowCollections")),
    ("ShowCollectionInfo", v1.CollectionInfo, _collection("GetStatistics")),
    ("DropCollection", None, _global("DropCollection")),
    ("CreateIndex", None, _collection("CreateIndex")),
    ("DescribeIndex", v1.IndexParam, _collection("IndexDetail")),
    ("DropIndex", None, _collection("DropIndex")),
    ("CreatePartition", None, _collection("CreatePartition")),
    ("HasPartition", v1.BoolReply, _collection("HasPartition")),
    ("ShowPartitions", v1.PartitionList, _collection("ShowPartitions")),
    ("DropPartition", None, _collection("DropPartition")),
    ("Insert", v1.VectorIds, _collection("Insert")),
    ("GetVectorsByID", v1.VectorsData, _collection("Query")),
    ("GetVectorIDs", v1.VectorIds, _collection("Query")),
    ("DeleteByID", None, _collection("Delete")),
    ("Search", v1.TopKQueryResult, _collection("Search")),
    ("SearchByID", v1.TopKQueryResult, _collection("Search")),
    ("SearchInFiles", v1.TopKQueryResult, _collection("Search")),
    ("PreloadCollection", None, _collection("Load")),
    ("ReleaseCollection", None, _collection("Release")),
    ("ReloadSegments", None, _collection("Load")),
    ("Flush", None, _collection("Flush")),
    ("Compact", None, _collection("Compaction")),
)


def legacy_routes(api: LegacyApi) -> tuple[Route, ...]:
    return tuple(
        Route(method, _handler(getattr(api, method)), reply, privilege)
        for method, reply, privilege in TABLE
    )


def _handler(bound: Callable[[Any, Call], Any]) -> Callable[[ProxyContext, Any, Call], Any]:
    def handle(ctx: ProxyContext, request: Any, call: Call) -> Any:
        return bound(request, call)

    return handle
