"""Every role of ``elanus standalone`` in this process, wired as the launcher wires them,
minus gRPC: the data path end to end on the real embedded adapters in a directory.

A test builds a :class:`RoleSet` on a ``tmp_path``, drives it through the proxy's
:class:`DmlWriter` and :class:`Reader`, and may stop it and start a new set on
the same directory to check recovery.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from coordinator import Coordinator
from datanode import DataNode
from elanus.columns import arrow_schema, vector_column
from elanus.config import Config
from elanus.kv.embedded import EmbeddedKV
from elanus.launcher import EmbeddedRoles
from elanus.meta import DEFAULT_DB, CollectionInfo, ConsistencyLevel
from elanus.requests import QueryResult, SearchResult
from elanus.schema import CollectionSchema, DataType, FieldSchema
from elanus.storage.local_dir import LocalDirStore
from elanus.stream.embedded_log import EmbeddedLog
from indexnode import IndexNode
from proxy.reads import Consistency, Reader, SearchPlan
from proxy.writer import DmlWriter
from querynode import QueryNode
from querynode.delegator import ShardDelegator

NODE_ID = 1
DIM = 8
STRONG = Consistency(ConsistencyLevel.STRONG, use_default=False, client_guarantee_ts=0)


def fast_config(data_dir: Path) -> Config:
    """Standalone defaults with the intervals shortened so a test sees effects in ms."""
    config = Config()
    config.storage.data_dir = str(data_dir)
    config.proxy.time_tick_interval_s = 0.02
    config.datanode.checkpoint_interval_s = 0.0
    config.datanode.delete_flush_interval_s = 0.2
    config.querynode.consistency_wait_s = 5.0
    config.coordinator.tso_window_s = 0.5
    return config


def make_schema(name: str = "docs", dim: int = DIM) -> CollectionSchema:
    return CollectionSchema(
        name=name,
        fields=(
            FieldSchema("pk", DataType.INT64, is_primary=True),
            FieldSchema("tag", DataType.VARCHAR, type_params={"max_length": "64"}),
            FieldSchema("vec", DataType.FLOAT_VECTOR, type_params={"dim": str(dim)}),
        ),
    ).with_field_ids()


def vectors_for(pks: Sequence[int], dim: int = DIM) -> np.ndarray:
    """A deterministic vector per key, so a key's own vector finds it at distance 0."""
    return np.stack([np.random.default_rng(int(k) + 7).random(dim, dtype=np.float32) for k in pks])


def make_rows(schema: CollectionSchema, pks: Sequence[int], tag: str = "a") -> pa.Table:
    arrow = arrow_schema(schema)
    vec_field = schema.field("vec")
    assert vec_field is not None
    columns = [
        pa.array(list(pks), type=pa.int64()),
        pa.array([tag] * len(pks), type=pa.string()),
        vector_column(vectors_for(pks, vec_field.dim), vec_field),
    ]
    return pa.Table.from_arrays(columns, schema=arrow)


def wait_until(predicate: Callable[[], Any], timeout_s: float = 10.0, what: str = "") -> Any:
    """Poll ``predicate`` every 10 ms until it is truthy; fail after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what or predicate}")
        time.sleep(0.01)


@dataclass
class RoleSet:
    """Coordinator, datanode, indexnode, querynode and the proxy's writer and reader."""

    data_dir: Path
    config: Config = field(init=False)
    kv: EmbeddedKV = field(init=False)
    stream: EmbeddedLog = field(init=False)
    storage: LocalDirStore = field(init=False)
    coordinator: Coordinator = field(init=False)
    datanode: DataNode = field(init=False)
    indexnode: IndexNode = field(init=False)
    querynode: QueryNode = field(init=False)
    writer: DmlWriter = field(init=False)
    reader: Reader = field(init=False)
    _stops: list[Callable[[], Any]] = field(default_factory=list, init=False)

    def start(self, configure: Callable[[Config], None] | None = None) -> RoleSet:
        """The same wiring as ``elanus standalone`` (EmbeddedRoles), with fast intervals."""
        self.config = fast_config(self.data_dir)
        if configure is not None:
            configure(self.config)
        roles = EmbeddedRoles(self.config).start()
        self._stops.append(roles.stop)
        self.kv, self.stream, self.storage = roles.kv, roles.stream, roles.storage
        self.coordinator, self.datanode = roles.coordinator, roles.datanode
        self.indexnode, self.querynode = roles.indexnode, roles.querynode
        self.writer, self.reader = roles.writer, roles.reader
        return self

    def stop(self) -> None:
        for stop in reversed(self._stops):
            stop()
        self._stops.clear()

    # --- conveniences a test would otherwise repeat

    def create_collection(
        self, schema: CollectionSchema | None = None, shards: int = 2, index: bool = True
    ) -> CollectionInfo:
        schema = schema or make_schema()
        info = self.coordinator.create_collection(
            DEFAULT_DB, schema, shards, ConsistencyLevel.STRONG, {}
        )
        if index:
            self.coordinator.create_index(info.collection_id, "vec", "", "FLAT", "L2", {}, {})
        return info

    def load(self, info: CollectionInfo, partition_ids: Sequence[int] = ()) -> None:
        self.coordinator.load_collection(info.collection_id, partition_ids)
        wait_until(
            lambda: self.coordinator.load_progress(info.collection_id).state == "Loaded",
            what="collection loaded",
        )

    def info(self, name: str = "docs") -> CollectionInfo:
        return self.coordinator.describe_collection(DEFAULT_DB, name)

    def delegator(self, vchannel: str) -> ShardDelegator:
        """The querynode's delegator for a channel it serves (the collection is loaded)."""
        delegator = self.querynode.delegator(vchannel)
        assert delegator is not None, f"the querynode does not serve {vchannel}"
        return delegator

    def search(
        self,
        info: CollectionInfo,
        pks: Sequence[int],
        topk: int = 5,
        filter_text: str = "",
        ignore_growing: bool = False,
        partition_ids: Sequence[int] = (),
    ) -> SearchResult:
        vec_field = info.schema.field("vec")
        assert vec_field is not None
        plan = SearchPlan(
            info=info,
            partition_ids=tuple(partition_ids) or self.reader.loaded_partitions(info, []),
            field=vec_field,
            metric_type="L2",
            queries=vectors_for(pks, vec_field.dim),
            topk=topk,
            offset=0,
            round_decimal=-1,
            search_params={},
            filter=filter_text,
            template_values={},
            output_columns=("tag",),
            ignore_growing=ignore_growing,
        )
        return self.reader.search(plan, STRONG)

    def query(
        self, info: CollectionInfo, filter_text: str = "pk >= 0", count_only: bool = False
    ) -> QueryResult:
        return self.reader.query(
            info,
            self.reader.loaded_partitions(info, []),
            filter_text,
            {},
            ("pk", "tag"),
            None,
            0,
            count_only,
            STRONG,
        )

    def rows_by_pk(self, info: CollectionInfo, filter_text: str = "pk >= 0") -> dict[int, str]:
        """pk -> tag of every visible row; fails on a repeated key."""
        result = self.query(info, filter_text).rows
        pks = result.column("pk").to_pylist()
        assert len(pks) == len(set(pks)), f"duplicate keys in query result: {sorted(pks)}"
        return dict(zip(pks, result.column("tag").to_pylist(), strict=True))

    def flush_and_wait(self, info: CollectionInfo, timeout_s: float = 10.0) -> None:
        flushed = self.coordinator.flush(info.collection_id)
        wait_until(
            lambda: self.coordinator.flush_state(
                info.collection_id, flushed.segment_ids, flushed.flush_ts
            ),
            timeout_s,
            what="flush_state",
        )
