"""A sealed segment is flushed at the first tick >= its seal_ts; a write assigned to it
before the seal must land first, however slow its proxy, or its rows are lost.

Two proxies on the in-process roles: the harness's own writer, and a second
one whose produce is held back at a gate while the segment its write was
assigned to gets sealed and the first proxy keeps writing and reporting.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path

from roles_harness import RoleSet, make_rows, wait_until

from elanus.meta import SegmentState
from elanus.stream import EARLIEST, Consumer, Position
from elanus.stream.embedded_log import EmbeddedLog
from proxy.writer import DmlWriter

GATE_TIMEOUT_S = 10.0


class HeldStream:
    """The shared log (a MessageStream), except that a produce waits until the gate opens."""

    def __init__(self, log: EmbeddedLog) -> None:
        self._log = log
        self.entered = threading.Event()
        self.gate = threading.Event()

    def produce(self, channel: str, payloads: Sequence[bytes]) -> list[Position]:
        self.entered.set()
        assert self.gate.wait(GATE_TIMEOUT_S), "the gate never opened"
        return self._log.produce(channel, payloads)

    def create_channel(self, channel: str) -> None:
        self._log.create_channel(channel)

    def consume(self, channel: str, start: Position = EARLIEST) -> Consumer:
        return self._log.consume(channel, start)

    def end_position(self, channel: str) -> Position:
        return self._log.end_position(channel)

    def truncate_before(self, channel: str, position: Position) -> int:
        return self._log.truncate_before(channel, position)

    def close(self) -> None:
        self._log.close()


def test_a_delayed_write_lands_before_its_sealed_segment_is_flushed(tmp_path: Path) -> None:
    roles = RoleSet(tmp_path).start()
    try:
        info = roles.create_collection(shards=1, index=False)
        partition = info.partitions[0].partition_id
        held = HeldStream(roles.stream)
        slow = DmlWriter(2, held, roles.coordinator, roles.config.proxy.time_tick_interval_s)
        slow.start()
        late = threading.Thread(
            target=slow.insert, args=(info, partition, make_rows(info.schema, [1, 2, 3]))
        )
        late.start()
        assert held.entered.wait(GATE_TIMEOUT_S)  # timestamp drawn, segment assigned

        flush = roles.coordinator.flush(info.collection_id)  # seals it above that timestamp
        assert flush.segment_ids, "the slow write's segment is sealed"
        for pk in range(10, 15):  # the other proxy goes on writing and reporting
            roles.writer.insert(info, partition, make_rows(info.schema, [pk]))
        time.sleep(10 * roles.config.proxy.time_tick_interval_s)
        assert not roles.coordinator.flush_state(
            info.collection_id, flush.segment_ids, flush.flush_ts
        ), "the segment was flushed while a write assigned to it was in flight"

        held.gate.set()
        late.join(GATE_TIMEOUT_S)
        wait_until(
            lambda: roles.coordinator.flush_state(
                info.collection_id, flush.segment_ids, flush.flush_ts
            ),
            what="the flush",
        )
        sealed = [roles.coordinator.segments.get(s) for s in flush.segment_ids]
        assert all(s is not None and s.state is SegmentState.FLUSHED for s in sealed), sealed
        assert sum(s.num_rows for s in sealed if s is not None) == 3, "the late rows were lost"
        slow.stop()
    finally:
        roles.stop()
