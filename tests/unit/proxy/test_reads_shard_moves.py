"""A read waits out a shard that is moving to another querynode, bounded in time,
at the timestamps it first took; a released collection or a shard that never
comes back still fails."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pyarrow as pa
import pytest

from elanus import errors, timestamps
from elanus.meta import ConsistencyLevel
from elanus.requests import QueryRequest, QueryResult
from elanus.services import LoadProgress
from proxy.reads import Consistency, Reader

CHANNELS = ("moving-dml_0v0", "moving-dml_1v1")
LIVE, DEAD = 10, 6


@dataclass
class Coordinator:
    """Shard leaders that are missing for ``gaps`` asks, then point at ``leader``."""

    gaps: int = 0
    leader: int = LIVE
    state: str = "Loaded"
    asks: int = 0
    ms: int = timestamps.now_ms()

    def alloc_timestamp(self) -> int:
        self.ms += 1
        return timestamps.compose(self.ms)

    def shard_leaders(self, collection_id: int) -> dict[str, int]:
        self.asks += 1
        if self.asks <= self.gaps:
            raise errors.CollectionNotLoaded("collection=moving")
        return {vchannel: self.leader for vchannel in CHANNELS}

    def load_progress(self, collection_id: int) -> LoadProgress:
        return LoadProgress(self.state, 100 if self.state == "Loaded" else 50)


@dataclass
class QueryNode:
    reads: list[QueryRequest] = field(default_factory=list)

    def query(self, request: QueryRequest) -> QueryResult:
        self.reads.append(request)
        return QueryResult(rows=pa.table({}), count=3)


def _info() -> Any:
    return SimpleNamespace(
        collection_id=1,
        name="moving",
        vchannels=CHANNELS,
        pchannels=("moving-dml_0", "moving-dml_1"),
        consistency_level=ConsistencyLevel.STRONG,
        schema=SimpleNamespace(primary_field=SimpleNamespace(name="id"), version=0),
        properties={},
    )


def _count(coordinator: Coordinator, querynodes: dict[int, Any], wait_s: float = 5.0) -> int:
    reader = Reader(coordinator, querynodes, 1.0, 100, shard_move_wait_s=wait_s)  # type: ignore[arg-type]
    strong = Consistency(ConsistencyLevel.STRONG, False, 0)
    return reader.query(_info(), (), "", {}, (), None, 0, True, strong).count


def test_a_read_waits_for_a_moving_shard_at_the_timestamps_it_took() -> None:
    coordinator, node = Coordinator(gaps=3), QueryNode()
    assert _count(coordinator, {LIVE: node}) == 6  # 3 per shard, both shards read
    assert coordinator.asks == 4
    assert len({(r.mvcc_ts, r.guarantee_ts) for r in node.reads}) == 1


def test_a_leader_that_no_longer_answers_is_waited_out_too() -> None:
    coordinator, node = Coordinator(leader=DEAD), QueryNode()

    class Gone:
        def query(self, request: QueryRequest) -> QueryResult:
            coordinator.leader = LIVE  # its session expired; the shard moved
            raise errors.ServiceUnavailable("node 6 is not at this address (node 10 is)")

    assert _count(coordinator, {DEAD: Gone(), LIVE: node}) == 6


def test_a_released_collection_fails_at_once() -> None:
    coordinator = Coordinator(gaps=1000, state="NotLoad")
    with pytest.raises(errors.CollectionNotLoaded):
        _count(coordinator, {LIVE: QueryNode()})
    assert coordinator.asks == 1


def test_a_shard_that_never_comes_back_fails_after_the_wait() -> None:
    coordinator = Coordinator(gaps=1000)
    with pytest.raises(errors.CollectionNotLoaded):
        _count(coordinator, {LIVE: QueryNode()}, wait_s=0.3)
    assert 2 <= coordinator.asks < 10
