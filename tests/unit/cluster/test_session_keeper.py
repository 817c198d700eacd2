"""A session rides out an etcd it cannot reach, and ends only when its lease is gone.

An etcd restart keeps its leases, so a role that could not refresh for a while
must carry on afterwards (it used to exit after one TTL, taking the whole
cluster down with a restart of etcd). While unreachable for longer than a TTL
it is not ``alive``, which is what fences a proxy's writes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from elanus.cluster.sessions import Session, SessionKeeper
from elanus.kv.embedded import EmbeddedKV

TTL_S = 0.6


class FlakyKV:
    """The embedded KV, with lease refreshes failing while ``down`` is set."""

    def __init__(self, kv: EmbeddedKV) -> None:
        self.kv = kv
        self.down = threading.Event()

    def refresh_lease(self, lease: int) -> None:
        if self.down.is_set():
            raise ConnectionError("etcd unreachable (test)")
        self.kv.refresh_lease(lease)

    def __getattr__(self, name: str) -> object:
        return getattr(self.kv, name)


@pytest.fixture
def kv(tmp_path: Path) -> Iterator[EmbeddedKV]:
    store = EmbeddedKV(tmp_path / "kv.sqlite", poll_interval_s=0.02, expiry_interval_s=0.02)
    yield store
    store.close()


def wait_for(condition: object, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.02)
    return False


def test_an_outage_longer_than_the_ttl_is_ridden_out(kv: EmbeddedKV) -> None:
    flaky = FlakyKV(kv)
    lost = threading.Event()
    keeper = SessionKeeper(flaky, Session("proxy", 7, "127.0.0.1:1"), TTL_S, lost.set)  # type: ignore[arg-type]
    keeper.start()
    try:
        assert keeper.alive
        # The embedded KV's own clock would expire the lease; a restarted etcd renews
        # leases instead, which a renewer beside the keeper stands in for.
        lease = keeper._lease
        assert lease is not None
        renewing = threading.Event()

        def renew() -> None:
            while not renewing.wait(0.05):
                kv.refresh_lease(lease)

        renewer = threading.Thread(target=renew, daemon=True)
        renewer.start()
        flaky.down.set()
        try:
            assert wait_for(lambda: not keeper.alive, TTL_S * 3), "stale session still alive"
            time.sleep(TTL_S * 2)
            assert not lost.is_set() and not keeper.alive
            flaky.down.clear()
            assert wait_for(lambda: keeper.alive, TTL_S * 3), "the session did not come back"
        finally:
            renewing.set()
            renewer.join(1.0)
        assert not lost.is_set()
        assert kv.get(keeper.session.key) is not None
    finally:
        keeper.stop()


def test_a_lease_gone_ends_the_session(kv: EmbeddedKV) -> None:
    lost = threading.Event()
    keeper = SessionKeeper(kv, Session("datanode", 3, "127.0.0.1:2"), TTL_S, lost.set)
    keeper.start()
    try:
        assert keeper._lease is not None
        kv.revoke_lease(keeper._lease)
        assert lost.wait(TTL_S * 3)
        assert not keeper.alive
    finally:
        keeper.stop()


def test_an_outage_past_the_limit_ends_the_session(kv: EmbeddedKV) -> None:
    flaky = FlakyKV(kv)
    lost = threading.Event()
    keeper = SessionKeeper(
        flaky,  # type: ignore[arg-type]
        Session("querynode", 4, "127.0.0.1:3"),
        TTL_S,
        lost.set,
        max_unreachable_s=TTL_S * 2,
    )
    keeper.start()
    try:
        flaky.down.set()
        assert lost.wait(TTL_S * 5)
        assert not keeper.alive
    finally:
        keeper.stop()
