"""Metadata values that cross role boundaries: collections, segments, indexes, channels.

The coordinator owns them and stores them in the metadata KV as JSON
(:func:`to_json` / ``from_json``); other roles receive them through the
coordinator's client interface. They are plain, immutable values.
"""

from __future__ import annotations

import dataclasses
import enum
import json
from dataclasses import dataclass, field
from typing import Any, TypeVar

from elanus.schema import CollectionSchema, FieldSchema

DEFAULT_PARTITION = "_default"
DEFAULT_DB = "default"


def partition_key_partition_name(index: int) -> str:
    """Milvus's name of a partition-key collection's partition ``index``: ``_default_{index}``.

    The number is also its place in the hash's order (the hash of a key modulo the
    number of partitions picks the index)."""
    return f"{DEFAULT_PARTITION}_{index}"


class ConsistencyLevel(enum.IntEnum):
    """Milvus's numbers, so they cross the wire unchanged."""

    STRONG = 0
    SESSION = 1
    BOUNDED = 2
    EVENTUALLY = 3
    CUSTOMIZED = 4


class SegmentState(enum.Enum):
    GROWING = "growing"  # accepting rows
    SEALED = "sealed"  # no new rows after seal_ts; waiting for the datanode to flush
    FLUSHED = "flushed"  # files in object storage
    DROPPED = "dropped"  # its collection or partition is gone, or it was empty


@dataclass(frozen=True)
class DatabaseInfo:
    """A database: a namespace of collections and aliases, with its properties."""

    db_id: int
    name: str
    created_ts: int
    properties: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PartitionInfo:
    partition_id: int
    name: str
    created_ts: int


@dataclass(frozen=True)
class CollectionInfo:
    collection_id: int
    db_name: str
    schema: CollectionSchema
    shards_num: int
    vchannels: tuple[str, ...]
    pchannels: tuple[str, ...]
    consistency_level: ConsistencyLevel
    created_ts: int
    partitions: tuple[PartitionInfo, ...]
    properties: dict[str, str] = field(default_factory=dict)
    # Milvus's UpdateTimestamp: when the collection last changed after its creation
    # (AddCollectionField; Milvus's AlterCollection sets it too); 0: never changed.
    updated_ts: int = 0
    # The latest TruncateCollection: rows inserted before it are gone (elanus/deletes.py).
    truncated_ts: int = 0

    @property
    def name(self) -> str:
        return self.schema.name

    @property
    def update_timestamp(self) -> int:
        """Milvus's ``update_timestamp``: the last change, else the creation. Writes made
        with a client's schema cached before it are refused (SchemaMismatch)."""
        return self.updated_ts or self.created_ts

    def partition(self, name: str) -> PartitionInfo | None:
        for p in self.partitions:
            if p.name == name:
                return p
        return None

    @property
    def partition_key(self) -> FieldSchema | None:
        """The partition-key field, if the schema has one."""
        for f in self.schema.fields:
            if f.is_partition_key:
                return f
        return None

    def key_partitions(self) -> tuple[PartitionInfo, ...]:
        """A partition-key collection's partitions in hash order (by their index)."""
        return tuple(sorted(self.partitions, key=lambda p: int(p.name.rsplit("_", 1)[-1])))

    def pchannel_of(self, vchannel: str) -> str:
        return self.pchannels[self.vchannels.index(vchannel)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "collection_id": self.collection_id,
            "db_name": self.db_name,
            "schema": self.schema.to_dict(),
            "shards_num": self.shards_num,
            "vchannels": list(self.vchannels),
            "pchannels": list(self.pchannels),
            "consistency_level": int(self.consistency_level),
            "created_ts": self.created_ts,
            "partitions": [dataclasses.asdict(p) for p in self.partitions],
            "properties": dict(self.properties),
            "updated_ts": self.updated_ts,
            "truncated_ts": self.truncated_ts,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CollectionInfo:
        return cls(
            collection_id=data["collection_id"],
            db_name=data["db_name"],
            schema=CollectionSchema.from_dict(data["schema"]),
            shards_num=data["shards_num"],
            vchannels=tuple(data["vchannels"]),
            pchannels=tuple(data["pchannels"]),
            consistency_level=ConsistencyLevel(data["consistency_level"]),
            created_ts=data["created_ts"],
            partitions=tuple(PartitionInfo(**p) for p in data["partitions"]),
            properties=dict(data.get("properties", {})),
            updated_ts=data.get("updated_ts", 0),
            truncated_ts=data.get("truncated_ts", 0),
        )


@dataclass(frozen=True)
class SegmentInfo:
    segment_id: int
    collection_id: int
    partition_id: int
    vchannel: str
    state: SegmentState
    num_rows: int = 0
    seal_ts: int = 0  # every row of a sealed segment has a timestamp < seal_ts
    data_key: str = ""  # object-storage key of the segment file, once flushed
    pk_stats_key: str = ""
    size_bytes: int = 0
    # Index files built for this segment: index_id -> object-storage key.
    index_files: dict[int, str] = field(default_factory=dict)
    # Compaction: the segment that replaced this one (set when it is dropped), and
    # every segment this one replaced, transitively (so a node replaying the
    # channel skips their rows). Wall-clock ms of the drop, for the GC's grace.
    compacted_to: int = 0
    compacted_from: tuple[int, ...] = ()
    dropped_at_ms: int = 0
    # A compacted segment holds no row that a delete at or below compact_ts in its
    # channel's delta logs up to purged_log_id removed (log ids grow per channel).
    compact_ts: int = 0
    purged_log_id: int = 0
    # The oldest row's insert timestamp, so compaction sees when rows may have
    # expired (a collection TTL); 0: not recorded (a file written before it was).
    min_row_ts: int = 0

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["compacted_from"] = list(self.compacted_from)
        data["state"] = self.state.value
        data["index_files"] = {str(k): v for k, v in self.index_files.items()}
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SegmentInfo:
        data = dict(data)
        data["state"] = SegmentState(data["state"])
        data["index_files"] = {int(k): v for k, v in data.get("index_files", {}).items()}
        data["compacted_from"] = tuple(data.get("compacted_from", ()))
        return cls(**data)


@dataclass(frozen=True)
class DeltaLog:
    """Deletes a datanode persisted for one virtual channel: (pk, ts) pairs in one file."""

    log_id: int
    collection_id: int
    vchannel: str
    key: str
    num_rows: int
    max_ts: int

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DeltaLog:
        return cls(**data)


@dataclass(frozen=True)
class IndexInfo:
    index_id: int
    collection_id: int
    field_name: str
    index_name: str
    index_type: str
    metric_type: str
    params: dict[str, Any]
    created_ts: int
    # The user's parameters as given, echoed back by DescribeIndex.
    user_params: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> IndexInfo:
        return cls(**data)


@dataclass(frozen=True)
class IndexBuildTask:
    build_id: int
    index: IndexInfo
    segment: SegmentInfo
    dim: int


@dataclass(frozen=True)
class CompactionPlan:
    """Merge ``segments`` (one collection, partition and channel) into ``result_segment_id``,
    leaving out rows that a delete in ``delta_logs`` at or below ``compact_ts`` removed,
    and rows expired at ``compact_ts`` under the collection's TTL ``ttl_s`` (0: none)."""

    plan_id: int
    result_segment_id: int
    pk_name: str
    compact_ts: int
    segments: tuple[SegmentInfo, ...]
    delta_logs: tuple[DeltaLog, ...]
    ttl_s: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "ttl_s": self.ttl_s,
            "plan_id": self.plan_id,
            "result_segment_id": self.result_segment_id,
            "pk_name": self.pk_name,
            "compact_ts": self.compact_ts,
            "segments": [s.to_dict() for s in self.segments],
            "delta_logs": [d.to_dict() for d in self.delta_logs],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CompactionPlan:
        return cls(
            plan_id=data["plan_id"],
            result_segment_id=data["result_segment_id"],
            pk_name=data["pk_name"],
            compact_ts=data["compact_ts"],
            segments=tuple(SegmentInfo.from_dict(s) for s in data["segments"]),
            delta_logs=tuple(DeltaLog(**d) for d in data["delta_logs"]),
            ttl_s=data.get("ttl_s", 0),
        )


@dataclass(frozen=True)
class ChannelCheckpoint:
    """Replay a virtual channel from ``position`` to rebuild everything not yet persisted."""

    vchannel: str
    pchannel: str
    position: int
    timestamp: int


@dataclass(frozen=True)
class ChannelSnapshot:
    """What a node needs to take over a virtual channel, read in one consistent step."""

    collection: CollectionInfo
    checkpoint: ChannelCheckpoint
    segments: tuple[SegmentInfo, ...]  # every live segment of the channel, any state
    delta_logs: tuple[DeltaLog, ...]
    indexes: tuple[IndexInfo, ...]
    pending_flush_ts: int = 0  # a Flush asked for data < this ts to be persisted


T = TypeVar("T")


def to_json(value: Any) -> bytes:
    data = value.to_dict() if hasattr(value, "to_dict") else dataclasses.asdict(value)
    return json.dumps(data, separators=(",", ":")).encode()


def from_json(kind: type[T], data: bytes) -> T:
    decoded = json.loads(data)
    from_dict = getattr(kind, "from_dict", None)
    if from_dict is not None:
        result: T = from_dict(decoded)
        return result
    return kind(**decoded)
