"""How roles reach each other: one narrow interface per callee.

A role depends on these Protocols only, never on another role's package. In
``elanus standalone`` the composition root hands each role the other roles'
objects directly (they implement these interfaces); a cluster hands it gRPC
clients implementing the same interfaces.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from elanus.access.changes import AccessChange, AccessSnapshot
from elanus.hardware import Hardware
from elanus.meta import (
    ChannelCheckpoint,
    ChannelSnapshot,
    CollectionInfo,
    CompactionPlan,
    ConsistencyLevel,
    DatabaseInfo,
    DeltaLog,
    IndexBuildTask,
    IndexInfo,
    SegmentInfo,
    SegmentState,
)
from elanus.requests import QueryRequest, QueryResult, SearchRequest, SearchResult
from elanus.schema import CollectionSchema, FieldSchema


@dataclass(frozen=True)
class FlushResult:
    segment_ids: tuple[int, ...]  # segments sealed by this flush and not yet flushed
    flushed_segment_ids: tuple[int, ...]  # segments already flushed
    seal_ts: int
    flush_ts: int


@dataclass(frozen=True)
class IndexProgress:
    index: IndexInfo
    total_rows: int
    indexed_rows: int
    pending_rows: int
    state: str  # "Finished", "InProgress", "Failed"
    fail_reason: str = ""


@dataclass(frozen=True)
class LoadProgress:
    state: str  # "NotExist", "NotLoad", "Loading", "Loaded"
    percent: int
    loaded_partitions: tuple[int, ...] = ()


@dataclass(frozen=True)
class CompactionMerge:
    """One plan of a compaction: the segments it merges and the segment it makes."""

    sources: tuple[int, ...]
    target: int


@dataclass(frozen=True)
class CompactionProgress:
    """One ManualCompaction's state: "Executing" or "Completed", its plans' counts, and
    what each plan merges (Milvus's GetCompactionStateWithPlans reports them)."""

    state: str
    executing: int
    completed: int
    failed: int
    merges: tuple[CompactionMerge, ...] = ()


@dataclass(frozen=True)
class ShardReplica:
    """One shard of a replica: its channel, the querynode leading it, and the nodes
    holding its segments (the leader itself: a delegator holds its sealed segments)."""

    vchannel: str
    leader_id: int
    leader_address: str  # host:port of the leader's gRPC server; "" for an in-process node
    node_ids: tuple[int, ...]


@dataclass(frozen=True)
class Replica:
    """A whole copy of a loaded collection, as Milvus's GetReplicas reports it."""

    replica_id: int
    collection_id: int
    partition_ids: tuple[int, ...]  # empty: the whole collection is loaded
    shards: tuple[ShardReplica, ...]
    node_ids: tuple[int, ...]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Replica:
        shards = tuple(
            ShardReplica(s["vchannel"], s["leader_id"], s["leader_address"], tuple(s["node_ids"]))
            for s in data["shards"]
        )
        return cls(
            data["replica_id"],
            data["collection_id"],
            tuple(data["partition_ids"]),
            shards,
            tuple(data["node_ids"]),
        )


@dataclass(frozen=True)
class LoadedSegment:
    """A sealed segment a querynode serves (Milvus's GetQuerySegmentInfo reports these)."""

    segment_id: int
    collection_id: int
    partition_id: int
    vchannel: str
    num_rows: int
    size_bytes: int
    index_id: int  # 0 and "" while no index is built on it
    index_name: str
    node_ids: tuple[int, ...]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LoadedSegment:
        return cls(**{**data, "node_ids": tuple(data["node_ids"])})


@dataclass(frozen=True)
class NodeDescription:
    """A running role as GetMetrics reports it. ``hardware`` is what the role read of its
    machine when it announced itself; None for a role in the asker's own process, whose
    machine the asker reads itself."""

    role: str  # coordinator, proxy, datanode, querynode, indexnode
    node_id: int
    address: str  # host:port of its gRPC server; "" in-process
    started_ms: int
    hardware: Hardware | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["hardware"] = self.hardware.to_dict() if self.hardware else None
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NodeDescription:
        hardware = Hardware.from_dict(data["hardware"]) if data.get("hardware") else None
        return cls(data["role"], data["node_id"], data["address"], data["started_ms"], hardware)


@dataclass(frozen=True)
class CollectionStats:
    row_count: int
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SafeTsReport:
    """What a proxy promises about its writes, for the coordinator's time ticks.

    On a physical channel, every write of the proxy with a timestamp at or below
    its safe timestamp has been acknowledged by the stream, and every later
    write draws a timestamp above it. ``safe_ts`` is that bound on every channel
    not in ``held``; ``held`` has the channels with a write in flight (the
    smallest such write's timestamp minus one). A report, once true, stays true:
    a late one is stale, never wrong. ``demand`` is the coordinator's demand
    count the proxy had seen when it made the report (see ``report_safe_ts``).
    """

    safe_ts: int
    held: dict[str, int] = field(default_factory=dict)
    demand: int = 0

    def on(self, pchannel: str) -> int:
        return self.held.get(pchannel, self.safe_ts)


@dataclass(frozen=True)
class ChannelLease:
    """A datanode's right to write one channel's state: its node id and the epoch of
    the assignment (the coordinator draws a new epoch each time the channel changes
    hands). Every report a datanode makes on a channel carries it."""

    node_id: int
    epoch: int


class CoordinatorForProxy(Protocol):
    """What a proxy asks the coordinator: time, ids, DDL, segments, flush, indexes, loads."""

    # --- root: time, ids, DDL
    def alloc_timestamp(self, count: int = 1) -> int:
        """The first of ``count`` consecutive, never-reused timestamps."""

    def alloc_ids(self, count: int) -> int:
        """The first of ``count`` consecutive, never-reused ids."""

    # --- time ticks (coordinator/ticks.py)
    def register_proxy(self, proxy_id: int) -> int:
        """Count a proxy in the ticks, before its first write; a timestamp below all it draws."""

    def unregister_proxy(self, proxy_id: int) -> None:
        """The proxy stopped with every write acknowledged: ticks no longer wait for it."""

    def report_safe_ts(self, proxy_id: int, report: SafeTsReport, wait_s: float) -> int:
        """Record a proxy's report and tick what it allows; then wait up to ``wait_s``
        until a read demands fresh reports (a demand count above ``report.demand``).
        Returns the demand count: the proxy reports again at once when it rose."""

    def request_tick(
        self, proxy_id: int, report: SafeTsReport, pchannels: Sequence[str], at_least: int
    ) -> None:
        """A read needs ticks >= ``at_least`` on these channels: record the reader's fresh
        report, tick; if that is not enough, ask every proxy for a fresh report."""

    def create_collection(
        self,
        db_name: str,
        schema: CollectionSchema,
        shards_num: int,
        consistency_level: ConsistencyLevel,
        properties: dict[str, str],
        num_partitions: int = 0,
    ) -> CollectionInfo:
        """``num_partitions`` > 0 (a partition-key collection): that many partitions
        ``_default_0`` ... instead of ``_default``."""

    def drop_collection(self, db_name: str, name: str) -> None: ...

    def rename_collection(
        self, db_name: str, old_name: str, new_db_name: str, new_name: str
    ) -> None:
        """Rename a collection (into ``new_db_name`` if it differs); its id, data, indexes,
        load state and aliases stay."""

    def truncate_collection(self, collection_id: int, truncate_ts: int) -> None:
        """Record that rows inserted before ``truncate_ts`` are gone (TruncateCollection);
        the proxy then sends the marks on the channels at that timestamp."""

    def describe_collection(
        self, db_name: str, name: str = "", collection_id: int = 0
    ) -> CollectionInfo: ...

    def list_collections(self, db_name: str) -> list[CollectionInfo]: ...

    def add_collection_field(self, db_name: str, name: str, added: FieldSchema) -> CollectionInfo:
        """Append a field (nullable, or with a default) to the schema and bump its version;
        refused for a duplicate name or past the field limit. The collection as changed."""

    def alter_collection(
        self, db_name: str, name: str, properties: dict[str, str], delete_keys: tuple[str, ...]
    ) -> CollectionInfo:
        """Set or remove collection properties (elanus/properties.py says which and how);
        the collection as changed."""

    def alter_collection_field(
        self,
        db_name: str,
        name: str,
        field_name: str,
        properties: dict[str, str],
        delete_keys: tuple[str, ...],
    ) -> CollectionInfo:
        """Set or remove one field's properties (max_length, mmap.enabled)."""

    # --- databases: ``default`` always exists and cannot be dropped
    def access_version(self) -> int:
        """Bumped by every change to users or RBAC: a proxy's copy at this version is current."""

    def access_snapshot(self) -> AccessSnapshot:
        """Users (their password hashes) and RBAC, at one version."""

    def change_access(self, change: AccessChange) -> None:
        """Create, update or delete a user, or change RBAC; raises to refuse."""

    def create_database(self, db_name: str, properties: dict[str, str]) -> None:
        """Refused if it exists, or if there are MAX_DATABASES (64) already."""

    def drop_database(self, db_name: str) -> None:
        """Refused while it holds collections; a database that does not exist is no error."""

    def alter_database(
        self, db_name: str, properties: dict[str, str], delete_keys: Sequence[str]
    ) -> None:
        """Set ``properties`` and remove ``delete_keys`` from the database's properties."""

    def list_databases(self) -> list[DatabaseInfo]: ...

    def describe_database(self, db_name: str) -> DatabaseInfo:
        """Raises DatabaseNotFound: the proxy asks it for every call inside a database."""

    # --- aliases, per database; a name is a collection or an alias, never both.
    # describe_collection takes an alias for the name and answers its collection.
    def create_alias(self, db_name: str, alias: str, collection: str) -> None: ...

    def alter_alias(self, db_name: str, alias: str, collection: str) -> None:
        """Point an existing alias at another collection, atomically."""

    def drop_alias(self, db_name: str, alias: str) -> None: ...

    def describe_alias(self, db_name: str, alias: str) -> str:
        """The name of the collection the alias names; raises AliasNotFound."""

    def list_aliases(self, db_name: str, collection: str) -> list[str]:
        """The database's aliases, or the collection's if ``collection`` is given."""

    def create_partition(self, db_name: str, collection: str, partition: str) -> None: ...

    def drop_partition(self, db_name: str, collection: str, partition: str) -> None: ...

    # --- data: segments, flush, compaction, statistics
    def assign_segment(
        self, collection_id: int, partition_id: int, vchannel: str, num_rows: int
    ) -> int: ...

    def flush(self, collection_id: int) -> FlushResult: ...

    def flush_state(
        self, collection_id: int, segment_ids: Sequence[int], flush_ts: int
    ) -> bool: ...

    def manual_compaction(self, collection_id: int) -> int:
        """Start compacting a collection's flushed segments; the compaction's id."""

    def compaction_state(self, compaction_id: int) -> CompactionProgress: ...

    def collection_statistics(
        self, collection_id: int, partition_ids: Sequence[int] = ()
    ) -> CollectionStats: ...

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
    ) -> IndexInfo: ...

    def describe_indexes(
        self, collection_id: int, field_name: str = "", index_name: str = ""
    ) -> list[IndexProgress]: ...

    def drop_index(self, collection_id: int, field_name: str, index_name: str) -> None: ...

    def alter_index(
        self,
        collection_id: int,
        index_name: str,
        properties: dict[str, str],
        delete_keys: tuple[str, ...],
    ) -> None:
        """Set or remove an index's properties (mmap.enabled); IndexNotFound if none."""

    # --- query: load state and shard leaders
    def load_collection(
        self, collection_id: int, partition_ids: Sequence[int] = (), replica_number: int = 1
    ) -> None: ...

    def release_collection(self, collection_id: int) -> None: ...

    def release_partitions(self, collection_id: int, partition_ids: Sequence[int]) -> None: ...

    def load_progress(
        self, collection_id: int, partition_ids: Sequence[int] = ()
    ) -> LoadProgress: ...

    def shard_leaders(self, collection_id: int) -> dict[str, int]:
        """vchannel -> id of the querynode that serves it; raises CollectionNotLoaded."""

    # --- administration reads (coordinator/admin.py)
    def list_segments(
        self, collection_id: int, states: Sequence[SegmentState] = ()
    ) -> list[SegmentInfo]:
        """The collection's segments in ``states`` (sealed and flushed when empty, as
        Milvus lists persistent segments); a growing one counts the rows assigned to it."""

    def replicas(self, collection_id: int) -> list[Replica]:
        """The collection's replicas with their shards; none while it is not loaded."""

    def loaded_segments(self, collection_id: int) -> list[LoadedSegment]:
        """The sealed segments the querynodes serve for the collection."""

    def cluster_nodes(self) -> list[NodeDescription]:
        """Every running role the coordinator knows, itself included; a role in the
        coordinator's own process comes with the hardware read now."""


class CoordinatorForQueryNode(Protocol):
    """What a querynode asks the coordinator: a shard's state, to serve it from."""

    def channel_snapshot(self, vchannel: str) -> ChannelSnapshot: ...


class CoordinatorForDataNode(Protocol):
    """What a datanode asks the coordinator: ids, its channels' state, and its reports.

    A datanode's reports on its channel carry its lease; one from a node that is
    not the channel's current owner raises errors.ChannelLeaseLost and changes nothing.
    """

    def alloc_ids(self, count: int) -> int:
        """The first of ``count`` consecutive, never-reused ids."""

    def channel_snapshot(self, vchannel: str) -> ChannelSnapshot: ...

    def segment_flushed(self, segment: SegmentInfo, lease: ChannelLease) -> None:
        """A datanode persisted a sealed segment's files (state FLUSHED, or DROPPED if empty)."""

    def add_delta_log(self, log: DeltaLog, lease: ChannelLease) -> None: ...

    def update_checkpoint(self, checkpoint: ChannelCheckpoint, lease: ChannelLease) -> None:
        """Replay of the channel may start at ``checkpoint`` (never moves backwards)."""

    def channel_flushed(self, vchannel: str, flush_ts: int, lease: ChannelLease) -> None:
        """Everything on the channel with a timestamp < flush_ts is persisted."""


class CoordinatorForIndexNode(Protocol):
    """What an indexnode tells the coordinator: how each build it was given ended."""

    def index_built(self, task: IndexBuildTask, key: str) -> None: ...

    def index_failed(self, task: IndexBuildTask, reason: str) -> None: ...


class CoordinatorApi(
    CoordinatorForProxy,
    CoordinatorForQueryNode,
    CoordinatorForDataNode,
    CoordinatorForIndexNode,
    Protocol,
):
    """Everything the coordinator serves, to every caller: what the coordinator itself,
    its gRPC service and its gRPC client implement. A caller names its own interface."""


class DataNodeClient(Protocol):
    def watch_channel(self, vchannel: str, epoch: int) -> None:
        """Start consuming a virtual channel from its checkpoint, reporting under the
        lease (this node, ``epoch``). Idempotent; a newer epoch replaces the lease."""

    def unwatch_channel(self, vchannel: str) -> None: ...

    def seal_segment(self, vchannel: str, segment_id: int, seal_ts: int) -> None: ...

    def flush_channel(self, vchannel: str, flush_ts: int) -> None: ...

    def compact(self, plan: CompactionPlan) -> SegmentInfo:
        """Write the merged segment of a compaction plan (the coordinator commits it)."""


class QueryNodeClient(Protocol):
    def load_channel(self, vchannel: str, partition_ids: Sequence[int]) -> None:
        """Serve a shard: load its sealed segments, then follow the channel."""

    def release_collection(self, collection_id: int) -> None: ...

    def release_partitions(self, collection_id: int, partition_ids: Sequence[int]) -> None: ...

    def segment_flushed(self, segment: SegmentInfo) -> None:
        """Swap a growing segment for its flushed files (handoff)."""

    def segment_indexed(self, segment: SegmentInfo, index: IndexInfo) -> None: ...

    def segment_dropped(self, segment: SegmentInfo) -> None: ...

    def search(self, request: SearchRequest) -> SearchResult: ...

    def query(self, request: QueryRequest) -> QueryResult: ...


class IndexNodeClient(Protocol):
    def submit(self, task: IndexBuildTask) -> None:
        """Queue a build; the node reports back through CoordinatorForIndexNode.index_built."""
