"""Which node does what: the registry of nodes and the placement of work on them.

Placement is a pure function of stable names (CRC32 of the channel name, the
build id), so every coordinator process, and every restart, places the same
work on the same node while the set of nodes is unchanged.

A channel's datanode is sticky: once assigned it stays with that node until the
node leaves (one consumer per channel, whatever joins later); then
:meth:`NodeRegistry.unregister_datanode` hands back the channels to re-assign.

Each assignment of a channel draws a new *epoch* (one more than the channel's
last). The owner's ``(node id, epoch)`` is its lease: the coordinator applies a
datanode's report on a channel only while the lease it carries is the current
one (:meth:`NodeRegistry.holding_lease`), so a datanode that was cut off, and
whose channels moved meanwhile, cannot move a checkpoint or register a segment
behind the new owner's back, even when it comes back under the same node id.
"""

from __future__ import annotations

import threading
import zlib
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from elanus import errors
from elanus.services import (
    ChannelLease,
    DataNodeClient,
    IndexNodeClient,
    QueryNodeClient,
)


@dataclass(frozen=True)
class ChannelOwner:
    """The datanode a channel is assigned to, and the epoch of that assignment."""

    node_id: int
    epoch: int


class NodeRegistry:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._datanodes: dict[int, DataNodeClient] = {}
        self._querynodes: dict[int, QueryNodeClient] = {}
        self._querynode_addresses: dict[int, str] = {}  # "" for an in-process node
        self._indexnodes: dict[int, IndexNodeClient] = {}
        self._channel_owners: dict[str, int] = {}  # vchannel -> datanode id
        # vchannel -> epoch of its latest assignment; kept when the owner leaves, so
        # the next assignment's epoch is higher than every lease handed out before.
        self._epochs: dict[str, int] = {}
        # vchannel -> the epoch its owner was last told with watch_channel; an owner
        # chosen on the way (datanode_for from a flush) is told by the next reconcile.
        self._announced: dict[str, int] = {}
        # Held while an owner changes and while a report is applied: a report that
        # passed the lease check lands before the channel can change hands.
        self._lease_lock = threading.RLock()

    def register_datanode(self, node_id: int, client: DataNodeClient) -> None:
        with self._lock:
            self._datanodes[node_id] = client

    def register_querynode(self, node_id: int, client: QueryNodeClient, address: str = "") -> None:
        """``address``: where its gRPC server listens, as its session says ("" in-process)."""
        with self._lock:
            self._querynodes[node_id] = client
            self._querynode_addresses[node_id] = address

    def register_indexnode(self, node_id: int, client: IndexNodeClient) -> None:
        with self._lock:
            self._indexnodes[node_id] = client

    def unregister_datanode(self, node_id: int) -> tuple[DataNodeClient | None, list[str]]:
        """Forget a node; returns its client and the channels it owned, now unowned
        (from now on its reports on them are refused)."""
        with self._lease_lock, self._lock:
            client = self._datanodes.pop(node_id, None)
            orphans = [v for v, owner in self._channel_owners.items() if owner == node_id]
            for vchannel in orphans:
                del self._channel_owners[vchannel]
            return client, orphans

    def forget_channel(self, vchannel: str) -> None:
        """The channel's collection was dropped: no owner, no epoch, never saved again
        (a dropped channel's name is never reused: it carries its collection id)."""
        with self._lease_lock, self._lock:
            self._channel_owners.pop(vchannel, None)
            self._epochs.pop(vchannel, None)
            self._announced.pop(vchannel, None)

    def unregister_querynode(self, node_id: int) -> QueryNodeClient | None:
        with self._lock:
            self._querynode_addresses.pop(node_id, None)
            return self._querynodes.pop(node_id, None)

    def querynode_address(self, node_id: int) -> str:
        with self._lock:
            return self._querynode_addresses.get(node_id, "")

    def unregister_indexnode(self, node_id: int) -> IndexNodeClient | None:
        with self._lock:
            return self._indexnodes.pop(node_id, None)

    def datanode_for(self, vchannel: str) -> DataNodeClient:
        """The channel's owner; a channel without one gets one (and keeps it)."""
        return self.channel_owner(vchannel)[1]

    def channel_owner(self, vchannel: str) -> tuple[ChannelOwner, DataNodeClient]:
        """The channel's owner and its client; a channel without a live owner gets a
        new one, under a new epoch."""
        with self._lease_lock, self._lock:
            if not self._datanodes:
                raise errors.ServiceNotReady("no datanode is registered")
            owner = self._channel_owners.get(vchannel)
            if owner not in self._datanodes:
                counts = Counter(self._channel_owners.values())
                owner = _least_loaded(sorted(self._datanodes), _stable_hash(vchannel), counts)
                self._channel_owners[vchannel] = owner
                self._epochs[vchannel] = self._epochs.get(vchannel, 0) + 1
            epoch = self._epochs.setdefault(vchannel, 1)
            return ChannelOwner(owner, epoch), self._datanodes[owner]

    @contextmanager
    def holding_lease(self, vchannel: str, lease: ChannelLease) -> Iterator[None]:
        """Run the body only if ``lease`` is the channel's current one, and keep the
        channel from changing hands until the body is done; else the error
        :class:`~elanus.errors.ChannelLeaseLost`."""
        with self._lease_lock:
            with self._lock:
                owner = self._channel_owners.get(vchannel)
                epoch = self._epochs.get(vchannel, 0)
            if owner != lease.node_id or epoch != lease.epoch:
                if owner is None:
                    # forget_channel drops the epoch too: no epoch left means a dropped channel.
                    current = errors.CHANNEL_DROPPED if not epoch else "no datanode"
                else:
                    current = f"datanode {owner} epoch {epoch}"
                raise errors.ChannelLeaseLost(
                    f"datanode {lease.node_id} (epoch {lease.epoch}) no longer owns "
                    f"channel {vchannel}; it is now {current}"
                )
            yield

    def mark_watched(self, vchannel: str, epoch: int) -> None:
        """The owner under ``epoch`` was sent ``watch_channel``."""
        with self._lock:
            self._announced[vchannel] = epoch

    def unannounced_channels(self) -> list[str]:
        """Owned channels whose owner was never told its current epoch."""
        with self._lock:
            return sorted(
                v for v in self._channel_owners if self._announced.get(v) != self._epochs.get(v, 1)
            )

    def channel_owners(self) -> dict[str, int]:
        with self._lock:
            return dict(self._channel_owners)

    def channel_leases(self) -> dict[str, ChannelOwner]:
        """Every owned channel's owner and epoch (what membership persists)."""
        with self._lock:
            return {
                v: ChannelOwner(node_id, self._epochs.get(v, 1))
                for v, node_id in self._channel_owners.items()
            }

    def restore_channel_owners(self, owners: Mapping[str, ChannelOwner]) -> None:
        """Owners remembered from before a coordinator restart, so channels stay put
        and their next assignment draws an epoch above every earlier one."""
        with self._lease_lock, self._lock:
            for vchannel, owner in owners.items():
                self._channel_owners.setdefault(vchannel, owner.node_id)
                self._epochs[vchannel] = max(self._epochs.get(vchannel, 0), owner.epoch)

    def datanode_ids(self) -> list[int]:
        with self._lock:
            return sorted(self._datanodes)

    def has_querynode(self, node_id: int) -> bool:
        with self._lock:
            return node_id in self._querynodes

    def querynode(self, node_id: int) -> QueryNodeClient | None:
        with self._lock:
            return self._querynodes.get(node_id)

    def querynode_for(
        self, vchannel: str, shards_per_node: Mapping[int, int] | None = None
    ) -> tuple[int, QueryNodeClient]:
        """A querynode for a new shard: the least loaded by ``shards_per_node``, ties by hash."""
        with self._lock:
            if not self._querynodes:
                raise errors.ServiceNotReady("no querynode is registered")
            node_id = _least_loaded(
                sorted(self._querynodes), _stable_hash(vchannel), shards_per_node or {}
            )
            return node_id, self._querynodes[node_id]

    def indexnode_for(self, build_id: int) -> IndexNodeClient | None:
        chosen = self.indexnode_choice(build_id)
        return chosen[1] if chosen else None

    def indexnode_choice(self, build_id: int) -> tuple[int, IndexNodeClient] | None:
        """The indexnode for a build (its id and client), or None while there is none."""
        with self._lock:
            if not self._indexnodes:
                return None
            node_id = _pick(sorted(self._indexnodes), build_id)
            return node_id, self._indexnodes[node_id]

    def querynode_ids(self) -> list[int]:
        with self._lock:
            return sorted(self._querynodes)

    def querynodes(self) -> list[QueryNodeClient]:
        with self._lock:
            return list(self._querynodes.values())


def _stable_hash(name: str) -> int:
    return zlib.crc32(name.encode())


def _pick(node_ids: list[int], key: int) -> int:
    return node_ids[key % len(node_ids)]


def _least_loaded(node_ids: list[int], key: int, load: Mapping[int, int]) -> int:
    """The node with the least ``load``; among equals, the first from the hashed start."""
    start = key % len(node_ids)
    rotated = node_ids[start:] + node_ids[:start]
    return min(rotated, key=lambda n: load.get(n, 0))
