"""Node membership: the coordinator's view of which nodes are alive, kept equal to
their sessions in the metadata KV, and the work moved off the nodes that leave.

Nodes announce themselves with sessions (:mod:`elanus.cluster.sessions`). For
each datanode, querynode and indexnode session this registers a client in the
:class:`~coordinator.nodes.NodeRegistry`; when a session goes, the node is
unregistered and :meth:`Membership.reconcile` puts its work elsewhere:

* a datanode's channels go to another datanode, which consumes them from their
  checkpoints (replay is idempotent), under a new lease epoch: from the moment
  the session is gone the old node's reports on them are refused (see
  coordinator/nodes.py), so even if it still runs it cannot move a checkpoint;
* a querynode's shards are loaded on the remaining querynodes and their leaders
  change once the loads finish;
* index builds that had no node are handed to a node that joins, and the builds
  in flight on an indexnode that leaves go to another one (coordinator/index_coord.py);
* a proxy that leaves no longer holds back the channels' time ticks.

Reconciling also runs periodically, so a load that failed is retried and work
that waited for a first node of its kind starts when one comes.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Any

from coordinator.core import Coordinator
from coordinator.nodes import ChannelOwner
from elanus import errors
from elanus.cluster.sessions import Session, SessionWatcher
from elanus.hardware import from_session_extra
from elanus.kv import MetaKV
from elanus.services import NodeDescription

log = logging.getLogger(__name__)

CHANNEL_OWNERS_KEY = "cluster/channel-owners"
NODE_ROLES = ("datanode", "querynode", "indexnode")

Connect = Callable[[Session], Any]  # a session -> a client of that role's interface


class Membership:
    def __init__(
        self,
        core: Coordinator,
        kv: MetaKV,
        connect: Connect,
        reconcile_interval_s: float = 1.0,
    ) -> None:
        self._core = core
        self._kv = kv
        self._connect = connect
        self._interval_s = reconcile_interval_s
        self._lock = threading.RLock()
        self._clients: dict[tuple[str, int], Any] = {}
        self._saved_owners: dict[str, ChannelOwner] | None = None
        self._watchers = [SessionWatcher(kv, role, self._joined, self._left) for role in NODE_ROLES]
        self._watchers.append(SessionWatcher(kv, "proxy", self._proxy_joined, self._proxy_left))
        # Coordinators (this one and its standbys) only appear in GetMetrics.
        self._watchers.append(SessionWatcher(kv, "coordinator", self._described, self._gone))
        self._stopping = threading.Event()
        self._thread = threading.Thread(
            target=self._reconcile_loop, name="coordinator-membership", daemon=True
        )

    def start(self) -> None:
        """Restore channel owners and register the nodes alive now (before the core starts,
        so that it re-watches each channel on the node that already consumes it)."""
        saved = self._kv.get(CHANNEL_OWNERS_KEY)
        if saved is not None:
            owners = decode_channel_owners(saved.value)
            self._core.nodes.restore_channel_owners(owners)
            self._saved_owners = owners
        for watcher in self._watchers:
            watcher.start()

    def start_reconciling(self) -> None:
        """Periodic reconciling; call once the core has started."""
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(5.0)
        for watcher in self._watchers:
            watcher.stop()
        with self._lock:
            clients = list(self._clients.values())
            self._clients.clear()
        for client in clients:
            _close(client)

    # --- sessions

    def _described(self, session: Session) -> None:
        started_ms, hardware = from_session_extra(session.extra)
        self._core.admin.node_joined(
            NodeDescription(session.role, session.node_id, session.address, started_ms, hardware)
        )

    def _gone(self, session: Session) -> None:
        self._core.admin.node_left(session.role, session.node_id)

    def _joined(self, session: Session) -> None:
        self._described(session)
        client = self._connect(session)
        nodes = self._core.nodes
        with self._lock:
            self._clients[(session.role, session.node_id)] = client
            if session.role == "datanode":
                nodes.register_datanode(session.node_id, client)
            elif session.role == "querynode":
                nodes.register_querynode(session.node_id, client, session.address)
            elif session.role == "indexnode":
                nodes.register_indexnode(session.node_id, client)
        log.info(
            "node joined",
            extra={"role": session.role, "node": session.node_id, "address": session.address},
        )
        if self._thread.is_alive():
            self.reconcile()
            if session.role == "indexnode":
                self._core.schedule_missing_builds()

    def _left(self, session: Session) -> None:
        self._gone(session)
        nodes = self._core.nodes
        with self._lock:
            client = self._clients.pop((session.role, session.node_id), None)
            if session.role == "datanode":
                nodes.unregister_datanode(session.node_id)
            elif session.role == "querynode":
                nodes.unregister_querynode(session.node_id)
            elif session.role == "indexnode":
                nodes.unregister_indexnode(session.node_id)
        log.warning("node left", extra={"role": session.role, "node": session.node_id})
        if client is not None:
            _close(client)
        if session.role == "indexnode":
            self._core.indexnode_left(session.node_id)
        if self._thread.is_alive():
            self.reconcile()

    # Time ticks wait for every live proxy's report; a proxy whose session ends
    # without unregistering (killed) must stop holding them back.

    def _proxy_joined(self, session: Session) -> None:
        self._described(session)
        ticks = getattr(self._core, "ticks", None)
        if ticks is not None:
            ticks.expect_proxy(session.node_id)

    def _proxy_left(self, session: Session) -> None:
        self._gone(session)
        ticks = getattr(self._core, "ticks", None)
        if ticks is not None:
            ticks.proxy_left(session.node_id)

    # --- moving work

    def reconcile(self) -> None:
        """Give every channel a live datanode and every loaded shard a live querynode."""
        with self._lock:
            self._rewatch_orphan_channels()
            self._replace_lost_shards()
            self._save_channel_owners()

    def _rewatch_orphan_channels(self) -> None:
        nodes = self._core.nodes
        owners = nodes.channel_owners()
        live = set(nodes.datanode_ids())
        if not live:
            return
        untold = set(nodes.unannounced_channels())
        for info in self._core.catalog.all():
            for vchannel in info.vchannels:
                if owners.get(vchannel) not in live or vchannel in untold:
                    log.info("channel moves to another datanode", extra={"channel": vchannel})
                    self._core.watch_channel(vchannel)

    def _replace_lost_shards(self) -> None:
        core = self._core
        for collection_id, assigned in core.loads.assignments().items():
            partitions = core.loaded_partitions(collection_id)
            state = core.loads.get(collection_id)
            if state is None or partitions is None:
                continue
            try:
                vchannels = core.catalog.get(collection_id).vchannels
            except errors.CollectionNotFound:
                continue
            for vchannel in vchannels:
                node_id = assigned.get(vchannel)
                if node_id is not None and core.nodes.has_querynode(node_id):
                    continue
                if node_id is not None:
                    core.loads.channel_unassigned(collection_id, vchannel, node_id)
                    log.info(
                        "shard moves to another querynode",
                        extra={"channel": vchannel, "from": node_id},
                    )
                core.place_channel(collection_id, vchannel, sorted(state.partition_ids))

    def _save_channel_owners(self) -> None:
        owners = self._core.nodes.channel_leases()
        if owners != self._saved_owners:
            self._kv.put(CHANNEL_OWNERS_KEY, encode_channel_owners(owners))
            self._saved_owners = owners

    def _reconcile_loop(self) -> None:
        while not self._stopping.wait(self._interval_s):
            try:
                self.reconcile()
            except errors.ElanusError as exc:  # a node or the KV unreachable: tried again
                log.warning("reconciling nodes failed", extra={"reason": str(exc)})
            except Exception:
                log.exception("reconciling nodes failed")


def encode_channel_owners(owners: dict[str, ChannelOwner]) -> bytes:
    data = {v: {"node": o.node_id, "epoch": o.epoch} for v, o in owners.items()}
    return json.dumps(data, sort_keys=True).encode()


def decode_channel_owners(raw: bytes) -> dict[str, ChannelOwner]:
    """Owners as saved; a bare node id (saved before epochs existed) is epoch 1."""
    owners = {}
    for vchannel, value in json.loads(raw).items():
        if isinstance(value, dict):
            owners[str(vchannel)] = ChannelOwner(int(value["node"]), int(value["epoch"]))
        else:
            owners[str(vchannel)] = ChannelOwner(int(value), 1)
    return owners


def _close(client: Any) -> None:
    close = getattr(client, "close", None)
    if close is not None:
        try:
            close()
        except Exception:
            log.warning("closing a node client failed", exc_info=True)
