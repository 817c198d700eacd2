"""The KV contract on :class:`EmbeddedKV`, plus restarts, history limits and kill -9."""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from elanus.kv import Compare, MetaKV, Put, WatchEvent
from elanus.kv.embedded import EmbeddedKV, RevisionCompacted
from tests.contract.crash import run_and_kill
from tests.contract.kv_contract import KVContract, KVMachine, collect


@pytest.fixture
def kv(tmp_path: Path) -> Iterator[EmbeddedKV]:
    store = EmbeddedKV(tmp_path / "meta.db")
    yield store
    store.close()


class TestEmbeddedKVContract(KVContract):
    wait_s = 2.0
    lease_ttl_s = 0.5
    expiry_wait_s = 1.0


class EmbeddedKVMachine(KVMachine):
    def open_kv(self) -> MetaKV:
        if not hasattr(self, "directory"):
            self.directory = Path(tempfile.mkdtemp(prefix="elanus-kv-"))
        return EmbeddedKV(self.directory / "meta.db")

    def discard_store(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


EmbeddedKVMachine.TestCase.settings = settings(
    max_examples=30,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestEmbeddedKVMachine = EmbeddedKVMachine.TestCase


def test_revision_counts_only_effective_writes(kv: EmbeddedKV) -> None:
    assert kv.revision() == 0
    assert kv.put("a", b"1") == 1
    assert kv.delete("missing") == 0 and kv.revision() == 1
    assert not kv.txn([Compare("a", 7)], [Put("b", b"2")]) and kv.revision() == 1
    assert kv.txn([Compare("a", 1)], [Put("b", b"2"), Put("c", b"3")]) and kv.revision() == 2
    assert kv.delete("", prefix=True) == 3 and kv.revision() == 3


def test_keys_revisions_and_leases_survive_reopen(tmp_path: Path) -> None:
    path = tmp_path / "meta.db"
    kv = EmbeddedKV(path)
    kv.put("plain", b"p")
    long_lease, short_lease = kv.grant_lease(0.8), kv.grant_lease(0.2)
    kv.put("long", b"l", lease=long_lease)
    kv.put("short", b"s", lease=short_lease)
    kv.close()
    time.sleep(0.3)  # the short lease expires while no process has the store open

    kv = EmbeddedKV(path)
    try:
        assert [item.key for item in kv.get_prefix("")] == ["long", "plain"]
        events = collect(kv.watch_prefix("", start_revision=3), 1, 1.0)
        assert [(e.kind, e.key) for e in events] == [("delete", "short")]
        assert kv.revision() == 4
        assert kv.grant_lease(1.0) not in (long_lease, short_lease)
        kv.refresh_lease(long_lease)  # still alive: it kept its deadline across the restart
        assert kv.get("long") is not None
        kv.revoke_lease(long_lease)
        assert kv.get("long") is None
    finally:
        kv.close()


def test_watch_before_retained_history_is_refused(tmp_path: Path) -> None:
    kv = EmbeddedKV(tmp_path / "meta.db", history_revisions=5)
    try:
        for i in range(10):
            kv.put(f"k{i}", b"v")
        with pytest.raises(RevisionCompacted):
            kv.watch_prefix("", start_revision=4)
        events = collect(kv.watch_prefix("", start_revision=5), 5, 1.0)
        assert [e.revision for e in events] == [6, 7, 8, 9, 10]

        lagging = kv.watch_prefix("", start_revision=10)
        for i in range(6):
            kv.put(f"late{i}", b"v")
        with pytest.raises(RevisionCompacted):
            lagging.events(timeout_s=0)
    finally:
        kv.close()


def test_second_instance_on_same_file_is_seen_by_watch(tmp_path: Path) -> None:
    """Another writer wakes no condition here; the watch's poll fallback sees it."""
    watcher, writer = EmbeddedKV(tmp_path / "m.db"), EmbeddedKV(tmp_path / "m.db")
    try:
        watch = watcher.watch_prefix("x/")
        threading.Timer(0.1, writer.put, args=("x/1", b"v")).start()
        started = time.monotonic()
        assert watch.events(timeout_s=2.0) == [WatchEvent("put", "x/1", b"v", 1)]
        assert time.monotonic() - started < 1.0
        assert watcher.put("x/2", b"w") == 2
    finally:
        watcher.close()
        writer.close()


_WRITER_SCRIPT = """
import sys, time
from pathlib import Path
from elanus.kv import Compare, Put
from elanus.kv.embedded import EmbeddedKV

kv = EmbeddedKV(Path(sys.argv[1]))
first = int(sys.argv[2])
deadline = time.monotonic() + 30
for i in range(first, first + 100_000):
    if time.monotonic() > deadline:
        break
    if i % 2:
        kv.put(f"put/{i}", str(i).encode() * 100)
    else:
        assert kv.txn([Compare(f"pair/{i}/a", 0)], [
            Put(f"pair/{i}/a", str(i).encode() * 100), Put(f"pair/{i}/b", str(i).encode()),
        ])
    print(i, flush=True)
"""


@pytest.mark.fault
def test_kill_9_loses_no_acknowledged_write(tmp_path: Path) -> None:
    path = tmp_path / "meta.db"
    acknowledged: list[int] = []
    for round_number in range(3):
        lines = run_and_kill(_WRITER_SCRIPT, [str(path), str(round_number * 1_000_000)])
        acknowledged.extend(int(line) for line in lines)

        kv = EmbeddedKV(path)
        try:
            puts = {item.key: item.value for item in kv.get_prefix("put/")}
            pairs = {item.key: item for item in kv.get_prefix("pair/")}
        finally:
            kv.close()
        for i in acknowledged:
            if i % 2:
                assert puts[f"put/{i}"] == str(i).encode() * 100
            else:
                assert f"pair/{i}/a" in pairs, f"acknowledged txn {i} lost"
        halves = {key.rsplit("/", 1)[0] for key in pairs}
        for pair in halves:  # a txn is all or nothing, even when cut by the kill
            a, b = pairs.get(pair + "/a"), pairs.get(pair + "/b")
            assert a is not None and b is not None and a.revision == b.revision, pair
