"""The coordinator: every coordinator call, with no transport in it.

:class:`Coordinator` makes the shared state (allocators, catalog, segment manager,
index catalog, load registry, node registry, dispatcher) and four parts that are
given what they use, nothing more: :class:`RootCoordinator` (time, ids, ticks,
DDL), :class:`DataCoordinator` (segments, flush, compaction, datanode reports),
:class:`QueryCoordinator` (loads, shard leaders) and :class:`IndexCoordinator`
(indexes, builds). It runs their lifecycle and answers every caller's interface
(:class:`elanus.services.CoordinatorApi`) by delegating to the part that owns the
call. Nodes are told things through their client interfaces, always via the
:class:`Dispatcher`, never under a lock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from coordinator.access import AccessService
from coordinator.admin import AdminReads
from coordinator.allocators import IdAllocator, TimestampOracle
from coordinator.builds import BuildTracker
from coordinator.catalog import Catalog
from coordinator.data_coord import DataCoordinator
from coordinator.ddl_recovery import DropCompletion
from coordinator.dispatch import Dispatcher
from coordinator.gc import GarbageCollector
from coordinator.housekeeping import Housekeeping, PeriodicJob
from coordinator.index_coord import IndexCoordinator
from coordinator.indexes import IndexCatalog
from coordinator.loads import LoadRegistry
from coordinator.node_calls import NodeCalls
from coordinator.nodes import NodeRegistry
from coordinator.query_coord import QueryCoordinator
from coordinator.retention import ChannelRetention
from coordinator.root_coord import RootCoordinator
from coordinator.segments import SegmentManager
from coordinator.ticks import DEFAULT_TICK_INTERVAL_S, TickAggregator
from elanus.access.changes import AccessChange, AccessSnapshot
from elanus.config import DEFAULT_ROOT_PASSWORD, CoordinatorConfig
from elanus.kv import MetaKV
from elanus.meta import (
    ChannelCheckpoint,
    ChannelSnapshot,
    CollectionInfo,
    ConsistencyLevel,
    DatabaseInfo,
    DeltaLog,
    IndexBuildTask,
    IndexInfo,
    SegmentInfo,
    SegmentState,
)
from elanus.schema import CollectionSchema, FieldSchema
from elanus.services import (
    ChannelLease,
    CollectionStats,
    CompactionProgress,
    CoordinatorApi,
    DataNodeClient,
    FlushResult,
    IndexNodeClient,
    IndexProgress,
    LoadedSegment,
    LoadProgress,
    NodeDescription,
    QueryNodeClient,
    Replica,
    SafeTsReport,
)
from elanus.storage import ObjectStore
from elanus.stream import MessageStream


class Coordinator:
    """The four coordinator roles on one set of state, behind every caller's interface."""

    def __init__(
        self,
        config: CoordinatorConfig,
        kv: MetaKV,
        stream: MessageStream,
        storage: ObjectStore,
        tick_interval_s: float = DEFAULT_TICK_INTERVAL_S,
        default_root_password: str = DEFAULT_ROOT_PASSWORD,
    ) -> None:
        self._config = config
        self._stream = stream
        self._storage = storage
        # Held by DDL, index definitions and segment assignment: a partition or an
        # index dropped meanwhile must not be used.
        ddl_lock = threading.RLock()
        self.access = AccessService(kv, default_root_password)
        self.tso = TimestampOracle(kv, config.tso_window_s)
        self.ids = IdAllocator(kv)
        self.catalog = Catalog(kv, config.dml_channel_pool)
        self.segments = SegmentManager(kv, config.segment_max_rows, lambda: self.ids.allocate())
        self.indexes = IndexCatalog(kv)
        self.builds = BuildTracker()  # index builds in flight, retried when a node is lost
        self.loads = LoadRegistry(kv, lambda: self.ids.allocate())
        self._drops = DropCompletion(self.catalog, self.segments, self.indexes, self.loads)
        self._dispatch = Dispatcher()
        self.nodes = NodeRegistry()
        self._retention: ChannelRetention | None = None
        # Session events reach it directly: ticks.expect_proxy / ticks.proxy_left.
        self.ticks = TickAggregator(
            stream, self.tso.allocate, self.catalog.pchannels, tick_interval_s
        )
        node_calls = NodeCalls(self.nodes, self.loads, self._dispatch)
        self.root = RootCoordinator(
            config,
            stream,
            ddl_lock,
            self.tso,
            self.ids,
            self.ticks,
            self.catalog,
            self.segments,
            self.loads,
            self.nodes,
            self._drops,
            self._dispatch,
            node_calls,
        )
        self.index = IndexCoordinator(
            ddl_lock,
            self.tso,
            self.ids,
            self.catalog,
            self.segments,
            self.indexes,
            self.loads,
            self.nodes,
            self.builds,
            storage,
            self._dispatch,
            node_calls,
        )
        self.data = DataCoordinator(
            config,
            stream,
            storage,
            ddl_lock,
            self.tso,
            self.ids,
            self.catalog,
            self.segments,
            self.indexes,
            self.nodes,
            self._dispatch,
            node_calls,
            self.index,
        )
        self.query = QueryCoordinator(
            self.catalog, self.indexes, self.loads, self.nodes, self._dispatch
        )
        self.admin = AdminReads(self.catalog, self.segments, self.indexes, self.loads, self.nodes)
        self._node_calls = node_calls
        self.compaction = self.data.compaction
        self.gc = GarbageCollector(self.segments, storage, config.gc_grace_s)
        self._housekeeping = Housekeeping(self._periodic_jobs())

    # --- lifecycle

    def register_datanode(self, node_id: int, client: DataNodeClient) -> None:
        self.nodes.register_datanode(node_id, client)

    def register_querynode(self, node_id: int, client: QueryNodeClient) -> None:
        self.nodes.register_querynode(node_id, client)

    def register_indexnode(self, node_id: int, client: IndexNodeClient) -> None:
        self.nodes.register_indexnode(node_id, client)

    def start(self) -> None:
        """Resume after a restart: finish interrupted drops, seal old growing segments,
        re-watch channels, reload, rebuild."""
        self.root.resume_ddl()
        for pchannel in self.catalog.pchannels():
            self._stream.create_channel(pchannel)
        self.ticks.start()
        self.segments.seal_all_growing(self.tso.allocate())
        for info in self.catalog.all():
            for vchannel in info.vchannels:
                self._node_calls.watch(vchannel)
        for collection_id, partitions in self.loads.persisted().items():
            self.query.dispatch_load(collection_id, sorted(partitions))
        self.index.schedule_missing_builds()
        self._retention = ChannelRetention(
            self._stream,
            self.data.lowest_checkpoints,
            self._config.log_retention_s,
            self._config.retention_interval_s,
        )
        self._retention.start()
        self.compaction.start()
        self._housekeeping.start()

    def stop(self) -> None:
        self._housekeeping.stop()
        self.compaction.stop()
        self.ticks.stop()
        if self._retention is not None:
            self._retention.stop()
        self._dispatch.close()

    def lowest_checkpoints(self) -> dict[str, int]:
        """Per physical channel, the lowest position any virtual channel still needs."""
        return self.data.lowest_checkpoints()

    def wait_idle(self, timeout_s: float = 10.0) -> bool:
        return self._dispatch.wait_idle(timeout_s)

    def _periodic_jobs(self) -> list[PeriodicJob]:
        config = self._config
        jobs = [
            PeriodicJob("seal", config.seal_check_interval_s, self.data.seal_expired),
            PeriodicJob("gc", config.gc_interval_s, self._collect_garbage),
        ]
        if config.compaction_auto:
            jobs.append(
                PeriodicJob(
                    "compaction",
                    config.compaction_interval_s,
                    lambda: self.compaction.automatic(
                        [c.collection_id for c in self.catalog.all()]
                    ),
                )
            )
        return jobs

    def _collect_garbage(self) -> None:
        # Metadata first: a drop that failed halfway leaves files the scan must see as orphans.
        self.root.resume_ddl()
        self.gc.run_once()

    # --- membership hooks: nodes come and go (coordinator.membership calls these)

    def watch_channel(self, vchannel: str) -> None:
        """Have the channel's datanode (a new one if its owner left) consume it."""
        self._node_calls.watch(vchannel)

    def place_channel(
        self, collection_id: int, vchannel: str, partition_ids: Sequence[int]
    ) -> None:
        self.query.place_channel(collection_id, vchannel, partition_ids)

    def loaded_partitions(self, collection_id: int) -> set[int] | None:
        return self.query.loaded_partitions(collection_id)

    def indexnode_left(self, node_id: int) -> None:
        self.index.indexnode_left(node_id)

    def schedule_missing_builds(self) -> None:
        self.index.schedule_missing_builds()

    # --- root: time, ids, ticks, DDL

    def alloc_timestamp(self, count: int = 1) -> int:
        return self.root.alloc_timestamp(count)

    def alloc_ids(self, count: int) -> int:
        return self.root.alloc_ids(count)

    def register_proxy(self, proxy_id: int) -> int:
        return self.root.register_proxy(proxy_id)

    def unregister_proxy(self, proxy_id: int) -> None:
        self.root.unregister_proxy(proxy_id)

    def report_safe_ts(self, proxy_id: int, report: SafeTsReport, wait_s: float) -> int:
        return self.root.report_safe_ts(proxy_id, report, wait_s)

    def request_tick(
        self, proxy_id: int, report: SafeTsReport, pchannels: Sequence[str], at_least: int
    ) -> None:
        self.root.request_tick(proxy_id, report, pchannels, at_least)

    def create_collection(
        self,
        db_name: str,
        schema: CollectionSchema,
        shards_num: int,
        consistency_level: ConsistencyLevel,
        properties: dict[str, str],
        num_partitions: int = 0,
    ) -> CollectionInfo:
        return self.root.create_collection(
            db_name, schema, shards_num, consistency_level, properties, num_partitions
        )

    def drop_collection(self, db_name: str, name: str) -> None:
        self.root.drop_collection(db_name, name)

    def rename_collection(
        self, db_name: str, old_name: str, new_db_name: str, new_name: str
    ) -> None:
        self.root.rename_collection(db_name, old_name, new_db_name, new_name)

    def truncate_collection(self, collection_id: int, truncate_ts: int) -> None:
        self.root.truncate_collection(collection_id, truncate_ts)

    def describe_collection(
        self, db_name: str, name: str = "", collection_id: int = 0
    ) -> CollectionInfo:
        return self.root.describe_collection(db_name, name, collection_id)

    def add_collection_field(self, db_name: str, name: str, added: FieldSchema) -> CollectionInfo:
        return self.root.add_collection_field(db_name, name, added)

    def alter_collection(
        self, db_name: str, name: str, properties: dict[str, str], delete_keys: tuple[str, ...]
    ) -> CollectionInfo:
        return self.root.alter_collection(db_name, name, properties, delete_keys)

    def alter_collection_field(
        self,
        db_name: str,
        name: str,
        field_name: str,
        properties: dict[str, str],
        delete_keys: tuple[str, ...],
    ) -> CollectionInfo:
        return self.root.alter_collection_field(db_name, name, field_name, properties, delete_keys)

    def list_collections(self, db_name: str) -> list[CollectionInfo]:
        return self.root.list_collections(db_name)

    def access_version(self) -> int:
        return self.access.version()

    def access_snapshot(self) -> AccessSnapshot:
        return self.access.snapshot()

    def change_access(self, change: AccessChange) -> None:
        self.access.change(change)

    def create_database(self, db_name: str, properties: dict[str, str]) -> None:
        self.root.create_database(db_name, properties)

    def drop_database(self, db_name: str) -> None:
        self.root.drop_database(db_name)

    def alter_database(
        self, db_name: str, properties: dict[str, str], delete_keys: Sequence[str]
    ) -> None:
        self.root.alter_database(db_name, properties, delete_keys)

    def list_databases(self) -> list[DatabaseInfo]:
        return self.root.list_databases()

    def describe_database(self, db_name: str) -> DatabaseInfo:
        return self.root.describe_database(db_name)

    def create_alias(self, db_name: str, alias: str, collection: str) -> None:
        self.root.create_alias(db_name, alias, collection)

    def alter_alias(self, db_name: str, alias: str, collection: str) -> None:
        self.root.alter_alias(db_name, alias, collection)

    def drop_alias(self, db_name: str, alias: str) -> None:
        self.root.drop_alias(db_name, alias)

    def describe_alias(self, db_name: str, alias: str) -> str:
        return self.root.describe_alias(db_name, alias)

    def list_aliases(self, db_name: str, collection: str) -> list[str]:
        return self.root.list_aliases(db_name, collection)

    def create_partition(self, db_name: str, collection: str, partition: str) -> None:
        self.root.create_partition(db_name, collection, partition)

    def drop_partition(self, db_name: str, collection: str, partition: str) -> None:
        self.root.drop_partition(db_name, collection, partition)

    # --- data: segments, flush, compaction, checkpoints

    def assign_segment(
        self, collection_id: int, partition_id: int, vchannel: str, num_rows: int
    ) -> int:
        return self.data.assign_segment(collection_id, partition_id, vchannel, num_rows)

    def flush(self, collection_id: int) -> FlushResult:
        return self.data.flush(collection_id)

    def flush_state(self, collection_id: int, segment_ids: Sequence[int], flush_ts: int) -> bool:
        return self.data.flush_state(collection_id, segment_ids, flush_ts)

    def manual_compaction(self, collection_id: int) -> int:
        return self.data.manual_compaction(collection_id)

    def compaction_state(self, compaction_id: int) -> CompactionProgress:
        return self.data.compaction_state(compaction_id)

    def collection_statistics(
        self, collection_id: int, partition_ids: Sequence[int] = ()
    ) -> CollectionStats:
        return self.data.collection_statistics(collection_id, partition_ids)

    def channel_snapshot(self, vchannel: str) -> ChannelSnapshot:
        return self.data.channel_snapshot(vchannel)

    def segment_flushed(self, segment: SegmentInfo, lease: ChannelLease) -> None:
        self.data.segment_flushed(segment, lease)

    def add_delta_log(self, log: DeltaLog, lease: ChannelLease) -> None:
        self.data.add_delta_log(log, lease)

    def update_checkpoint(self, checkpoint: ChannelCheckpoint, lease: ChannelLease) -> None:
        self.data.update_checkpoint(checkpoint, lease)

    def channel_flushed(self, vchannel: str, flush_ts: int, lease: ChannelLease) -> None:
        self.data.channel_flushed(vchannel, flush_ts, lease)

    # --- index

    def create_index(
        self,
        collection_id: int,
        field_name: str,
        index_name: str,
        index_type: str,
        metric_type: str,
        params: dict[str, Any],
        user_params: dict[str, str],
    ) -> IndexInfo:
        return self.index.create_index(
            collection_id, field_name, index_name, index_type, metric_type, params, user_params
        )

    def describe_indexes(
        self, collection_id: int, field_name: str = "", index_name: str = ""
    ) -> list[IndexProgress]:
        return self.index.describe_indexes(collection_id, field_name, index_name)

    def drop_index(self, collection_id: int, field_name: str, index_name: str) -> None:
        self.index.drop_index(collection_id, field_name, index_name)

    def alter_index(
        self,
        collection_id: int,
        index_name: str,
        properties: dict[str, str],
        delete_keys: tuple[str, ...],
    ) -> None:
        self.index.alter_index(collection_id, index_name, properties, delete_keys)

    def index_built(self, task: IndexBuildTask, key: str) -> None:
        self.index.index_built(task, key)

    def index_failed(self, task: IndexBuildTask, reason: str) -> None:
        self.index.index_failed(task, reason)

    # --- query: load state and shard leaders

    def load_collection(
        self, collection_id: int, partition_ids: Sequence[int] = (), replica_number: int = 1
    ) -> None:
        self.query.load_collection(collection_id, partition_ids, replica_number)

    def release_collection(self, collection_id: int) -> None:
        self.query.release_collection(collection_id)

    def release_partitions(self, collection_id: int, partition_ids: Sequence[int]) -> None:
        self.query.release_partitions(collection_id, partition_ids)

    def load_progress(self, collection_id: int, partition_ids: Sequence[int] = ()) -> LoadProgress:
        return self.query.load_progress(collection_id, partition_ids)

    def shard_leaders(self, collection_id: int) -> dict[str, int]:
        return self.query.shard_leaders(collection_id)

    # --- administration reads

    def list_segments(
        self, collection_id: int, states: Sequence[SegmentState] = ()
    ) -> list[SegmentInfo]:
        return self.admin.list_segments(collection_id, states)

    def replicas(self, collection_id: int) -> list[Replica]:
        return self.admin.replicas(collection_id)

    def loaded_segments(self, collection_id: int) -> list[LoadedSegment]:
        return self.admin.loaded_segments(collection_id)

    def cluster_nodes(self) -> list[NodeDescription]:
        return self.admin.cluster_nodes()


if TYPE_CHECKING:
    # Checked by mypy only: the coordinator answers every caller's interface.
    _implements: Callable[..., CoordinatorApi] = Coordinator
