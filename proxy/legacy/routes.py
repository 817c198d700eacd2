"""The Milvus 1.x RPCs Elanus serves, on the same pipeline as the 2.x API: the
same guard, database resolution, error handling and metrics; only the wire's
Status differs. Each RPC checks the privilege its 2.x counterpart needs.
"""

from __future__ import annotations

from google.protobuf.message import Message

from proto.legacy.v1 import milvus_pb2 as v1
from proto.legacy.v1 import status_pb2
from proxy.legacy import translate as t
from proxy.legacy.service import LegacyApi
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


# method, reply (None: a bare Status), privilege
TABLE: tuple[tuple[str, type[Message] | None, Privilege | None], ...] = (
    ("Cmd", v1.StringReply, PUBLIC),
    ("CreateCollection", None, on_global("CreateCollection")),
    ("HasCollection", v1.BoolReply, PUBLIC),
    ("DescribeCollection", v1.CollectionSchema, on_global("DescribeCollection")),
    ("CountCollection", v1.CollectionRowCount, on_collection("GetStatistics")),
    ("ShowCollections", v1.CollectionNameList, PUBLIC),
    ("ShowCollectionInfo", v1.CollectionInfo, on_collection("GetStatistics")),
    ("DropCollection", None, on_global("DropCollection")),
    ("CreateIndex", None, on_collection("CreateIndex")),
    ("DescribeIndex", v1.IndexParam, on_collection("IndexDetail")),
    ("DropIndex", None, on_collection("DropIndex")),
    ("CreatePartition", None, on_collection("CreatePartition")),
    ("HasPartition", v1.BoolReply, on_collection("HasPartition")),
    ("ShowPartitions", v1.PartitionList, on_collection("ShowPartitions")),
    ("DropPartition", None, on_collection("DropPartition")),
    ("Insert", v1.VectorIds, on_collection("Insert")),
    ("GetVectorsByID", v1.VectorsData, on_collection("Query")),
    ("GetVectorIDs", v1.VectorIds, on_collection("Query")),
    ("DeleteByID", None, on_collection("Delete")),
    ("Search", v1.TopKQueryResult, on_collection("Search")),
    ("SearchByID", v1.TopKQueryResult, on_collection("Search")),
    ("SearchInFiles", v1.TopKQueryResult, on_collection("Search")),
    ("PreloadCollection", None, on_collection("Load")),
    ("ReleaseCollection", None, on_collection("Release")),
    ("ReloadSegments", None, on_collection("Load")),
    ("Flush", None, on_collection("Flush")),
    ("Compact", None, on_collection("Compaction")),
)


def legacy_routes(api: LegacyApi) -> tuple[Route, ...]:
    return routes_of(api, TABLE)
