"""The notifications every part of the coordinator sends nodes, in one place.

The data, DDL and index parts all tell nodes things (watch a channel, a segment
was sealed, a segment changed for querynodes); each goes through the node's lane
of the :class:`~coordinator.dispatch.Dispatcher`, never under a coordinator lock.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence

from coordinator.dispatch import Dispatcher
from coordinator.loads import LoadRegistry
from coordinator.nodes import NodeRegistry
from elanus import errors
from elanus.meta import SegmentInfo
from elanus.services import QueryNodeClient

log = logging.getLogger(__name__)


class NodeCalls:
    def __init__(self, nodes: NodeRegistry, loads: LoadRegistry, dispatch: Dispatcher) -> None:
        self._nodes = nodes
        self._loads = loads
        self._dispatch = dispatch

    def watch(self, vchannel: str) -> None:
        """Have the channel's datanode (a new one if its owner left) consume it."""
        try:
            owner, node = self._nodes.channel_owner(vchannel)
        except errors.ServiceNotReady:
            # A cluster's datanodes may join after this; membership watches it then.
            log.warning("no datanode to watch the channel yet", extra={"channel": vchannel})
            return
        self._nodes.mark_watched(vchannel, owner.epoch)
        self._dispatch.submit("watch", lambda: node.watch_channel(vchannel, owner.epoch), node)

    def notify_sealed(self, sealed: Sequence[SegmentInfo]) -> None:
        for segment in sealed:
            node = self._nodes.datanode_for(segment.vchannel)
            seal = functools.partial(
                node.seal_segment, segment.vchannel, segment.segment_id, segment.seal_ts
            )
            self._dispatch.submit("seal", seal, node)

    def notify_querynodes(
        self, collection_id: int, call: Callable[[QueryNodeClient], None]
    ) -> None:
        """Every querynode, if the collection is loaded."""
        if self._loads.get(collection_id) is None:
            return
        for node in self._nodes.querynodes():
            self._dispatch.submit("querynode", functools.partial(call, node), node)
