"""The Milvus 1.x API: each RPC translated onto the proxy's own operations.

It uses the same :class:`~proxy.context.ProxyContext` as the 2.x API: the
coordinator for DDL, indexes, loads, flush and compaction, the DML writer for
inserts and deletes, the reader for search and query. Reads are Strong (a 1.x
client expects to see what it wrote). A 1.x collection needs no load: the
servicer loads it when it is created and whenever a read finds it released.
A handler answers its reply or raises; the pipeline (proxy/legacy/routes.py)
turns what it raises into a 1.x Status.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import numpy as np
import pyarrow as pa

from elanus import errors, vectors
from elanus.columns import vector_column, vectors_from_column
from elanus.meta import DEFAULT_DB, DEFAULT_PARTITION, CollectionInfo, ConsistencyLevel
from proto.legacy.v1 import milvus_pb2, status_pb2
from proxy.context import ProxyContext
from proxy.legacy import translate as t
from proxy.pipeline import Call
from proxy.reads import Consistency, SearchPlan

log = logging.getLogger(__name__)

STRONG = Consistency(ConsistencyLevel.STRONG, False, 0)
WAIT_S = 120.0  # for a load, a flush or a compaction the 1.x call waits on
POLL_S = 0.05


class LegacyApi:
    """The 1.x RPCs, each answering its reply or raising (proxy/legacy/routes.py serves them)."""

    def __init__(self, ctx: ProxyContext) -> None:
        self.ctx = ctx

    # --- helpers

    def _info(self, name: str) -> CollectionInfo:
        t.check_collection_name(name)
        return self.ctx.coordinator.describe_collection(DEFAULT_DB, name)

    def _view(self, name: str) -> t.LegacyView:
        info = self._info(name)
        vector = info.schema.vector_fields[0].name if info.schema.vector_fields else ""
        # The vector field's index only (a 2.x client may have put scalar ones beside it).
        indexes = self.ctx.coordinator.describe_indexes(info.collection_id, vector)
        return t.view(info, indexes[0].index.metric_type if indexes else "")

    def _index_metric(self, target: t.LegacyView) -> str:
        return t.metric(t.METRIC_NUMBERS[target.metric_name])[1]

    def _build_index(self, target: t.LegacyView, elanus_type: str, params: dict[str, Any]) -> None:
        """Replace the vector index (release, drop, create, load: Elanus drops no loaded index)."""
        spec = vectors.parse_index_spec(
            elanus_type, self._index_metric(target), params, target.vector
        )
        cid = target.info.collection_id
        existing = self.ctx.coordinator.describe_indexes(cid, target.vector.name)
        user_params = {
            "index_type": spec.requested_type,
            "metric_type": spec.metric_type,
            "params": json.dumps(params),
        }
        if existing and existing[0].index.user_params == user_params:
            return
        self.ctx.coordinator.release_collection(cid)
        if existing:
            self.ctx.coordinator.drop_index(cid, target.vector.name, "")
        self.ctx.coordinator.create_index(
            cid,
            target.vector.name,
            target.vector.name,
            spec.index_type,
            spec.metric_type,
            spec.params,
            user_params,
        )
        self._ensure_loaded(target.info)

    def _ensure_loaded(self, info: CollectionInfo) -> None:
        progress = self.ctx.coordinator.load_progress(info.collection_id)
        if (
            progress.state == "NotLoad"
            or progress.loaded_partitions
            and len(progress.loaded_partitions) < len(info.partitions)
        ):
            self.ctx.coordinator.load_collection(info.collection_id)
        deadline = time.monotonic() + WAIT_S
        while self.ctx.coordinator.load_progress(info.collection_id).state != "Loaded":
            if time.monotonic() > deadline:
                raise errors.ServiceUnavailable(f"collection {info.name} did not load in time")
            time.sleep(POLL_S)

    def _partition_ids(self, target: t.LegacyView, tags: Any) -> tuple[int, ...]:
        self._ensure_loaded(target.info)
        info = self._info(target.info.name)  # fresh: the load may follow a new partition
        return self.ctx.reader.loaded_partitions(info, list(tags))

    def _partition_id(self, info: CollectionInfo, tag: str) -> int:
        partition = info.partition(tag or DEFAULT_PARTITION)
        if partition is None:
            raise t.Refused(status_pb2.ILLEGAL_ARGUMENT, f"partition {tag!r} does not exist")
        return partition.partition_id

    def _stored_vectors(
        self, target: t.LegacyView, ids: list[int], partition_ids: tuple[int, ...]
    ) -> dict[int, np.ndarray]:
        if not ids:
            return {}
        found = self.ctx.reader.query(
            target.info,
            partition_ids,
            f"{target.pk.name} in {{ids}}",
            {"ids": list(dict.fromkeys(ids))},
            (target.pk.name, target.vector.name),
            None,
            0,
            False,
            STRONG,
        )
        keys = found.rows.column(target.pk.name).to_pylist()
        stored = vectors_from_column(found.rows.column(target.vector.name), target.vector)
        return {key: stored[row] for row, key in enumerate(keys)}

    def _search(
        self, target: t.LegacyView, queries: np.ndarray, topk: int, tags: Any, extra: Any
    ) -> milvus_pb2.TopKQueryResult:
        max_topk = min(t.MAX_TOPK, self.ctx.reader.max_topk)
        if not 0 < topk <= max_topk:
            raise t.Refused(
                status_pb2.ILLEGAL_TOPK, f"Invalid topk: {topk}: it must be in [1, {max_topk}]"
            )
        params = t.json_params(extra)
        partition_ids = self._partition_ids(target, tags)
        indexes = self.ctx.coordinator.describe_indexes(
            target.info.collection_id, target.vector.name
        )
        if not indexes:
            raise errors.IndexNotFound(f"collection={target.info.name}")
        plan = SearchPlan(
            info=target.info,
            partition_ids=partition_ids,
            field=target.vector,
            metric_type=indexes[0].index.metric_type,
            queries=queries,
            topk=topk,
            offset=0,
            round_decimal=-1,
            search_params=params,
            filter="",
            template_values={},
            output_columns=(),
            ignore_growing=False,
        )
        result = self.ctx.reader.search(plan, STRONG)
        nq = len(queries)
        counts = np.bincount(result.query_index, minlength=nq)
        width = int(counts.max()) if nq and result.num_hits else 0
        ids = np.full((nq, width), -1, dtype=np.int64)
        distances = np.full((nq, width), np.inf, dtype=np.float32)
        pks = result.pks.to_numpy(zero_copy_only=False)
        scores = t.legacy_distances(result.scores, target.metric_name)
        starts = np.concatenate([[0], np.cumsum(counts)])
        for q in range(nq):
            hits = slice(int(starts[q]), int(starts[q + 1]))
            ids[q, : counts[q]] = pks[hits]
            distances[q, : counts[q]] = scores[hits]
        return milvus_pb2.TopKQueryResult(
            status=t.status(),
            row_num=nq,
            ids=ids.reshape(-1).tolist(),
            distances=distances.reshape(-1).tolist(),
        )

    # --- collections

    def CreateCollection(self, request: Any, call: Call) -> Any:
        name = request.collection_name
        t.check_collection_name(name)
        metric_name, elanus_metric, binary = t.metric(request.metric_type or 1)
        schema = t.new_schema(name, request.dimension, binary)
        size = request.index_file_size or t.DEFAULT_INDEX_FILE_SIZE
        if size <= 0:
            raise t.Refused(status_pb2.ILLEGAL_ARGUMENT, f"Invalid index_file_size: {size}")
        try:
            self.ctx.coordinator.describe_collection(DEFAULT_DB, name)
        except errors.CollectionNotFound:
            pass
        else:
            raise t.Refused(status_pb2.ILLEGAL_ARGUMENT, f"Collection {name} already exists")
        properties = {t.METRIC_PROPERTY: metric_name, t.INDEX_FILE_SIZE_PROPERTY: str(size)}
        info = self.ctx.coordinator.create_collection(
            DEFAULT_DB, schema, 0, ConsistencyLevel.BOUNDED, properties
        )
        target = t.view(info, elanus_metric)
        self._build_index(target, "BIN_FLAT" if binary else "FLAT", {})
        return None

    def HasCollection(self, request: Any, call: Call) -> Any:
        try:
            self._info(request.collection_name)
        except errors.CollectionNotFound:
            return milvus_pb2.BoolReply(status=t.status(), bool_reply=False)
        return milvus_pb2.BoolReply(status=t.status(), bool_reply=True)

    def DescribeCollection(self, request: Any, call: Call) -> Any:
        target = self._view(request.collection_name)
        return milvus_pb2.CollectionSchema(
            status=t.status(),
            collection_name=target.info.name,
            dimension=target.dimension,
            index_file_size=target.index_file_size,
            metric_type=t.METRIC_NUMBERS.get(target.metric_name, 0),
        )

    def _count(self, target: t.LegacyView, partition_ids: tuple[int, ...] | None = None) -> int:
        if partition_ids is None:
            partition_ids = self._partition_ids(target, [])
        return self.ctx.reader.query(
            target.info, partition_ids, "", {}, (), None, 0, True, STRONG
        ).count

    def CountCollection(self, request: Any, call: Call) -> Any:
        target = self._view(request.collection_name)
        return milvus_pb2.CollectionRowCount(
            status=t.status(), collection_row_count=self._count(target)
        )

    def ShowCollections(self, request: Any, call: Call) -> Any:
        # Every collection is listed; one a 1.x client cannot use is refused when it is used.
        names = [i.name for i in self.ctx.coordinator.list_collections(DEFAULT_DB)]
        return milvus_pb2.CollectionNameList(status=t.status(), collection_names=sorted(names))

    def ShowCollectionInfo(self, request: Any, call: Call) -> Any:
        target = self._view(request.collection_name)
        self._ensure_loaded(target.info)
        info = self._info(target.info.name)
        partitions = [
            {"tag": p.name, "row_count": self._count(target, (p.partition_id,)), "segments": []}
            for p in info.partitions
        ]
        total = sum(int(p["row_count"]) for p in partitions)  # type: ignore[call-overload]
        text = json.dumps({"row_count": total, "partitions": partitions})
        return milvus_pb2.CollectionInfo(status=t.status(), json_info=text)

    def DropCollection(self, request: Any, call: Call) -> Any:
        info = self._info(request.collection_name)  # 1.x: dropping what is not there fails
        self.ctx.coordinator.drop_collection(DEFAULT_DB, info.name)

    # --- indexes

    def CreateIndex(self, request: Any, call: Call) -> Any:
        target = self._view(request.collection_name)
        _, elanus_type = t.index_type(request.index_type, target.binary)
        self._build_index(target, elanus_type, t.json_params(request.extra_params))

    def DescribeIndex(self, request: Any, call: Call) -> Any:
        target = self._view(request.collection_name)
        found = self.ctx.coordinator.describe_indexes(target.info.collection_id, target.vector.name)
        if not found:
            raise errors.IndexNotFound(f"collection={target.info.name}")
        index = found[0].index
        requested = index.user_params.get("index_type", index.index_type)
        params = index.user_params.get("params")
        if params is None:  # an index a 2.x client built: its parameters are flat
            skip = {"index_type", "metric_type"}
            params = json.dumps({k: v for k, v in index.user_params.items() if k not in skip})
        return milvus_pb2.IndexParam(
            status=t.status(),
            collection_name=target.info.name,
            index_type=t.INDEX_NUMBERS.get(requested, t.INDEX_NUMBERS.get(index.index_type, 0)),
            extra_params=[milvus_pb2.KeyValuePair(key="params", value=params)],
        )

    def DropIndex(self, request: Any, call: Call) -> Any:
        # 1.x: a collection without a built index is searched by brute force, i.e. FLAT.
        target = self._view(request.collection_name)
        self._build_index(target, "BIN_FLAT" if target.binary else "FLAT", {})

    # --- partitions

    def CreatePartition(self, request: Any, call: Call) -> Any:
        info = self._info(request.collection_name)
        t.check_partition_tag(request.tag)
        if info.partition(request.tag) is not None:
            raise t.Refused(status_pb2.ILLEGAL_ARGUMENT, f"partition {request.tag!r} exists")
        self.ctx.coordinator.create_partition(DEFAULT_DB, info.name, request.tag)

    def HasPartition(self, request: Any, call: Call) -> Any:
        info = self._info(request.collection_name)
        found = info.partition(request.tag) is not None
        return milvus_pb2.BoolReply(status=t.status(), bool_reply=found)

    def ShowPartitions(self, request: Any, call: Call) -> Any:
        info = self._info(request.collection_name)
        tags = [p.name for p in info.partitions]
        return milvus_pb2.PartitionList(status=t.status(), partition_tag_array=tags)

    def DropPartition(self, request: Any, call: Call) -> Any:
        info = self._info(request.collection_name)
        if request.tag == DEFAULT_PARTITION:
            raise t.Refused(status_pb2.ILLEGAL_ARGUMENT, "the default partition cannot be dropped")
        partition_id = self._partition_id(info, request.tag)
        # Elanus drops no loaded partition; 1.x has no loading, so release it first.
        if self.ctx.coordinator.load_progress(info.collection_id).state != "NotLoad":
            self.ctx.coordinator.release_partitions(info.collection_id, [partition_id])
        self.ctx.coordinator.drop_partition(DEFAULT_DB, info.name, request.tag)

    # --- rows

    def Insert(self, request: Any, call: Call) -> Any:
        target = self._view(request.collection_name)
        partition_id = self._partition_id(target.info, request.partition_tag)
        data = t.vectors_from_records(request.row_record_array, target)
        rows = len(data)
        if request.row_id_array:
            if len(request.row_id_array) != rows:
                raise t.Refused(
                    status_pb2.ILLEGAL_VECTOR_ID,
                    f"{len(request.row_id_array)} ids for {rows} vectors",
                )
            pks = np.asarray(request.row_id_array, dtype=np.int64)
        else:
            first = self.ctx.coordinator.alloc_ids(rows)
            pks = np.arange(first, first + rows, dtype=np.int64)
        table = pa.table(
            {
                target.pk.name: pa.array(pks, pa.int64()),
                target.vector.name: vector_column(data, target.vector),
            }
        )
        self.ctx.writer.insert(target.info, partition_id, table)
        return milvus_pb2.VectorIds(status=t.status(), vector_id_array=pks.tolist())

    def GetVectorsByID(self, request: Any, call: Call) -> Any:
        target = self._view(request.collection_name)
        tags = [request.partition_tag] if request.partition_tag else []
        stored = self._stored_vectors(
            target, list(request.id_array), self._partition_ids(target, tags)
        )
        reply = milvus_pb2.VectorsData(status=t.status())
        for key in request.id_array:
            vector = stored.get(key)
            record = reply.vectors_data.add()  # an empty record for an id not found, as 1.x
            if vector is not None and target.binary:
                record.binary_data = vector.tobytes()
            elif vector is not None:
                record.float_data.extend(vector.tolist())
        return reply

    def GetVectorIDs(self, request: Any, call: Call) -> Any:
        self._view(request.collection_name)
        raise t.Refused(
            status_pb2.ILLEGAL_ARGUMENT,
            "Elanus does not name segments the 1.x way; list_id_in_segment is not supported",
        )

    def DeleteByID(self, request: Any, call: Call) -> Any:
        target = self._view(request.collection_name)
        partition_id = (
            self._partition_id(target.info, request.partition_tag) if request.partition_tag else 0
        )
        ids = list(dict.fromkeys(request.id_array))
        if not ids:
            raise t.Refused(status_pb2.ILLEGAL_VECTOR_ID, "no ids are given")
        self.ctx.writer.delete(target.info, partition_id, pa.array(ids, pa.int64()))

    # --- search

    def Search(self, request: Any, call: Call) -> Any:
        target = self._view(request.collection_name)
        queries = t.vectors_from_records(request.query_record_array, target)
        return self._search(
            target, queries, request.topk, request.partition_tag_array, request.extra_params
        )

    def SearchByID(self, request: Any, call: Call) -> Any:
        target = self._view(request.collection_name)
        ids = list(request.id_array)
        if not ids:
            raise t.Refused(status_pb2.ILLEGAL_VECTOR_ID, "no ids are given")
        stored = self._stored_vectors(target, ids, self._partition_ids(target, []))
        missing = [i for i in ids if i not in stored]
        if missing:
            raise t.Refused(status_pb2.ILLEGAL_VECTOR_ID, f"id {missing[0]} does not exist")
        queries = np.stack([stored[i] for i in ids])
        return self._search(
            target, queries, request.topk, request.partition_tag_array, request.extra_params
        )

    def SearchInFiles(self, request: Any, call: Call) -> Any:
        raise t.Refused(
            status_pb2.ILLEGAL_ARGUMENT,
            "Elanus has no 1.x segment files to search in; search the collection instead",
        )

    # --- the server, loading, flush, compaction

    def Cmd(self, request: Any, call: Call) -> Any:
        command = request.cmd.strip()
        if command == "version":
            reply = t.SERVER_VERSION
        elif command == "status":
            reply = "OK"
        elif command == "mode":
            reply = "CPU"
        elif command.startswith(("get_config", "set_config")):
            raise t.Refused(
                status_pb2.ILLEGAL_ARGUMENT,
                "Elanus is configured by its YAML file and ELANUS_* variables, not by Cmd",
            )
        else:
            raise t.Refused(status_pb2.ILLEGAL_ARGUMENT, f"unknown command {command!r}")
        return milvus_pb2.StringReply(status=t.status(), string_reply=reply)

    def PreloadCollection(self, request: Any, call: Call) -> Any:
        target = self._view(request.collection_name)
        for tag in request.partition_tag_array:
            self._partition_id(target.info, tag)
        self._ensure_loaded(target.info)

    def ReleaseCollection(self, request: Any, call: Call) -> Any:
        # Whole collections only: a 1.x read loads the collection again when it needs it.
        target = self._view(request.collection_name)
        self.ctx.coordinator.release_collection(target.info.collection_id)

    def ReloadSegments(self, request: Any, call: Call) -> Any:
        self._view(request.collection_name)  # segments are always current in Elanus

    def Flush(self, request: Any, call: Call) -> Any:
        names = list(request.collection_name_array) or [
            i.name for i in self.ctx.coordinator.list_collections(DEFAULT_DB)
        ]
        infos = [self._info(name) for name in names]
        deadline = time.monotonic() + WAIT_S
        for info in infos:
            result = self.ctx.coordinator.flush(info.collection_id)
            while not self.ctx.coordinator.flush_state(
                info.collection_id, list(result.segment_ids), result.flush_ts
            ):
                if time.monotonic() > deadline:
                    raise errors.ServiceUnavailable(f"flush of {info.name} did not finish")
                time.sleep(POLL_S)

    def Compact(self, request: Any, call: Call) -> Any:
        info = self._info(request.collection_name)
        compaction_id = self.ctx.coordinator.manual_compaction(info.collection_id)
        deadline = time.monotonic() + WAIT_S
        while self.ctx.coordinator.compaction_state(compaction_id).state == "Executing":
            if time.monotonic() > deadline:
                raise errors.ServiceUnavailable(f"compaction of {info.name} did not finish")
            time.sleep(POLL_S)
