"""The coordinator's query role: loads, releases, progress and shard leaders.

A part of :class:`coordinator.core.Coordinator`, which makes the state it is given
(catalog, index catalog, load registry, nodes, dispatcher).
"""

from __future__ import annotations

import functools
import logging
from collections import Counter
from collections.abc import Sequence

from coordinator.catalog import Catalog
from coordinator.dispatch import Dispatcher
from coordinator.indexes import IndexCatalog
from coordinator.loads import LoadRegistry
from coordinator.nodes import NodeRegistry
from elanus import errors
from elanus.services import LoadProgress, QueryNodeClient

log = logging.getLogger(__name__)


class QueryCoordinator:
    def __init__(
        self,
        catalog: Catalog,
        indexes: IndexCatalog,
        loads: LoadRegistry,
        nodes: NodeRegistry,
        dispatch: Dispatcher,
    ) -> None:
        self.catalog = catalog
        self.indexes = indexes
        self.loads = loads
        self.nodes = nodes
        self._dispatch = dispatch

    def load_collection(
        self, collection_id: int, partition_ids: Sequence[int] = (), replica_number: int = 1
    ) -> None:
        """Load the collection (or these partitions of it) onto the querynodes.

        Each replica needs a querynode of its own, so asking for more replicas than
        there are querynodes is refused, in Milvus's words, before anything changes. One
        replica is never refused: it waits for a querynode, as a load always has.
        """
        info = self.catalog.get(collection_id)
        querynodes = len(self.nodes.querynodes())
        if replica_number > 1 and replica_number > querynodes:
            raise errors.ServiceResourceInsufficient(
                errors.fields(
                    currentStreamingNode=querynodes, expectedStreamingNode=replica_number
                ),
                cause=f"call query coordinator LoadCollection: when load {replica_number} "
                "replica count",
            )
        indexed_fields = {i.field_name for i in self.indexes.of_collection(collection_id)}
        # Milvus's two refusals: no index at all (700), or vector fields without one.
        if not indexed_fields:
            raise errors.IndexNotFound(errors.fields(collection=info.name))
        unindexed = [f.name for f in info.schema.vector_fields if f.name not in indexed_fields]
        if unindexed:
            raise errors.OperationRefused(
                f"there is no vector index on field: [{' '.join(unindexed)}], "
                "please create index firstly"
            )
        self.loads.start(collection_id, partition_ids)
        self.dispatch_load(collection_id, partition_ids)

    def release_collection(self, collection_id: int) -> None:
        self.catalog.get(collection_id)
        if self.loads.release(collection_id) is None:
            return
        # Through the dispatcher, so a load still running on a node finishes first.
        for node in self.nodes.querynodes():
            self._dispatch.submit(
                "release", functools.partial(node.release_collection, collection_id), node
            )

    def release_partitions(self, collection_id: int, partition_ids: Sequence[int]) -> None:
        info = self.catalog.get(collection_id)
        all_ids = [p.partition_id for p in info.partitions]
        state = self.loads.release_partitions(collection_id, partition_ids, all_ids)
        for node in self.nodes.querynodes():
            if state is None:
                release = functools.partial(node.release_collection, collection_id)
            else:
                release = functools.partial(node.release_partitions, collection_id, partition_ids)
            self._dispatch.submit("release", release, node)

    def load_progress(self, collection_id: int, partition_ids: Sequence[int] = ()) -> LoadProgress:
        info = self.catalog.get(collection_id)
        state = self.loads.get(collection_id)
        if state is None:
            return LoadProgress("NotLoad", 0)
        loaded_parts = tuple(
            sorted(state.partition_ids or {p.partition_id for p in info.partitions})
        )
        if partition_ids and not set(partition_ids) <= set(loaded_parts):
            return LoadProgress("NotLoad", 0, loaded_parts)
        percent = 100 * len(state.loaded_channels) // max(len(info.vchannels), 1)
        return LoadProgress("Loaded" if percent == 100 else "Loading", percent, loaded_parts)

    def shard_leaders(self, collection_id: int) -> dict[str, int]:
        info = self.catalog.get(collection_id)
        state = self.loads.get(collection_id)
        if state is None or len(state.leaders) < len(info.vchannels):
            raise errors.CollectionNotLoaded(f"collection={info.name}")
        return dict(state.leaders)

    def loaded_partitions(self, collection_id: int) -> set[int] | None:
        """Loaded partition ids, all of them when the whole collection is; None if not loaded."""
        state = self.loads.get(collection_id)
        if state is None:
            return None
        info = self.catalog.get(collection_id)
        return set(state.partition_ids) or {p.partition_id for p in info.partitions}

    def dispatch_load(self, collection_id: int, partition_ids: Sequence[int]) -> None:
        info = self.catalog.get(collection_id)
        for vchannel in info.vchannels:
            self.place_channel(collection_id, vchannel, partition_ids)

    def place_channel(
        self, collection_id: int, vchannel: str, partition_ids: Sequence[int]
    ) -> None:
        """Have a querynode serve the shard: the one it is assigned to if that is still
        registered, else a new pick. Nothing happens while no querynode is registered."""
        state = self.loads.get(collection_id)
        if state is None:
            return
        assigned = state.assigned.get(vchannel)
        node = self.nodes.querynode(assigned) if assigned is not None else None
        if node is not None and assigned is not None:
            node_id = assigned
        else:
            shards_per_node = Counter(
                n for channels in self.loads.assignments().values() for n in channels.values()
            )
            try:
                node_id, node = self.nodes.querynode_for(vchannel, shards_per_node)
            except errors.ServiceNotReady:
                log.warning("no querynode to serve the shard yet", extra={"channel": vchannel})
                return
        self.loads.channel_assigned(collection_id, vchannel, node_id)

        def load(n: QueryNodeClient = node, nid: int = node_id) -> None:
            if self.loads.get(collection_id) is None:
                return  # released before we got to it
            try:
                n.load_channel(vchannel, list(partition_ids))
            except Exception:
                self.loads.channel_unassigned(collection_id, vchannel, nid)
                raise
            self.loads.channel_loaded(collection_id, vchannel, nid)

        self._dispatch.submit("load", load, node)
