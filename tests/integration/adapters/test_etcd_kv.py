"""The KV contract on :class:`EtcdKV` against the real etcd from ``deploy/local``.

Each test gets its own namespace on the shared server and deletes it afterwards.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from elanus.kv import Delete, KeyValue, MetaKV, Put, WatchEvent
from elanus.kv.etcd import EtcdKV, RevisionCompacted
from tests.contract.kv_contract import KVContract, KVMachine, collect

ETCD = os.environ.get("ELANUS_TEST_ETCD", "")
INFRA_SCRIPT = Path(__file__).resolve().parents[3] / "deploy" / "local" / "infra.sh"

pytestmark = [
    pytest.mark.infra,
    pytest.mark.skipif(not ETCD, reason="infra not started (run via tests/run)"),
]


def fresh_namespace() -> str:
    return f"elanus-test/{uuid.uuid4().hex[:12]}/"


@pytest.fixture
def kv() -> Iterator[EtcdKV]:
    store = EtcdKV(ETCD, prefix=fresh_namespace())
    yield store
    if not store._closed:
        store.delete("", prefix=True)
        store.close()


class TestEtcdKVContract(KVContract):
    wait_s = 5.0
    lease_ttl_s = 2.0  # etcd's minimum TTL with the default election timeout
    expiry_wait_s = 5.0  # the leader checks expiry every 500 ms


class EtcdKVMachine(KVMachine):
    def open_kv(self) -> MetaKV:
        if not hasattr(self, "namespace"):
            self.namespace = fresh_namespace()
        return EtcdKV(ETCD, prefix=self.namespace)

    def discard_store(self) -> None:
        cleaner = EtcdKV(ETCD, prefix=self.namespace)
        try:
            cleaner.delete("", prefix=True)
        finally:
            cleaner.close()


EtcdKVMachine.TestCase.settings = settings(
    max_examples=15,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestEtcdKVMachine = EtcdKVMachine.TestCase


def test_writes_survive_a_new_client(kv: EtcdKV) -> None:
    revision = kv.put("durable", b"v")
    kv.close()
    reopened = EtcdKV(ETCD, prefix=kv.namespace.decode())
    try:
        assert reopened.get("durable") == KeyValue("durable", b"v", revision)
        reopened.delete("", prefix=True)
    finally:
        reopened.close()


def test_namespaces_do_not_see_each_other(kv: EtcdKV) -> None:
    other = EtcdKV(ETCD, prefix=fresh_namespace())
    try:
        watch = other.watch_prefix("")
        kv.put("shared-name", b"mine")
        assert other.get("shared-name") is None
        assert other.get_prefix("") == []
        assert other.delete("", prefix=True) == 0
        assert watch.events(timeout_s=0.3) == []
        assert (found := kv.get("shared-name")) is not None and found.value == b"mine"
    finally:
        other.close()


def test_txn_touching_one_key_twice_applies_the_net_effect(kv: EtcdKV) -> None:
    """etcd refuses duplicate keys in a txn; the adapter must reduce them, in order."""
    for key in ("d/1", "d/2", "d/3", "e"):
        kv.put(key, b"old")
    assert kv.txn(
        [],
        [
            Delete("d/", prefix=True),
            Put("d/2", b"back"),  # a put after a prefix delete survives it
            Put("e", b"first"),
            Delete("e"),  # the last operation on a key wins
            Put("f", b"1"),
            Put("f", b"2"),
        ],
    )
    assert [(item.key, item.value) for item in kv.get_prefix("")] == [("d/2", b"back"), ("f", b"2")]
    revisions = {item.revision for item in kv.get_prefix("")}
    assert len(revisions) == 1


def test_watch_on_compacted_history_is_refused(kv: EtcdKV) -> None:
    first = kv.put("k", b"1")
    latest = kv.put("k", b"2")
    kv._client.compact(latest)
    with pytest.raises(RevisionCompacted):
        kv.watch_prefix("", start_revision=first - 1)
    watch = kv.watch_prefix("", start_revision=latest)  # nothing older needed: fine
    try:
        live = kv.put("k", b"3")
        assert collect(watch, 1, 5.0) == [WatchEvent("put", "k", b"3", live)]
    finally:
        watch.cancel()


def test_short_lease_is_rounded_up_not_refused(kv: EtcdKV) -> None:
    lease = kv.grant_lease(0.3)
    kv.put("session", b"alive", lease=lease)
    kv.refresh_lease(lease)
    assert kv.get("session") is not None
    kv.revoke_lease(lease)
    assert kv.get("session") is None
    with pytest.raises(LookupError):
        kv.refresh_lease(lease)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.fault
def test_client_and_watch_recover_when_etcd_restarts(tmp_path: Path) -> None:
    """A private etcd (same install as the shared one) is stopped and started again."""
    port = free_port()
    env = dict(
        os.environ, ELANUS_INFRA_ETCD_PORT=str(port), ELANUS_INFRA_ETCD_PEER_PORT=str(free_port())
    )

    def infra(command: str) -> None:
        subprocess.run(
            [str(INFRA_SCRIPT), command, "etcd", "--dir", str(tmp_path)],
            env=env,
            check=True,
            capture_output=True,
            timeout=120,
        )

    infra("up")
    try:
        kv = EtcdKV(f"127.0.0.1:{port}")
        watch = kv.watch_prefix("")
        before = kv.put("before", b"1")
        assert collect(watch, 1, 5.0) == [WatchEvent("put", "before", b"1", before)]
        infra("down")
        with pytest.raises(ConnectionError):
            kv.put("during", b"x")
        infra("up")
        deadline, after = time.monotonic() + 10, None
        while after is None and time.monotonic() < deadline:
            try:
                after = kv.put("after", b"2")
            except ConnectionError:
                time.sleep(0.05)
        assert after is not None, "the client did not reconnect within 10 s"
        assert collect(watch, 1, 10.0) == [WatchEvent("put", "after", b"2", after)]
        kv.close()
    finally:
        infra("down")
