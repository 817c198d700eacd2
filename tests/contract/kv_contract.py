"""The contract every :class:`~elanus.kv.MetaKV` keeps (embedded SQLite store, etcd).

Use: subclass :class:`KVContract` and give it a ``kv`` fixture yielding an open
store; subclass :class:`KVMachine` and implement ``open_kv``/``discard_store``.
Every test works under its own random key prefix and asserts revisions only
relative to each other, so one shared etcd serves every test. Backends with a
minimum lease TTL or slower expiry raise ``lease_ttl_s`` and ``expiry_wait_s``.
"""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from elanus.kv import Compare, Delete, KeyValue, MetaKV, Put, Watch, WatchEvent
from tests.contract.closing import wait_through_close


def fresh_prefix(label: str = "kv") -> str:
    return f"contract/{label}-{uuid.uuid4().hex[:12]}/"


def collect(watch: Watch, count: int, wait_s: float) -> list[WatchEvent]:
    """Events until ``count`` arrived or ``wait_s`` passed."""
    received: list[WatchEvent] = []
    deadline = time.monotonic() + wait_s
    while len(received) < count and time.monotonic() < deadline:
        received.extend(watch.events(timeout_s=0.05))
    return received


def wait_until_absent(kv: MetaKV, key: str, wait_s: float) -> bool:
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if kv.get(key) is None:
            return True
        time.sleep(0.02)
    return kv.get(key) is None


class KVContract:
    wait_s: float = 5.0  # how long an event that happened may take to be delivered
    lease_ttl_s: float = 2.0
    expiry_wait_s: float = 5.0  # how long after its TTL an unrefreshed lease may survive

    # -- get / put / delete --------------------------------------------------

    def test_get_of_missing_key_is_none(self, kv: MetaKV) -> None:
        assert kv.get(fresh_prefix() + "nothing") is None

    def test_put_then_get_returns_value_and_revision(self, kv: MetaKV) -> None:
        key = fresh_prefix() + "k"
        revision = kv.put(key, b"v1")
        assert kv.get(key) == KeyValue(key, b"v1", revision)
        newer = kv.put(key, b"\x00v2")
        assert newer > revision
        assert kv.get(key) == KeyValue(key, b"\x00v2", newer)

    def test_revisions_increase_across_keys(self, kv: MetaKV) -> None:
        prefix = fresh_prefix()
        revisions = [kv.put(f"{prefix}{i}", b"x") for i in range(5)]
        assert revisions == sorted(set(revisions))
        assert [item.revision for item in kv.get_prefix(prefix)] == revisions

    def test_delete_returns_count(self, kv: MetaKV) -> None:
        key = fresh_prefix() + "k"
        kv.put(key, b"v")
        assert kv.delete(key) == 1
        assert kv.get(key) is None
        assert kv.delete(key) == 0

    def test_delete_prefix_removes_only_that_prefix(self, kv: MetaKV) -> None:
        prefix = fresh_prefix()
        for key in ("a/1", "a/2", "a/2/x", "ab", "b"):
            kv.put(prefix + key, b"v")
        assert kv.delete(prefix + "a/", prefix=True) == 3
        assert [item.key for item in kv.get_prefix(prefix)] == [prefix + "ab", prefix + "b"]

    def test_get_prefix_is_sorted_and_exact(self, kv: MetaKV) -> None:
        prefix = fresh_prefix()
        for key in ("z", "a", "m/2", "m/10", "m", "é"):
            kv.put(prefix + key, key.encode())
        kv.put(prefix[:-1] + "x", b"outside")  # shares all but the last character
        keys = [item.key[len(prefix) :] for item in kv.get_prefix(prefix)]
        assert keys == ["a", "m", "m/10", "m/2", "z", "é"]
        assert [item.key for item in kv.get_prefix(prefix + "m/")] == [
            prefix + "m/10",
            prefix + "m/2",
        ]
        assert kv.get_prefix(prefix + "none/") == []

    # -- transactions --------------------------------------------------------

    def test_txn_with_absent_compare_creates_once(self, kv: MetaKV) -> None:
        prefix = fresh_prefix()
        first = kv.txn([Compare(prefix + "lock", 0)], [Put(prefix + "lock", b"me")])
        second = kv.txn([Compare(prefix + "lock", 0)], [Put(prefix + "lock", b"you")])
        assert (first, second) == (True, False)
        assert (found := kv.get(prefix + "lock")) is not None and found.value == b"me"

    def test_txn_compare_and_swap_on_revision(self, kv: MetaKV) -> None:
        key = fresh_prefix() + "counter"
        revision = kv.put(key, b"1")
        assert kv.txn([Compare(key, revision)], [Put(key, b"2")])
        assert not kv.txn([Compare(key, revision)], [Put(key, b"3")])
        current = kv.get(key)
        assert current is not None and current.value == b"2" and current.revision > revision

    def test_failed_txn_changes_nothing(self, kv: MetaKV) -> None:
        prefix = fresh_prefix()
        revision = kv.put(prefix + "a", b"a")
        watch = kv.watch_prefix(prefix)
        try:
            applied = kv.txn(
                [Compare(prefix + "a", revision), Compare(prefix + "b", 12345)],
                [Put(prefix + "a", b"changed"), Delete(prefix + "a"), Put(prefix + "c", b"c")],
            )
            assert not applied
            assert kv.get_prefix(prefix) == [KeyValue(prefix + "a", b"a", revision)]
            assert watch.events(timeout_s=0.2) == []
        finally:
            watch.cancel()

    def test_txn_applies_all_operations_at_one_revision(self, kv: MetaKV) -> None:
        prefix = fresh_prefix()
        kv.put(prefix + "old/1", b"x")
        kv.put(prefix + "old/2", b"x")
        before = kv.put(prefix + "gone", b"x")
        assert kv.txn(
            [Compare(prefix + "new", 0)],
            [
                Put(prefix + "new", b"n"),
                Delete(prefix + "gone"),
                Delete(prefix + "old/", prefix=True),
                Put(prefix + "other", b"o"),
            ],
        )
        items = kv.get_prefix(prefix)
        assert [(item.key, item.value) for item in items] == [
            (prefix + "new", b"n"),
            (prefix + "other", b"o"),
        ]
        assert items[0].revision == items[1].revision > before

    def test_txn_without_compares_always_applies(self, kv: MetaKV) -> None:
        key = fresh_prefix() + "k"
        assert kv.txn([], [Put(key, b"v")])
        assert (found := kv.get(key)) is not None and found.value == b"v"

    # -- watches -------------------------------------------------------------

    def test_watch_from_now_sees_only_new_events(self, kv: MetaKV) -> None:
        prefix = fresh_prefix()
        kv.put(prefix + "before", b"b")
        watch = kv.watch_prefix(prefix)
        try:
            revision = kv.put(prefix + "after", b"a")
            events = collect(watch, 1, self.wait_s)
            assert events == [WatchEvent("put", prefix + "after", b"a", revision)]
            assert watch.events(timeout_s=0.1) == []
        finally:
            watch.cancel()

    def test_watch_from_revision_replays_later_history(self, kv: MetaKV) -> None:
        prefix = fresh_prefix()
        first = kv.put(prefix + "a", b"1")
        second = kv.put(prefix + "b", b"2")
        kv.put(fresh_prefix() + "elsewhere", b"x")
        third = kv.put(prefix + "a", b"3")
        deleted = kv.delete(prefix + "b")
        watch = kv.watch_prefix(prefix, start_revision=first)  # strictly after ``first``
        try:
            events = collect(watch, 3, self.wait_s)
            assert [(e.kind, e.key, e.value) for e in events] == [
                ("put", prefix + "b", b"2"),
                ("put", prefix + "a", b"3"),
                ("delete", prefix + "b", b""),
            ]
            assert deleted == 1
            assert events[0].revision == second and events[1].revision == third
            assert events[2].revision > third
            live = kv.put(prefix + "c", b"4")
            assert collect(watch, 1, self.wait_s) == [WatchEvent("put", prefix + "c", b"4", live)]
        finally:
            watch.cancel()

    def test_watch_delivers_live_events_from_another_thread(self, kv: MetaKV) -> None:
        prefix = fresh_prefix()
        watch = kv.watch_prefix(prefix)

        def write() -> None:
            for i in range(20):
                kv.put(f"{prefix}{i:02}", str(i).encode())
            kv.delete(prefix, prefix=True)

        writer = threading.Thread(target=write)
        writer.start()
        try:
            events = collect(watch, 40, self.wait_s)
        finally:
            writer.join()
            watch.cancel()
        puts = [e for e in events if e.kind == "put"]
        deletes = [e for e in events if e.kind == "delete"]
        assert [e.value for e in puts] == [str(i).encode() for i in range(20)]
        assert sorted(e.key for e in deletes) == [f"{prefix}{i:02}" for i in range(20)]
        assert {e.value for e in deletes} == {b""}
        revisions = [e.revision for e in events]
        assert revisions == sorted(revisions)

    def test_watch_ignores_other_prefixes(self, kv: MetaKV) -> None:
        prefix = fresh_prefix()
        watch = kv.watch_prefix(prefix + "in/")
        try:
            kv.put(prefix + "out", b"x")
            kv.put(prefix + "in", b"x")
            revision = kv.put(prefix + "in/k", b"y")
            assert collect(watch, 2, 0.5) == [WatchEvent("put", prefix + "in/k", b"y", revision)]
        finally:
            watch.cancel()

    def test_watch_events_timeout_is_bounded(self, kv: MetaKV) -> None:
        watch = kv.watch_prefix(fresh_prefix())
        try:
            started = time.monotonic()
            assert watch.events(timeout_s=0.2) == []
            assert 0.15 <= time.monotonic() - started < 1.0
        finally:
            watch.cancel()

    # -- leases --------------------------------------------------------------

    def test_lease_expiry_deletes_its_keys(self, kv: MetaKV) -> None:
        prefix = fresh_prefix()
        lease = kv.grant_lease(self.lease_ttl_s)
        kv.put(prefix + "session", b"alive", lease=lease)
        kv.put(prefix + "durable", b"stays")
        watch = kv.watch_prefix(prefix + "session")
        try:
            assert kv.get(prefix + "session") is not None
            assert wait_until_absent(kv, prefix + "session", self.lease_ttl_s + self.expiry_wait_s)
            events = collect(watch, 1, self.wait_s)
            assert [(e.kind, e.key) for e in events] == [("delete", prefix + "session")]
        finally:
            watch.cancel()
        assert (found := kv.get(prefix + "durable")) is not None and found.value == b"stays"
        with pytest.raises(LookupError):
            kv.refresh_lease(lease)
        kv.revoke_lease(lease)  # already gone: no error

    def test_revoke_deletes_keys_at_once(self, kv: MetaKV) -> None:
        prefix = fresh_prefix()
        lease = kv.grant_lease(60)
        kv.put(prefix + "a", b"1", lease=lease)
        kv.txn([], [Put(prefix + "b", b"2", lease=lease)])
        watch = kv.watch_prefix(prefix)
        try:
            kv.revoke_lease(lease)
            assert kv.get_prefix(prefix) == []
            events = collect(watch, 2, self.wait_s)
            assert sorted((e.kind, e.key) for e in events) == [
                ("delete", prefix + "a"),
                ("delete", prefix + "b"),
            ]
        finally:
            watch.cancel()
        with pytest.raises(LookupError):
            kv.put(prefix + "c", b"3", lease=lease)
        assert kv.get(prefix + "c") is None

    def test_refresh_keeps_a_lease_alive(self, kv: MetaKV) -> None:
        key = fresh_prefix() + "heartbeat"
        lease = kv.grant_lease(self.lease_ttl_s)
        kv.put(key, b"alive", lease=lease)
        deadline = time.monotonic() + self.lease_ttl_s * 2
        while time.monotonic() < deadline:
            kv.refresh_lease(lease)
            assert kv.get(key) is not None
            time.sleep(self.lease_ttl_s / 4)
        kv.revoke_lease(lease)
        assert kv.get(key) is None

    def test_close_wakes_a_waiting_watch(self, kv: MetaKV) -> None:
        watch = kv.watch_prefix(fresh_prefix("close"))
        failures = wait_through_close(lambda: watch.events(timeout_s=10), kv.close)
        assert len(failures) == 1
        with pytest.raises(RuntimeError):
            kv.get("a")


class KVMachine(RuleBasedStateMachine):
    """Random put / delete / txn / reopen sequences against a dict model.

    Subclasses implement ``open_kv`` (a new client of the same store each call)
    and ``discard_store``; ``TestX = MySubclass.TestCase`` runs it.
    """

    def __init__(self) -> None:
        super().__init__()
        self.prefix = fresh_prefix("machine")
        self.model: dict[str, tuple[bytes, int]] = {}  # key -> (value, mod revision)
        self.last_revision = 0
        self.kv = self.open_kv()

    def open_kv(self) -> MetaKV:
        raise NotImplementedError

    def discard_store(self) -> None:
        raise NotImplementedError

    keys = st.sampled_from(["a", "a/b", "a/c", "b", "ba"])
    guard_kinds = st.sampled_from(["current", "absent", "stale"])

    @rule(key=keys, value=st.binary(max_size=8))
    def put(self, key: str, value: bytes) -> None:
        revision = self.kv.put(self.prefix + key, value)
        assert revision > self.last_revision
        self.last_revision = revision
        self.model[key] = (value, revision)

    @rule(key=keys, prefix=st.booleans())
    def delete(self, key: str, prefix: bool) -> None:
        doomed = [k for k in self.model if k.startswith(key)] if prefix else [key]
        doomed = [k for k in doomed if k in self.model]
        assert self.kv.delete(self.prefix + key, prefix=prefix) == len(doomed)
        for k in doomed:
            del self.model[k]

    @rule(
        guards=st.lists(st.tuples(keys, guard_kinds), max_size=2),
        writes=st.lists(st.tuples(keys, st.binary(max_size=4) | st.none()), max_size=3),
    )
    def txn(self, guards: list[tuple[str, str]], writes: list[tuple[str, bytes | None]]) -> None:
        compares, holds = [], True
        for key, kind in guards:
            current = self.model.get(key, (b"", 0))[1]
            expected = {"current": current, "absent": 0, "stale": current + 1_000_000}[kind]
            compares.append(Compare(self.prefix + key, expected))
            holds = holds and expected == current
        operations = [
            Delete(self.prefix + k) if v is None else Put(self.prefix + k, v) for k, v in writes
        ]
        assert self.kv.txn(compares, operations) == holds
        if not holds:
            return
        final = dict(writes)  # the last operation on a key within the txn wins
        put_revisions = set()
        for key, value in final.items():
            if value is None:
                self.model.pop(key, None)
                continue
            stored = self.kv.get(self.prefix + key)
            assert stored is not None and stored.value == value
            put_revisions.add(stored.revision)
            self.model[key] = (value, stored.revision)
        if put_revisions:
            assert len(put_revisions) == 1 and min(put_revisions) > self.last_revision
            self.last_revision = min(put_revisions)

    @rule()
    def reopen(self) -> None:
        self.kv.close()
        self.kv = self.open_kv()

    @invariant()
    def store_matches_model(self) -> None:
        expected = [KeyValue(self.prefix + k, v, r) for k, (v, r) in sorted(self.model.items())]
        assert self.kv.get_prefix(self.prefix) == expected

    def teardown(self) -> None:
        self.kv.close()
        self.discard_store()
