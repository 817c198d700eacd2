"""The Milvus 0.x "table" API, each RPC translated onto the 1.x one.

A 0.x table is a 1.x collection (proxy/legacy/translate.py: an INT64 key ``id``,
one vector field ``vector``, the metric and ``index_file_size`` as
properties), so 1.x and 2.x clients see it too. Each handler here turns its
0.x request into what :class:`~proxy.legacy.service.LegacyApi` reads, calls
it, and spells the answer in 0.x messages; errors are raised as 1.x ones and
the 0.x Wire (proxy/legacy/v0/routes.py) turns them into a 0.x Status, whose
codes are 1.x's by number (0.x names code 4 TABLE_NOT_EXISTS and 9
ILLEGAL_TABLE_NAME, and has 6 ILLEGAL_RANGE, which 1.x dropped).

What 0.x has and Elanus has not: date ranges (Milvus 0.x partitioned its files
by insertion date; ``query_ranges`` and DeleteByDate are refused with
ILLEGAL_RANGE) and segment files (SearchInFiles). A partition is named by its
tag: ShowPartitions reports the tag as its ``partition_name`` too.
"""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

from elanus.meta import DEFAULT_PARTITION
from proto.legacy.v0 import milvus_pb2 as v0
from proto.legacy.v0 import status_pb2 as status0
from proto.legacy.v1 import milvus_pb2 as v1
from proto.legacy.v1 import status_pb2 as status1
from proxy.legacy import translate as t
from proxy.legacy.service import LegacyApi
from proxy.pipeline import Call

# pymilvus 0.2.x's server generation (Milvus 0.5); the client checks nothing.
SERVER_VERSION = "0.5.3"
NO_DATES = (
    "Elanus keeps no insertion dates (Milvus 0.x's date-partitioned files); "
    "search or delete without a date range"
)


def status(code: int = status0.SUCCESS, reason: str = "") -> status0.Status:
    return status0.Status(error_code=code, reason=reason or ("OK" if code == 0 else ""))  # type: ignore[arg-type]


def from_v1(status_v1: status1.Status) -> status0.Status:
    """A 1.x Status spelled in 0.x: the codes are the same numbers."""
    return status(status_v1.error_code, status_v1.reason)


def _checked(reply: Any) -> Any:
    """A 1.x reply's payload, or its error raised (LegacyApi answers some errors in-band)."""
    if reply is not None and reply.status.error_code != status1.SUCCESS:
        raise t.Refused(reply.status.error_code, reply.status.reason)
    return reply


class Legacy0Api:
    """The 0.x RPCs, each answering its reply or raising (proxy/legacy/v0/routes.py serves them)."""

    def __init__(self, v1_api: LegacyApi) -> None:
        self.v1 = v1_api

    @staticmethod
    def _name(table_name: str) -> v1.CollectionName:
        return v1.CollectionName(collection_name=table_name)

    # --- tables

    def CreateTable(self, request: Any, call: Call) -> Any:
        schema = v1.CollectionSchema(
            collection_name=request.table_name,
            dimension=request.dimension,
            index_file_size=request.index_file_size,
            metric_type=request.metric_type,
        )
        self.v1.CreateCollection(schema, call)

    def HasTable(self, request: Any, call: Call) -> Any:
        reply = _checked(self.v1.HasCollection(self._name(request.table_name), call))
        return v0.BoolReply(status=status(), bool_reply=reply.bool_reply)

    def DescribeTable(self, request: Any, call: Call) -> Any:
        reply = _checked(self.v1.DescribeCollection(self._name(request.table_name), call))
        return v0.TableSchema(
            status=status(),
            table_name=reply.collection_name,
            dimension=reply.dimension,
            index_file_size=reply.index_file_size,
            metric_type=reply.metric_type,
        )

    def CountTable(self, request: Any, call: Call) -> Any:
        reply = _checked(self.v1.CountCollection(self._name(request.table_name), call))
        return v0.TableRowCount(status=status(), table_row_count=reply.collection_row_count)

    def ShowTables(self, request: Any, call: Call) -> Any:
        reply = _checked(self.v1.ShowCollections(v1.Command(cmd=request.cmd), call))
        return v0.TableNameList(status=status(), table_names=list(reply.collection_names))

    def DropTable(self, request: Any, call: Call) -> Any:
        self.v1.DropCollection(self._name(request.table_name), call)

    def PreloadTable(self, request: Any, call: Call) -> Any:
        self.v1.PreloadCollection(
            v1.PreloadCollectionParam(collection_name=request.table_name), call
        )

    # --- indexes

    def CreateIndex(self, request: Any, call: Call) -> Any:
        # 0.x has one index parameter, nlist (0: the server's default).
        params = {"nlist": request.index.nlist} if request.index.nlist > 0 else {}
        if request.index.index_type == 1:  # FLAT: no parameters
            params = {}
        self.v1.CreateIndex(
            v1.IndexParam(
                collection_name=request.table_name,
                index_type=request.index.index_type,
                extra_params=[v1.KeyValuePair(key="params", value=json.dumps(params))],
            ),
            call,
        )

    def DescribeIndex(self, request: Any, call: Call) -> Any:
        reply = _checked(self.v1.DescribeIndex(self._name(request.table_name), call))
        params = t.json_params(reply.extra_params)
        nlist = params.get("nlist", 0)
        return v0.IndexParam(
            status=status(),
            table_name=reply.collection_name,
            index=v0.Index(
                index_type=reply.index_type, nlist=nlist if isinstance(nlist, int) else 0
            ),
        )

    def DropIndex(self, request: Any, call: Call) -> Any:
        self.v1.DropIndex(self._name(request.table_name), call)

    # --- partitions

    def CreatePartition(self, request: Any, call: Call) -> Any:
        tag = request.tag or request.partition_name
        self.v1.CreatePartition(
            v1.PartitionParam(collection_name=request.table_name, tag=tag), call
        )

    def ShowPartitions(self, request: Any, call: Call) -> Any:
        # 0.x lists the partitions made by tag; the table itself holds the untagged rows.
        reply = _checked(self.v1.ShowPartitions(self._name(request.table_name), call))
        partitions = [
            v0.PartitionParam(table_name=request.table_name, partition_name=tag, tag=tag)
            for tag in reply.partition_tag_array
            if tag != DEFAULT_PARTITION
        ]
        return v0.PartitionList(status=status(), partition_array=partitions)

    def DropPartition(self, request: Any, call: Call) -> Any:
        tag = request.tag or request.partition_name
        self.v1.DropPartition(v1.PartitionParam(collection_name=request.table_name, tag=tag), call)

    # --- rows

    def Insert(self, request: Any, call: Call) -> Any:
        # LegacyApi.Insert reads these four fields; the row records are read as they are.
        as_v1 = SimpleNamespace(
            collection_name=request.table_name,
            partition_tag=request.partition_tag,
            row_record_array=request.row_record_array,
            row_id_array=request.row_id_array,
        )
        reply = _checked(self.v1.Insert(as_v1, call))
        return v0.VectorIds(status=status(), vector_id_array=list(reply.vector_id_array))

    def DeleteByDate(self, request: Any, call: Call) -> Any:
        self.v1._view(request.table_name)  # an unknown table is reported as such first
        raise t.Refused(status0.ILLEGAL_RANGE, NO_DATES)

    # --- search

    def Search(self, request: Any, call: Call) -> Any:
        return self._search(request, call)

    def SearchInFiles(self, request: Any, call: Call) -> Any:
        raise t.Refused(
            status0.ILLEGAL_ARGUMENT,
            "Elanus has no 0.x table files to search in; search the table instead",
        )

    def _search(self, request: Any, call: Call) -> v0.TopKQueryResult:
        target = self.v1._view(request.table_name)
        if len(request.query_range_array):
            raise t.Refused(status0.ILLEGAL_RANGE, NO_DATES)
        queries = t.vectors_from_records(request.query_record_array, target)
        params = {"nprobe": request.nprobe} if request.nprobe > 0 else {}
        extra = [v1.KeyValuePair(key="params", value=json.dumps(params))]
        reply = self.v1._search(target, queries, request.topk, request.partition_tag_array, extra)
        return v0.TopKQueryResult(
            status=status(),
            row_num=reply.row_num,
            ids=list(reply.ids),
            distances=list(reply.distances),
        )

    # --- the server

    def Cmd(self, request: Any, call: Call) -> Any:
        reply = _checked(self.v1.Cmd(v1.Command(cmd=request.cmd), call))
        text = SERVER_VERSION if request.cmd.strip() == "version" else reply.string_reply
        return v0.StringReply(status=status(), string_reply=text)
