"""What every RPC handler of the proxy needs, built once by the composition root."""

from __future__ import annotations

from dataclasses import dataclass

from elanus import errors
from elanus.config import ProxyConfig
from elanus.meta import DEFAULT_DB, DEFAULT_PARTITION, CollectionInfo
from elanus.services import CoordinatorForProxy
from proxy import convert
from proxy.reads import Reader
from proxy.writer import DmlWriter


@dataclass
class ProxyContext:
    node_id: int
    config: ProxyConfig
    coordinator: CoordinatorForProxy
    writer: DmlWriter
    reader: Reader
    version: str

    def require_database(self, db_name: str) -> None:
        """Refuse a call inside a database that does not exist (DatabaseNotFound, 800).

        Asked of the coordinator every time, not cached: another proxy may have
        dropped or created it a moment ago."""
        self.coordinator.describe_database(db_name or DEFAULT_DB)

    def collection(self, db_name: str, name: str) -> CollectionInfo:
        """The collection ``name`` names in the database: its own name or an alias of it
        (the coordinator resolves aliases, once, here)."""
        # Milvus checks the name before looking it up: a malformed name is invalid, not missing.
        convert.validate_collection_name(name)
        return self.coordinator.describe_collection(db_name or DEFAULT_DB, name)

    def partition_id(self, info: CollectionInfo, name: str) -> int:
        """The id of the partition a request names ("" is the default one)."""
        partition = info.partition(name or DEFAULT_PARTITION)
        if partition is None:
            raise errors.PartitionNotFound(f"partition={name}")
        return partition.partition_id
