"""The coordinator's root role: time, ids, time ticks, and the DDL of collections and partitions.

A part of :class:`coordinator.core.Coordinator`, which makes the state it is given.
A drop commits with one catalog transaction that also records it
as pending (:mod:`coordinator.ddl_recovery`); the rest is idempotent and is
finished at once, or at the next start or GC run if the coordinator died
first. Files are left to the GC's grace period.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
from collections.abc import Sequence

from coordinator.allocators import IdAllocator, TimestampOracle
from coordinator.catalog import MAX_PARTITIONS, Catalog, PartitionDrop
from coordinator.ddl_recovery import DropCompletion
from coordinator.dispatch import Dispatcher
from coordinator.loads import LoadRegistry
from coordinator.node_calls import NodeCalls
from coordinator.nodes import NodeRegistry
from coordinator.segments import SegmentManager
from coordinator.ticks import TickAggregator
from elanus import errors
from elanus import properties as properties_rules
from elanus.config import CoordinatorConfig
from elanus.meta import (
    DEFAULT_PARTITION,
    CollectionInfo,
    ConsistencyLevel,
    DatabaseInfo,
    PartitionInfo,
    SegmentInfo,
    partition_key_partition_name,
)
from elanus.schema import CollectionSchema, FieldSchema
from elanus.services import QueryNodeClient, SafeTsReport
from elanus.stream import MessageStream

log = logging.getLogger(__name__)

MAX_SHARDS = 16


class RootCoordinator:
    def __init__(
        self,
        config: CoordinatorConfig,
        stream: MessageStream,
        ddl_lock: threading.RLock,
        tso: TimestampOracle,
        ids: IdAllocator,
        ticks: TickAggregator,
        catalog: Catalog,
        segments: SegmentManager,
        loads: LoadRegistry,
        nodes: NodeRegistry,
        drops: DropCompletion,
        dispatch: Dispatcher,
        node_calls: NodeCalls,
    ) -> None:
        self._config = config
        self._stream = stream
        self._ddl_lock = ddl_lock
        self.tso = tso
        self.ids = ids
        self.ticks = ticks
        self.catalog = catalog
        self.segments = segments
        self.loads = loads
        self.nodes = nodes
        self._drops = drops
        self._dispatch = dispatch
        self._node_calls = node_calls

    # --- time and ids

    def alloc_timestamp(self, count: int = 1) -> int:
        return self.tso.allocate(count)

    def alloc_ids(self, count: int) -> int:
        return self.ids.allocate(count)

    # --- time ticks (coordinator/ticks.py)

    def register_proxy(self, proxy_id: int) -> int:
        return self.ticks.register_proxy(proxy_id)

    def unregister_proxy(self, proxy_id: int) -> None:
        self.ticks.unregister_proxy(proxy_id)

    def report_safe_ts(self, proxy_id: int, report: SafeTsReport, wait_s: float) -> int:
        return self.ticks.report(proxy_id, report, wait_s)

    def request_tick(
        self, proxy_id: int, report: SafeTsReport, pchannels: Sequence[str], at_least: int
    ) -> None:
        self.ticks.request_tick(proxy_id, report, pchannels, at_least)

    # --- DDL

    def create_collection(
        self,
        db_name: str,
        schema: CollectionSchema,
        shards_num: int,
        consistency_level: ConsistencyLevel,
        properties: dict[str, str],
        num_partitions: int = 0,
    ) -> CollectionInfo:
        """``num_partitions`` > 0: a partition-key collection, with that many partitions
        named as Milvus names them (``_default_0`` ...), the key's hash choosing one."""
        shards_num = shards_num if shards_num > 0 else self._config.default_shards
        if shards_num > MAX_SHARDS:
            raise errors.ParameterInvalid(
                f"shard num ({shards_num}) exceeds max configuration ({MAX_SHARDS})"
            )
        properties_rules.check_collection_values(properties)
        if num_partitions > MAX_PARTITIONS:
            raise errors.ParameterInvalid(
                cause=f"partition number ({num_partitions}) exceeds max configuration "
                f"({MAX_PARTITIONS})"
            )
        with self._ddl_lock:
            ts = self.tso.allocate()
            collection_id = self.ids.allocate()
            if num_partitions > 0:
                first = self.ids.allocate(num_partitions)
                partitions = tuple(
                    PartitionInfo(first + i, partition_key_partition_name(i), ts)
                    for i in range(num_partitions)
                )
            else:
                partitions = (PartitionInfo(self.ids.allocate(), DEFAULT_PARTITION, ts),)
            info, created = self.catalog.create(
                collection_id=collection_id,
                partitions=partitions,
                db_name=db_name,
                schema=schema,
                shards_num=shards_num,
                consistency_level=consistency_level,
                properties=properties,
                ts=ts,
                channel_positions=self._stream.end_position,
            )
            if created:
                for vchannel in info.vchannels:
                    self._node_calls.watch(vchannel)
        return info

    def drop_collection(self, db_name: str, name: str) -> None:
        """The catalog drop commits it; its files are left to the GC's grace period."""
        with self._ddl_lock:
            if self.catalog.is_alias(db_name, name):
                raise errors.OperationRefused(f"cannot drop the collection via alias = {name}")
            info = self.catalog.find(db_name, name)
            self.catalog.drop(info)
            self._drops.finish_collection_drop(info)
        self._forget_on_nodes(info)
        log.info("collection dropped", extra={"collection": name, "id": info.collection_id})

    def add_collection_field(self, db_name: str, name: str, added: FieldSchema) -> CollectionInfo:
        """Add a field to the schema; nothing is reloaded. The nodes serving or writing
        the collection adopt the new schema when a request or a row carries it
        (rows written before read the field as its default value, or null)."""
        with self._ddl_lock:
            self.catalog.database(db_name)
            info = self.catalog.resolve(db_name, name)
            return self.catalog.add_field(info, added, self.tso.allocate())

    def alter_collection(
        self, db_name: str, name: str, properties: dict[str, str], delete_keys: tuple[str, ...]
    ) -> CollectionInfo:
        """Set or remove collection properties: only keys Elanus honours, values as
        Milvus validates them (elanus/properties.py); a refusal changes nothing. Readers
        take the TTL from the collection at each request, so it applies at once."""
        properties_rules.check_collection_alter(properties, delete_keys)
        with self._ddl_lock:
            self.catalog.database(db_name)
            info = self.catalog.resolve(db_name, name)
            if properties_rules.MMAP_ENABLED in properties:
                self._refuse_while_loaded(
                    info, "can not alter mmap properties if collection loaded"
                )
            return self.catalog.alter_properties(info, properties, delete_keys)

    def alter_collection_field(
        self,
        db_name: str,
        name: str,
        field_name: str,
        properties: dict[str, str],
        delete_keys: tuple[str, ...],
    ) -> CollectionInfo:
        """Set or remove one field's ``max_length`` (a VarChar field) or ``mmap.enabled``."""
        with self._ddl_lock:
            self.catalog.database(db_name)
            info = self.catalog.resolve(db_name, name)
            target = next((f for f in info.schema.fields if f.name == field_name), None)
            if target is None or target.is_dynamic:
                raise errors.FieldNotFound(
                    f"field={field_name}", cause=f"field {field_name} does not exist in collection"
                )
            properties_rules.check_field_alter(target, properties, delete_keys)
            if properties_rules.MMAP_ENABLED in properties:
                self._refuse_while_loaded(
                    info, "can not alter mmap properties if collection loaded"
                )
            return self.catalog.alter_field(info, field_name, properties, delete_keys)

    def _refuse_while_loaded(self, info: CollectionInfo, cause: str) -> None:
        """Milvus changes how segments are held (mmap) only while they are not loaded."""
        if self.loads.get(info.collection_id) is not None:
            raise errors.CollectionLoaded(f"collection={info.name}", cause=cause)

    def rename_collection(
        self, db_name: str, old_name: str, new_db_name: str, new_name: str
    ) -> None:
        """A catalog change only: everything else knows the collection by its id."""
        with self._ddl_lock:
            self.catalog.rename(db_name, old_name, new_db_name or db_name, new_name)

    def truncate_collection(self, collection_id: int, truncate_ts: int) -> None:
        """Record a truncate at ``truncate_ts`` before its marks go out on the channels.

        Every reader hides the rows older than it from then on (querynodes apply the
        recorded timestamp on load, the channel's marks while serving; datanodes do not
        write them). The segments wholly older are dropped; the growing ones are sealed,
        so their datanode writes them out without those rows.
        """
        with self._ddl_lock:
            info = self.catalog.truncate(collection_id, truncate_ts)
            sealed = self.segments.seal_collection(collection_id, self.tso.allocate())
            gone = self.segments.drop_truncated(collection_id, truncate_ts)
        for segment in gone:
            self._node_calls.notify_querynodes(
                collection_id, functools.partial(_segment_dropped, segment=segment)
            )
        self._node_calls.notify_sealed(sealed)
        log.info(
            "collection truncated",
            extra={
                "collection": info.name,
                "id": collection_id,
                "truncate_ts": truncate_ts,
                "dropped_segments": len(gone),
            },
        )

    def describe_collection(
        self, db_name: str, name: str = "", collection_id: int = 0
    ) -> CollectionInfo:
        if collection_id:
            info = self.catalog.get(collection_id)
            if name and info.name != name:
                raise errors.CollectionNotFound(f"collection={name}")
            return info
        self.catalog.database(db_name)
        return self.catalog.resolve(db_name, name)

    def list_collections(self, db_name: str) -> list[CollectionInfo]:
        self.catalog.database(db_name)
        return self.catalog.all(db_name)

    # --- databases

    def create_database(self, db_name: str, properties: dict[str, str]) -> None:
        with self._ddl_lock:
            db = DatabaseInfo(self.ids.allocate(), db_name, self.tso.allocate(), dict(properties))
            self.catalog.create_database(db)

    def drop_database(self, db_name: str) -> None:
        with self._ddl_lock:
            self.catalog.drop_database(db_name)

    def alter_database(
        self, db_name: str, properties: dict[str, str], delete_keys: Sequence[str]
    ) -> None:
        with self._ddl_lock:
            self.catalog.alter_database(db_name, properties, tuple(delete_keys))

    def list_databases(self) -> list[DatabaseInfo]:
        return self.catalog.databases()

    def describe_database(self, db_name: str) -> DatabaseInfo:
        return self.catalog.database(db_name)

    # --- aliases

    def create_alias(self, db_name: str, alias: str, collection: str) -> None:
        with self._ddl_lock:
            self.catalog.create_alias(db_name, alias, collection)

    def alter_alias(self, db_name: str, alias: str, collection: str) -> None:
        with self._ddl_lock:
            self.catalog.alter_alias(db_name, alias, collection)

    def drop_alias(self, db_name: str, alias: str) -> None:
        with self._ddl_lock:
            self.catalog.database(db_name)
            self.catalog.drop_alias(db_name, alias)

    def describe_alias(self, db_name: str, alias: str) -> str:
        self.catalog.database(db_name)
        return self.catalog.alias_target(db_name, alias).name

    def list_aliases(self, db_name: str, collection: str) -> list[str]:
        self.catalog.database(db_name)
        if not collection:
            return self.catalog.aliases(db_name)
        info = self.catalog.resolve(db_name, collection)
        return self.catalog.aliases(db_name, info.collection_id)

    def create_partition(self, db_name: str, collection: str, partition: str) -> None:
        with self._ddl_lock:
            info = self.catalog.find(db_name, collection)
            _refuse_in_key_mode(info, "create partition")
            if info.partition(partition) is not None:
                return
            created = PartitionInfo(self.ids.allocate(), partition, self.tso.allocate())
            self.catalog.add_partition(info, created)

    def drop_partition(self, db_name: str, collection: str, partition: str) -> None:
        with self._ddl_lock:
            info = self.catalog.find(db_name, collection)
            _refuse_in_key_mode(info, "drop partition")
            target = info.partition(partition)
            if target is None:
                return
            load = self.loads.get(info.collection_id)
            if load is not None and (
                not load.partition_ids or target.partition_id in load.partition_ids
            ):
                raise errors.ParameterInvalid(
                    f"partition cannot be dropped, partition is loaded, please release it first, "
                    f"partition: {partition}"
                )
            # Seal the partition's growing segments and tell the datanode, so it
            # writes out and forgets their buffered rows (its report then finds
            # them gone and their files are removed). The files of its flushed
            # segments are left to the GC's grace period.
            sealed = self.segments.seal_collection(
                info.collection_id, self.tso.allocate(), target.partition_id
            )
            self.catalog.remove_partition(info, partition)
            self._drops.finish_partition_drop(
                PartitionDrop(info.collection_id, target.partition_id)
            )
        self._node_calls.notify_sealed(sealed)

    def resume_ddl(self) -> None:
        """Finish drops left pending (by a crash, or a KV error mid-call); nodes forget them."""
        with self._ddl_lock:
            resumed = self._drops.resume()
        for info in resumed.collections:
            self._forget_on_nodes(info)

    def _forget_on_nodes(self, info: CollectionInfo) -> None:
        for querynode in self.nodes.querynodes():
            release = functools.partial(querynode.release_collection, info.collection_id)
            self._dispatch.submit("release", release, querynode)
        owners, live = self.nodes.channel_owners(), set(self.nodes.datanode_ids())
        for vchannel in info.vchannels:
            if owners.get(vchannel) in live:
                with contextlib.suppress(errors.ServiceNotReady):  # the owner just left
                    node = self.nodes.datanode_for(vchannel)
                    unwatch = functools.partial(node.unwatch_channel, vchannel)
                    self._dispatch.submit("unwatch", unwatch, node)
            # A dropped channel gets no new owner, and its old one leaves the saved owners.
            self.nodes.forget_channel(vchannel)


def _segment_dropped(node: QueryNodeClient, segment: SegmentInfo) -> None:
    node.segment_dropped(segment)


def _refuse_in_key_mode(info: CollectionInfo, what: str) -> None:
    """A partition-key collection's partitions are its key's (every API, the legacy ones
    included, reaches this): Milvus's bare refusal."""
    if info.partition_key is not None:
        raise errors.OperationRefused(f"disable {what} if partition key mode is used")
