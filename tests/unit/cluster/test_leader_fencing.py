"""A coordinator paused past its lease wakes up after a successor won: its metadata
writes must fail (and tell it to stop), never land under the new leader."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from elanus import errors
from elanus.cluster.election import Leader, LeaderElection
from elanus.kv import Compare, Delete, Put
from elanus.kv.embedded import EmbeddedKV
from elanus.kv.fenced import FencedKV

TTL_S = 0.6


@pytest.fixture
def kv(tmp_path: Path) -> Iterator[EmbeddedKV]:
    store = EmbeddedKV(tmp_path / "kv.sqlite", poll_interval_s=0.02, expiry_interval_s=0.02)
    yield store
    store.close()


def test_the_old_leaders_writes_are_refused_once_a_successor_won(kv: EmbeddedKV) -> None:
    old = LeaderElection(kv, Leader(1, "a:1"), TTL_S)
    assert old.campaign(timeout_s=1.0)
    fenced_old = threading.Event()
    old_meta = FencedKV(kv, old.fence, fenced_old.set)
    old_meta.put("catalog/a", b"1")
    assert kv.get("catalog/a").value == b"1"  # type: ignore[union-attr]

    # The old leader is "paused": its lease goes, a successor wins.
    assert old._lease is not None
    kv.revoke_lease(old._lease)
    new = LeaderElection(kv, Leader(2, "b:2"), TTL_S)
    assert new.campaign(timeout_s=2.0)
    new_meta = FencedKV(kv, new.fence, lambda: None)

    for late_write in (
        lambda: old_meta.put("catalog/a", b"stale"),
        lambda: old_meta.delete("catalog/a"),
        lambda: old_meta.txn([], [Put("catalog/b", b"stale"), Delete("catalog/a")]),
    ):
        with pytest.raises(errors.ServiceUnavailable, match="no longer the leader"):
            late_write()
    assert fenced_old.is_set()
    assert kv.get("catalog/a").value == b"1"  # type: ignore[union-attr]
    assert kv.get("catalog/b") is None

    new_meta.put("catalog/a", b"2")
    assert kv.get("catalog/a").value == b"2"  # type: ignore[union-attr]
    new.resign()


def test_a_failed_compare_of_the_caller_is_just_false(kv: EmbeddedKV) -> None:
    """Only a lost term is fencing; the caller's own compares fail as usual."""
    leader = LeaderElection(kv, Leader(1), TTL_S)
    assert leader.campaign(timeout_s=1.0)
    fenced = threading.Event()
    meta = FencedKV(kv, leader.fence, fenced.set)
    revision = meta.put("k", b"1")
    assert revision == kv.get("k").revision  # type: ignore[union-attr]
    assert not meta.txn([Compare("k", 0)], [Put("k", b"2")])
    assert meta.txn([Compare("k", revision)], [Put("k", b"2")])
    assert meta.delete("k") == 1
    assert not fenced.is_set()
    leader.resign()
