"""Collections and partitions: the DDL half of the coordinator, kept in the KV.

A collection is one JSON value under ``collections/{id}`` plus a name entry
``collection-names/{db}/{name}`` -> id; both change in one transaction, so a
crash never leaves a name pointing nowhere or a collection without a name.

A drop is more than one write (the collection's segments, indexes and load go
too), so the catalog change that makes it visible also records the drop as
pending, in the same transaction: ``ddl/drop-collection/{id}`` (the dropped
collection) or ``ddl/drop-partition/{collection id}/{partition id}``. The rest
of the drop is idempotent; whoever finishes it (the dropping call, or the next
coordinator's start after a crash) removes the record last.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from elanus import errors
from elanus.kv import Compare, Delete, MetaKV, Put
from elanus.meta import (
    DEFAULT_PARTITION,
    ChannelCheckpoint,
    CollectionInfo,
    ConsistencyLevel,
    PartitionInfo,
    from_json,
    to_json,
)
from elanus.schema import CollectionSchema

log = logging.getLogger(__name__)

MAX_PARTITIONS = 1024


def collection_key(collection_id: int) -> str:
    return f"collections/{collection_id}"


def name_key(db_name: str, name: str) -> str:
    return f"collection-names/{db_name}/{name}"


def checkpoint_key(vchannel: str) -> str:
    return f"checkpoints/{vchannel}"


DROPPING_COLLECTIONS = "ddl/drop-collection/"
DROPPING_PARTITIONS = "ddl/drop-partition/"


def dropping_collection_key(collection_id: int) -> str:
    return f"{DROPPING_COLLECTIONS}{collection_id}"


def dropping_partition_key(collection_id: int, partition_id: int) -> str:
    return f"{DROPPING_PARTITIONS}{collection_id}/{partition_id}"


@dataclass(frozen=True)
class PartitionDrop:
    """A partition drop the catalog shows done and whose segments may still be recorded."""

    collection_id: int
    partition_id: int


class Catalog:
    def __init__(
        self, kv: MetaKV, dml_channel_pool: int, channel_prefix: str = "elanus-dml"
    ) -> None:
        self._kv = kv
        self._pool = dml_channel_pool
        self._channel_prefix = channel_prefix
        self._lock = threading.RLock()
        self._by_id: dict[int, CollectionInfo] = {}
        for item in kv.get_prefix("collections/"):
            info = from_json(CollectionInfo, item.value)
            self._by_id[info.collection_id] = info

    # --- reads

    def get(self, collection_id: int) -> CollectionInfo:
        with self._lock:
            info = self._by_id.get(collection_id)
        if info is None:
            raise errors.CollectionNotFound(f"collection={collection_id}")
        return info

    def find(self, db_name: str, name: str) -> CollectionInfo:
        with self._lock:
            for info in self._by_id.values():
                if info.db_name == db_name and info.name == name:
                    return info
        raise errors.CollectionNotFound(f"collection={name}")

    def all(self, db_name: str | None = None) -> list[CollectionInfo]:
        with self._lock:
            infos = sorted(self._by_id.values(), key=lambda i: i.created_ts)
        return [i for i in infos if db_name is None or i.db_name == db_name]

    def pchannels(self) -> list[str]:
        return [f"{self._channel_prefix}_{i}" for i in range(self._pool)]

    # --- DDL

    def create(
        self,
        *,
        collection_id: int,
        partition_id: int,
        db_name: str,
        schema: CollectionSchema,
        shards_num: int,
        consistency_level: ConsistencyLevel,
        properties: dict[str, str],
        ts: int,
        channel_positions: Callable[[str], int],
    ) -> tuple[CollectionInfo, bool]:
        """Create the collection, or return the existing one if it is identical.

        Returns ``(info, created)``. A different collection under the same name
        is an error, as in Milvus. The collection, its name and its channels'
        first checkpoints (at ``channel_positions(pchannel)``) are written in one
        transaction.
        """
        with self._lock:
            existing = self._find_or_none(db_name, schema.name)
            if existing is not None:
                if existing.schema == schema and existing.shards_num == shards_num:
                    return existing, False
                raise errors.ParameterInvalid(
                    f"create duplicate collection with different parameters, "
                    f"collection: {schema.name}"
                )
            pool = self.pchannels()
            pchannels = tuple(pool[(collection_id + i) % len(pool)] for i in range(shards_num))
            vchannels = tuple(f"{p}_{collection_id}v{i}" for i, p in enumerate(pchannels))
            info = CollectionInfo(
                collection_id=collection_id,
                db_name=db_name,
                schema=schema,
                shards_num=shards_num,
                vchannels=vchannels,
                pchannels=pchannels,
                consistency_level=consistency_level,
                created_ts=ts,
                partitions=(PartitionInfo(partition_id, DEFAULT_PARTITION, ts),),
                properties=dict(properties),
            )
            checkpoints = [
                ChannelCheckpoint(v, p, channel_positions(p), ts)
                for v, p in zip(vchannels, pchannels, strict=True)
            ]
            ok = self._kv.txn(
                [Compare(name_key(db_name, schema.name), 0)],
                [
                    Put(collection_key(collection_id), to_json(info)),
                    Put(name_key(db_name, schema.name), str(collection_id).encode()),
                    *(Put(checkpoint_key(c.vchannel), to_json(c)) for c in checkpoints),
                ],
            )
            if not ok:
                raise errors.ParameterInvalid(f"collection {schema.name} is being created twice")
            self._by_id[collection_id] = info
            log.info("collection created", extra={"collection": schema.name, "id": collection_id})
            return info, True

    def drop(self, info: CollectionInfo) -> None:
        """Remove the collection and record its drop as pending, in one transaction."""
        with self._lock:
            self._kv.txn(
                [],
                [
                    Delete(collection_key(info.collection_id)),
                    Delete(name_key(info.db_name, info.name)),
                    Put(dropping_collection_key(info.collection_id), to_json(info)),
                ],
            )
            self._by_id.pop(info.collection_id, None)

    def pending_collection_drops(self) -> list[CollectionInfo]:
        """Collections dropped from the catalog whose other records may remain."""
        return [
            from_json(CollectionInfo, i.value) for i in self._kv.get_prefix(DROPPING_COLLECTIONS)
        ]

    def collection_drop_done(self, collection_id: int) -> None:
        self._kv.delete(dropping_collection_key(collection_id))

    def add_partition(self, info: CollectionInfo, partition: PartitionInfo) -> CollectionInfo:
        with self._lock:
            current = self.get(info.collection_id)
            if current.partition(partition.name) is not None:
                return current
            if len(current.partitions) >= MAX_PARTITIONS:
                raise errors.ParameterInvalid(
                    f"partition number ({len(current.partitions)}) exceeds max configuration "
                    f"({MAX_PARTITIONS}), collection: {current.name}"
                )
            updated = dataclasses.replace(current, partitions=(*current.partitions, partition))
            return self._save(updated)

    def remove_partition(self, info: CollectionInfo, partition_name: str) -> CollectionInfo:
        """Remove the partition and record its drop as pending, in one transaction."""
        with self._lock:
            current = self.get(info.collection_id)
            target = current.partition(partition_name)
            if target is None:
                return current
            kept = tuple(p for p in current.partitions if p.name != partition_name)
            updated = dataclasses.replace(current, partitions=kept)
            drop = PartitionDrop(current.collection_id, target.partition_id)
            self._kv.txn(
                [],
                [
                    Put(collection_key(current.collection_id), to_json(updated)),
                    Put(
                        dropping_partition_key(drop.collection_id, drop.partition_id), to_json(drop)
                    ),
                ],
            )
            self._by_id[current.collection_id] = updated
            return updated

    def pending_partition_drops(self) -> list[PartitionDrop]:
        return [from_json(PartitionDrop, i.value) for i in self._kv.get_prefix(DROPPING_PARTITIONS)]

    def partition_drop_done(self, drop: PartitionDrop) -> None:
        self._kv.delete(dropping_partition_key(drop.collection_id, drop.partition_id))

    def _save(self, info: CollectionInfo) -> CollectionInfo:
        self._kv.put(collection_key(info.collection_id), to_json(info))
        self._by_id[info.collection_id] = info
        return info

    def _find_or_none(self, db_name: str, name: str) -> CollectionInfo | None:
        try:
            return self.find(db_name, name)
        except errors.CollectionNotFound:
            return None
