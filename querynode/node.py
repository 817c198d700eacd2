"""The querynode role: routes each call to the delegator of its shard."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

from elanus import errors
from elanus.config import QueryNodeConfig
from elanus.meta import IndexInfo, SegmentInfo
from elanus.requests import QueryRequest, QueryResult, SearchRequest, SearchResult
from elanus.services import CoordinatorForQueryNode
from elanus.storage import ObjectStore
from elanus.stream import MessageStream
from querynode.delegator import ShardDelegator

log = logging.getLogger(__name__)


class QueryNode:
    def __init__(
        self,
        node_id: int,
        config: QueryNodeConfig,
        stream: MessageStream,
        storage: ObjectStore,
        coordinator: CoordinatorForQueryNode,
    ) -> None:
        self.node_id = node_id
        self._config = config
        self._stream = stream
        self._storage = storage
        self._coordinator = coordinator
        self._lock = threading.Lock()
        self._delegators: dict[str, ShardDelegator] = {}

    def load_channel(self, vchannel: str, partition_ids: Sequence[int]) -> None:
        with self._lock:
            if vchannel in self._delegators:
                return
        snapshot = self._coordinator.channel_snapshot(vchannel)
        delegator = ShardDelegator(
            snapshot,
            self._stream,
            self._storage,
            self._config.consistency_wait_s,
            lambda: self._coordinator.channel_snapshot(vchannel).collection,
        )
        with self._lock:
            if vchannel in self._delegators:
                return
            self._delegators[vchannel] = delegator
        delegator.start()

    def release_collection(self, collection_id: int) -> None:
        with self._lock:
            released = [
                d for d in self._delegators.values() if d.collection.collection_id == collection_id
            ]
            for d in released:
                del self._delegators[d.vchannel]
        for d in released:
            d.stop()

    def release_partitions(self, collection_id: int, partition_ids: Sequence[int]) -> None:
        """Partitions stay in memory until the whole collection is released; the proxy
        only asks for loaded partitions, so released ones are never served."""

    def segment_flushed(self, segment: SegmentInfo) -> None:
        delegator = self._delegators.get(segment.vchannel)
        if delegator is not None:
            delegator.segment_flushed(segment)

    def segment_indexed(self, segment: SegmentInfo, index: IndexInfo) -> None:
        delegator = self._delegators.get(segment.vchannel)
        if delegator is not None:
            delegator.segment_indexed(segment, index)

    def segment_dropped(self, segment: SegmentInfo) -> None:
        delegator = self._delegators.get(segment.vchannel)
        if delegator is not None:
            delegator.segment_dropped(segment)

    def search(self, request: SearchRequest) -> SearchResult:
        return self._delegator(request.vchannel).search(request)

    def query(self, request: QueryRequest) -> QueryResult:
        return self._delegator(request.vchannel).query(request)

    def stop(self) -> None:
        with self._lock:
            delegators = list(self._delegators.values())
            self._delegators.clear()
        for d in delegators:
            d.stop()

    def delegator(self, vchannel: str) -> ShardDelegator | None:
        """The delegator serving this channel here, if any."""
        with self._lock:
            return self._delegators.get(vchannel)

    def _delegator(self, vchannel: str) -> ShardDelegator:
        delegator = self._delegators.get(vchannel)
        if delegator is None:
            raise errors.CollectionNotLoaded(f"channel {vchannel} is not served by this querynode")
        return delegator
