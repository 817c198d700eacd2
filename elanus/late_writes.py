"""The one rule for a late write, shared by every consumer of a DML channel.

A time tick T on a channel promises that no message with a timestamp <= T
follows it. A proxy whose session was lost is no longer waited for by the
ticks, so a write it was still publishing can land after a tick at or above its
timestamp. Readers already served at that tick must not see it appear later,
and the datanode and the querynodes must agree on what the channel holds. So
every consumer drops such a message, the same way: an insert or delete whose
timestamp is at or below the highest tick already on the channel before it.

The decision depends only on the channel's content, never on where a consumer
started, because each consumer seeds the filter with the highest tick before
its start position (the checkpoint's ``timestamp``; see datanode/channel_writer.py).
"""

from __future__ import annotations

import logging

from elanus.dml import Stamp

log = logging.getLogger(__name__)


class LateWriteFilter:
    """Follows one consumer's ticks on one virtual channel; tells late writes apart."""

    def __init__(self, vchannel: str, consumer: str, last_tick_ts: int = 0) -> None:
        self.vchannel = vchannel
        self.consumer = consumer
        self.last_tick_ts = last_tick_ts
        self.dropped = 0

    def on_tick(self, tick_ts: int) -> None:
        self.last_tick_ts = max(self.last_tick_ts, tick_ts)

    def is_late(self, stamp: Stamp, position: int = -1) -> bool:
        """True (and logged) if the message must be dropped: its timestamp is not above
        a tick already seen, so readers may have been answered without it."""
        if stamp.timestamp > self.last_tick_ts:
            return False
        self.dropped += 1
        log.warning(
            "dropping a late write: its timestamp is not above a tick already on the channel",
            extra={
                "vchannel": self.vchannel,
                "consumer": self.consumer,
                "ts": stamp.timestamp,
                "tick": self.last_tick_ts,
                "source": stamp.source_id,
                "msg_id": stamp.msg_id,
                "position": position,
            },
        )
        return True
