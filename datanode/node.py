"""The datanode role: one :class:`ChannelWriter` per watched virtual channel.

Each writer reports under the channel's lease (this node's id and the epoch the
coordinator sent with ``watch_channel``); a writer told its lease is gone stops
and is forgotten here, so a later ``watch_channel`` starts a fresh one.
"""

from __future__ import annotations

import logging
import threading

from datanode import compactor
from datanode.channel_writer import ChannelWriter
from elanus.config import DataNodeConfig
from elanus.meta import CompactionPlan, SegmentInfo
from elanus.services import ChannelLease, CoordinatorForDataNode
from elanus.storage import ObjectStore
from elanus.stream import MessageStream

log = logging.getLogger(__name__)


class DataNode:
    def __init__(
        self,
        node_id: int,
        config: DataNodeConfig,
        stream: MessageStream,
        storage: ObjectStore,
        coordinator: CoordinatorForDataNode,
    ) -> None:
        self.node_id = node_id
        self._config = config
        self._stream = stream
        self._storage = storage
        self._coordinator = coordinator
        self._lock = threading.Lock()
        self._writers: dict[str, ChannelWriter] = {}

    def watch_channel(self, vchannel: str, epoch: int) -> None:
        lease = ChannelLease(self.node_id, epoch)
        with self._lock:
            existing = self._writers.get(vchannel)
            if existing is not None and not existing.lease_lost:
                # Still this node's channel (a coordinator restart re-sends it): the
                # one writer goes on, reporting under the lease it was given last.
                existing.lease = lease
                return
            writer = ChannelWriter(
                vchannel,
                self._config,
                self._stream,
                self._storage,
                self._coordinator,
                lease,
                self._forget_writer,
            )
            self._writers[vchannel] = writer
        writer.start()

    def writer(self, vchannel: str) -> ChannelWriter | None:
        """The writer consuming this channel here, if any."""
        with self._lock:
            return self._writers.get(vchannel)

    def watched_channels(self) -> dict[str, ChannelLease]:
        with self._lock:
            return {v: w.lease for v, w in self._writers.items()}

    def _forget_writer(self, writer: ChannelWriter) -> None:
        """A writer whose lease was refused: it has stopped; drop it if still ours."""
        with self._lock:
            if self._writers.get(writer.vchannel) is writer:
                del self._writers[writer.vchannel]

    def unwatch_channel(self, vchannel: str) -> None:
        with self._lock:
            writer = self._writers.pop(vchannel, None)
        if writer is not None:
            writer.stop()

    def seal_segment(self, vchannel: str, segment_id: int, seal_ts: int) -> None:
        writer = self._writers.get(vchannel)
        if writer is not None:
            writer.seal(segment_id, seal_ts)

    def flush_channel(self, vchannel: str, flush_ts: int) -> None:
        writer = self._writers.get(vchannel)
        if writer is not None:
            writer.flush(flush_ts)

    def compact(self, plan: CompactionPlan) -> SegmentInfo:
        """Merge the plan's segments into a new segment file; the coordinator commits it."""
        vchannel = plan.segments[0].vchannel if plan.segments else ""
        schema = self._coordinator.channel_snapshot(vchannel).collection.schema
        return compactor.compact(plan, self._storage, schema)

    def stop(self) -> None:
        with self._lock:
            writers = list(self._writers.values())
            self._writers.clear()
        for writer in writers:
            writer.stop()
