"""Leader election on the embedded KV: one leader, takeover, stop while waiting, loss."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from elanus.cluster.election import Leader, LeaderElection, read_leader
from elanus.kv.embedded import EmbeddedKV

TTL_S = 0.6


@pytest.fixture
def kv(tmp_path: Path) -> Iterator[EmbeddedKV]:
    store = EmbeddedKV(tmp_path / "kv.sqlite", poll_interval_s=0.02, expiry_interval_s=0.02)
    yield store
    store.close()


def campaign_in_background(
    election: LeaderElection, stop: threading.Event
) -> tuple[threading.Thread, list[bool]]:
    outcome: list[bool] = []
    thread = threading.Thread(target=lambda: outcome.append(election.campaign(stop)), daemon=True)
    thread.start()
    return thread, outcome


def test_first_candidate_leads_and_the_second_waits(kv: EmbeddedKV) -> None:
    first = LeaderElection(kv, Leader(1, "a:1"), TTL_S)
    second = LeaderElection(kv, Leader(2, "b:2"), TTL_S)
    assert first.campaign(timeout_s=1.0)
    assert not second.campaign(timeout_s=TTL_S * 3)  # longer than a TTL: the lease is refreshed
    assert first.is_leader and not second.is_leader
    assert read_leader(kv) == Leader(1, "a:1")
    first.resign()


def test_only_one_of_racing_candidates_leads(kv: EmbeddedKV) -> None:
    elections = [LeaderElection(kv, Leader(n), TTL_S) for n in range(1, 6)]
    stop = threading.Event()
    started = [campaign_in_background(e, stop) for e in elections]
    deadline = time.monotonic() + 5.0
    while not any(e.is_leader for e in elections) and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(TTL_S)  # give a wrongly second winner time to appear
    assert sum(e.is_leader for e in elections) == 1
    stop.set()
    for thread, _ in started:
        thread.join(2.0)
        assert not thread.is_alive()
    leader = next(e for e in elections if e.is_leader)
    assert (current := read_leader(kv)) is not None and current.node_id == leader._leader.node_id
    leader.resign()


def test_a_standby_takes_over_when_the_leader_resigns(kv: EmbeddedKV) -> None:
    active = LeaderElection(kv, Leader(1), TTL_S)
    standby = LeaderElection(kv, Leader(2), TTL_S)
    assert active.campaign(timeout_s=1.0)
    stop = threading.Event()
    thread, outcome = campaign_in_background(standby, stop)
    time.sleep(0.2)
    assert outcome == []
    started = time.monotonic()
    active.resign()
    thread.join(3.0)
    assert outcome == [True]
    assert time.monotonic() - started < TTL_S  # revoked, not expired: at once
    assert (current := read_leader(kv)) is not None and current.node_id == 2
    standby.resign()


def test_a_standby_takes_over_when_the_leaders_lease_expires(kv: EmbeddedKV) -> None:
    lost = threading.Event()
    active = LeaderElection(kv, Leader(1), TTL_S, on_lost=lost.set)
    assert active.campaign(timeout_s=1.0)
    active._resigned.set()  # a leader that stops refreshing, as one killed with SIGKILL
    standby = LeaderElection(kv, Leader(2), TTL_S)
    started = time.monotonic()
    assert standby.campaign(timeout_s=TTL_S * 5)
    took = time.monotonic() - started
    assert TTL_S * 0.5 < took < TTL_S * 4
    assert (current := read_leader(kv)) is not None and current.node_id == 2
    standby.resign()


def test_a_leader_whose_lease_is_revoked_reports_the_loss(kv: EmbeddedKV) -> None:
    lost = threading.Event()
    active = LeaderElection(kv, Leader(1), TTL_S, on_lost=lost.set)
    assert active.campaign(timeout_s=1.0)
    assert active._lease is not None
    kv.revoke_lease(active._lease)  # as etcd does when the lease expired during a pause
    assert lost.wait(TTL_S * 3)
    assert not active.is_leader


def test_stop_ends_a_waiting_campaign(kv: EmbeddedKV) -> None:
    active = LeaderElection(kv, Leader(1), TTL_S)
    assert active.campaign(timeout_s=1.0)
    standby = LeaderElection(kv, Leader(2), TTL_S)
    stop = threading.Event()
    thread, outcome = campaign_in_background(standby, stop)
    time.sleep(0.3)
    started = time.monotonic()
    stop.set()
    thread.join(2.0)
    assert outcome == [False]
    assert time.monotonic() - started < 1.0
    assert not standby.is_leader
    assert (current := read_leader(kv)) is not None and current.node_id == 1
    active.resign()


def test_update_rewrites_the_value_only_while_leading(kv: EmbeddedKV) -> None:
    election = LeaderElection(kv, Leader(1), TTL_S)
    assert election.campaign(timeout_s=1.0)
    assert election.update(Leader(1, "h:9", serving=True))
    assert read_leader(kv) == Leader(1, "h:9", serving=True)
    time.sleep(TTL_S * 1.5)  # the refresher must not mistake its own update for a loss
    assert election.is_leader
    election.resign()
    assert read_leader(kv) is None
    assert not election.update(Leader(1, "h:10", serving=True))
