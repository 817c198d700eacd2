"""Databases, collections, partitions and aliases: the DDL half of the coordinator, in the KV.

A database is one JSON value under ``databases/{name}``; ``default`` always
exists (stored only once its properties change). An alias is
``aliases/{db}/{alias}`` -> collection id; in one database a name is a
collection or an alias, never both.

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
    DEFAULT_DB,
    ChannelCheckpoint,
    CollectionInfo,
    ConsistencyLevel,
    DatabaseInfo,
    PartitionInfo,
    from_json,
    to_json,
)
from elanus.properties import altered
from elanus.schema import CollectionSchema, FieldSchema

log = logging.getLogger(__name__)

MAX_PARTITIONS = 1024
MAX_FIELDS = 64  # Milvus's proxy.maxFieldNum: fields a collection lists ($meta aside)
MAX_DATABASES = 64  # Milvus's rootCoord.maxDatabaseNum, ``default`` included
DEFAULT_DB_ID = 1


def database_key(name: str) -> str:
    return f"databases/{name}"


def alias_key(db_name: str, alias: str) -> str:
    return f"aliases/{db_name}/{alias}"


def alias_detail(db_name: str, alias: str) -> str:
    """Milvus's fields of an alias error: ``...[database=db][alias=a]``."""
    return errors.fields(database=db_name, alias=alias)


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
        self._databases: dict[str, DatabaseInfo] = {
            DEFAULT_DB: DatabaseInfo(DEFAULT_DB_ID, DEFAULT_DB, 0)
        }
        for item in kv.get_prefix("databases/"):
            db = from_json(DatabaseInfo, item.value)
            self._databases[db.name] = db
        self._aliases: dict[tuple[str, str], int] = {}
        for item in kv.get_prefix("aliases/"):
            db_name, alias = item.key.removeprefix("aliases/").split("/", 1)
            self._aliases[(db_name, alias)] = int(item.value)

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
        raise errors.collection_not_found(db_name, name)

    def resolve(self, db_name: str, name: str) -> CollectionInfo:
        """The collection named ``name`` in the database, or the one its alias ``name`` names."""
        with self._lock:
            collection_id = self._aliases.get((db_name, name))
            if collection_id is not None and collection_id in self._by_id:
                return self._by_id[collection_id]
            return self.find(db_name, name)

    def is_alias(self, db_name: str, name: str) -> bool:
        with self._lock:
            return (db_name, name) in self._aliases

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
        partitions: tuple[PartitionInfo, ...],
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
        is an error, as in Milvus. ``partitions`` are its first ones (``_default``, or
        ``_default_0`` ... for a partition key). The collection, its name and its channels'
        first checkpoints (at ``channel_positions(pchannel)``) are written in one
        transaction.
        """
        with self._lock:
            self.database(db_name)
            if (db_name, schema.name) in self._aliases:
                raise errors.OperationRefused(
                    f"collection name [{schema.name}] conflicts with an existing alias, "
                    "please choose a unique name"
                )
            existing = self._find_or_none(db_name, schema.name)
            if existing is not None:
                same_partitions = not any(f.is_partition_key for f in schema.fields) or len(
                    existing.partitions
                ) == len(partitions)
                if (
                    existing.schema == schema
                    and existing.shards_num == shards_num
                    and same_partitions
                ):
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
                partitions=partitions,
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
        """Remove the collection and record its drop as pending, in one transaction.

        Refused while the collection has aliases, as Milvus refuses it."""
        with self._lock:
            aliases = self.aliases(info.db_name, info.collection_id)
            if aliases:
                raise errors.OperationRefused(
                    f"unable to drop the collection [{info.name}] because it has associated "
                    f"aliases [{' '.join(aliases)}], please remove all aliases before dropping "
                    "the collection"
                )
            self._kv.txn(
                [],
                [
                    Delete(collection_key(info.collection_id)),
                    Delete(name_key(info.db_name, info.name)),
                    Put(dropping_collection_key(info.collection_id), to_json(info)),
                ],
            )
            self._by_id.pop(info.collection_id, None)

    def rename(
        self, db_name: str, old_name: str, new_db_name: str, new_name: str
    ) -> CollectionInfo:
        """Give the collection a new name (in ``new_db_name``), in one transaction.

        Milvus's rules: the old name must be a collection, not an alias; the new
        one must be neither a collection nor an alias in the target database; a
        collection with aliases stays in its database (its aliases follow it there,
        since they name its id)."""
        with self._lock:
            self.database(db_name)
            self.database(new_db_name)
            if (db_name, old_name) in self._aliases:
                raise errors.ParameterInvalid(
                    cause=f"unsupported use an alias to rename collection, alias:{old_name}"
                )
            if (new_db_name, new_name) in self._aliases:
                raise errors.AliasCollectionNameConflict(alias_detail(new_db_name, new_name))
            if self._find_or_none(new_db_name, new_name) is not None:
                raise errors.ParameterInvalid(
                    cause=f"duplicated new collection name {new_db_name}:{new_name} "
                    "with other collection name or alias"
                )
            current = self.find(db_name, old_name)
            if new_db_name != db_name and self.aliases(db_name, current.collection_id):
                raise errors.ParameterInvalid(
                    cause="fail to rename db name, must drop all aliases of this collection "
                    "before rename"
                )
            updated = dataclasses.replace(
                current,
                db_name=new_db_name,
                schema=dataclasses.replace(current.schema, name=new_name),
            )
            ok = self._kv.txn(
                [Compare(name_key(new_db_name, new_name), 0)],
                [
                    Put(collection_key(current.collection_id), to_json(updated)),
                    Delete(name_key(db_name, old_name)),
                    Put(name_key(new_db_name, new_name), str(current.collection_id).encode()),
                ],
            )
            if not ok:
                raise errors.ParameterInvalid(
                    cause=f"duplicated new collection name {new_db_name}:{new_name} "
                    "with other collection name or alias"
                )
            self._by_id[current.collection_id] = updated
            log.info(
                "collection renamed",
                extra={
                    "id": current.collection_id,
                    "from": f"{db_name}.{old_name}",
                    "to": f"{new_db_name}.{new_name}",
                },
            )
            return updated

    def truncate(self, collection_id: int, truncate_ts: int) -> CollectionInfo:
        """Record a truncate: rows inserted before ``truncate_ts`` are gone. Only rises."""
        with self._lock:
            current = self.get(collection_id)
            if truncate_ts <= current.truncated_ts:
                return current
            return self._save(dataclasses.replace(current, truncated_ts=truncate_ts))

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

    def add_field(self, info: CollectionInfo, added: FieldSchema, ts: int) -> CollectionInfo:
        """Append ``added`` to the collection's schema (numbered, version bumped, the
        schema's update time ``ts``), in one write. Refused, changing nothing, for a
        name the collection already has or once it has MAX_FIELDS fields."""
        with self._lock:
            current = self.get(info.collection_id)
            static = [f for f in current.schema.fields if not f.is_dynamic]
            if len(static) >= MAX_FIELDS:
                raise errors.ParameterInvalid(
                    cause=f"The number of fields has reached the maximum value {MAX_FIELDS}"
                )
            if any(f.name == added.name for f in static):
                raise errors.ParameterInvalid(cause=f"duplicate field name: {added.name}")
            updated = dataclasses.replace(
                current, schema=current.schema.with_added_field(added), updated_ts=ts
            )
            saved = self._save(updated)
            log.info(
                "collection field added",
                extra={
                    "collection": current.name,
                    "id": current.collection_id,
                    "field": added.name,
                    "schema_version": saved.schema.version,
                },
            )
            return saved

    def alter_properties(
        self, info: CollectionInfo, properties: dict[str, str], delete_keys: tuple[str, ...]
    ) -> CollectionInfo:
        """Set ``properties`` and remove ``delete_keys`` (checked by the caller), in one write."""
        with self._lock:
            current = self.get(info.collection_id)
            merged = altered(current.properties, properties, delete_keys)
            saved = self._save(dataclasses.replace(current, properties=merged))
            log.info(
                "collection properties altered",
                extra={
                    "collection": current.name,
                    "id": current.collection_id,
                    "set": properties,
                    "deleted": list(delete_keys),
                },
            )
            return saved

    def alter_field(
        self,
        info: CollectionInfo,
        field_name: str,
        properties: dict[str, str],
        delete_keys: tuple[str, ...],
    ) -> CollectionInfo:
        """Set and remove type params of one field (checked by the caller), in one write."""
        with self._lock:
            current = self.get(info.collection_id)
            fields = []
            for f in current.schema.fields:
                if f.name == field_name:
                    params = altered(f.type_params, properties, delete_keys)
                    f = dataclasses.replace(f, type_params=params)
                fields.append(f)
            schema = dataclasses.replace(current.schema, fields=tuple(fields))
            saved = self._save(dataclasses.replace(current, schema=schema))
            log.info(
                "collection field altered",
                extra={
                    "collection": current.name,
                    "id": current.collection_id,
                    "field": field_name,
                    "set": properties,
                    "deleted": list(delete_keys),
                },
            )
            return saved

    def pending_partition_drops(self) -> list[PartitionDrop]:
        return [from_json(PartitionDrop, i.value) for i in self._kv.get_prefix(DROPPING_PARTITIONS)]

    def partition_drop_done(self, drop: PartitionDrop) -> None:
        self._kv.delete(dropping_partition_key(drop.collection_id, drop.partition_id))

    # --- databases

    def database(self, name: str) -> DatabaseInfo:
        with self._lock:
            db = self._databases.get(name)
        if db is None:
            raise errors.DatabaseNotFound(f"database={name}")
        return db

    def databases(self) -> list[DatabaseInfo]:
        with self._lock:
            return sorted(self._databases.values(), key=lambda d: (d.created_ts, d.db_id))

    def create_database(self, db: DatabaseInfo) -> None:
        with self._lock:
            if db.name in self._databases:
                raise errors.OperationRefused(f"database already exist: {db.name}")
            if len(self._databases) >= MAX_DATABASES:
                raise errors.DatabaseNumLimitExceeded(f"limit={MAX_DATABASES}")
            if not self._kv.txn(
                [Compare(database_key(db.name), 0)], [Put(database_key(db.name), to_json(db))]
            ):
                raise errors.OperationRefused(f"database already exist: {db.name}")
            self._databases[db.name] = db
            log.info("database created", extra={"database": db.name, "id": db.db_id})

    def drop_database(self, name: str) -> None:
        """Drop an empty database; dropping one that does not exist succeeds, as in Milvus."""
        with self._lock:
            if name == DEFAULT_DB:
                raise errors.OperationRefused("can not drop default database")
            if name not in self._databases:
                return
            if self.all(name):
                raise errors.OperationRefused(
                    f"database:{name} not empty, must drop all collections before drop database"
                )
            self._kv.delete(database_key(name))
            del self._databases[name]
            log.info("database dropped", extra={"database": name})

    def alter_database(
        self, name: str, properties: dict[str, str], delete_keys: tuple[str, ...]
    ) -> None:
        with self._lock:
            current = self.database(name)
            merged = altered(current.properties, properties, delete_keys)
            updated = dataclasses.replace(current, properties=merged)
            self._kv.put(database_key(name), to_json(updated))
            self._databases[name] = updated

    # --- aliases

    def aliases(self, db_name: str, collection_id: int | None = None) -> list[str]:
        """The database's aliases (of one collection if ``collection_id``), sorted."""
        with self._lock:
            return sorted(
                alias
                for (db, alias), target in self._aliases.items()
                if db == db_name and (collection_id is None or target == collection_id)
            )

    def alias_target(self, db_name: str, alias: str) -> CollectionInfo:
        with self._lock:
            collection_id = self._aliases.get((db_name, alias))
            info = None if collection_id is None else self._by_id.get(collection_id)
        if info is None:
            raise errors.AliasNotFound(alias_detail(db_name, alias))
        return info

    def create_alias(self, db_name: str, alias: str, collection: str) -> None:
        """Name ``collection`` also ``alias``; again for the same collection is a no-op."""
        with self._lock:
            # Milvus's CreateAlias names the database by its id when the collection is missing.
            db_id = self.database(db_name).db_id
            missing = errors.fields(database=db_id, collection=collection)
            info = self._alias_candidate(db_name, alias, collection, missing)
            current = self._aliases.get((db_name, alias))
            if current == info.collection_id:
                return
            if current is not None:
                other = self._by_id[current].name if current in self._by_id else str(current)
                raise errors.AliasAlreadyExist(
                    alias_detail(db_name, alias),
                    cause=f"{alias} is alias to another collection: {other}",
                )
            ok = self._kv.txn(
                [Compare(alias_key(db_name, alias), 0)],
                [Put(alias_key(db_name, alias), str(info.collection_id).encode())],
            )
            if not ok:
                raise errors.AliasAlreadyExist(alias_detail(db_name, alias))
            self._aliases[(db_name, alias)] = info.collection_id

    def alter_alias(self, db_name: str, alias: str, collection: str) -> None:
        """Point an existing alias at another collection, in one write: a reader resolves
        it to the old collection or the new one, never to nothing."""
        with self._lock:
            missing = errors.fields(collection=collection)
            info = self._alias_candidate(db_name, alias, collection, missing)
            if (db_name, alias) not in self._aliases:
                raise errors.AliasNotFound(alias_detail(db_name, alias))
            self._kv.put(alias_key(db_name, alias), str(info.collection_id).encode())
            self._aliases[(db_name, alias)] = info.collection_id

    def drop_alias(self, db_name: str, alias: str) -> None:
        """Dropping an alias that does not exist succeeds, as in Milvus."""
        with self._lock:
            if (db_name, alias) not in self._aliases:
                return
            self._kv.delete(alias_key(db_name, alias))
            del self._aliases[(db_name, alias)]

    def _alias_candidate(
        self, db_name: str, alias: str, collection: str, missing: str
    ) -> CollectionInfo:
        """The collection an alias is to name; ``missing`` is the detail if there is none."""
        self.database(db_name)
        if self._find_or_none(db_name, alias) is not None:
            raise errors.AliasCollectionNameConflict(alias_detail(db_name, alias))
        target = self._find_or_none(db_name, collection)
        if target is None:
            raise errors.CollectionNotFound(missing)
        return target

    def _save(self, info: CollectionInfo) -> CollectionInfo:
        self._kv.put(collection_key(info.collection_id), to_json(info))
        self._by_id[info.collection_id] = info
        return info

    def _find_or_none(self, db_name: str, name: str) -> CollectionInfo | None:
        try:
            return self.find(db_name, name)
        except errors.CollectionNotFound:
            return None
