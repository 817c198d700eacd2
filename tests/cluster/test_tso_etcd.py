"""The TSO never goes backwards across a kill -9 of its process, with the window in etcd.

The same check as tests/unit/coordinator/test_allocators.py, on the KV a
cluster's coordinator really uses: a child process allocates timestamps from a
TimestampOracle over EtcdKV and prints each one; it is killed with SIGKILL
mid-stream; a new oracle on the same etcd prefix (a new connection, as a
restarted coordinator would open) must hand out more than every printed value.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from coordinator.allocators import TSO_KEY, TimestampOracle
from elanus import timestamps
from elanus.kv.etcd import EtcdKV
from tests.contract.crash import run_and_kill

ETCD = os.environ.get("ELANUS_TEST_ETCD", "")
KILLS = 3

pytestmark = [
    pytest.mark.infra,
    pytest.mark.fault,
    pytest.mark.skipif(not ETCD, reason="ELANUS_TEST_ETCD unset: infra not started"),
]

# A short window: the child reserves a new one in etcd every 50 ms, so kills
# land both between and during reservations.
_ALLOCATING_CHILD = """
import sys
from coordinator.allocators import TimestampOracle
from elanus.kv.etcd import EtcdKV
tso = TimestampOracle(EtcdKV(sys.argv[1], sys.argv[2]), window_s=0.05)
for _ in range(10_000_000):
    print(tso.allocate(), flush=True)
"""


@pytest.fixture
def prefix() -> Iterator[str]:
    """A namespace of this test's own in the shared etcd; emptied afterwards."""
    namespace = f"test-tso-{uuid.uuid4().hex[:8]}/"
    yield namespace
    cleaner = EtcdKV(ETCD, namespace)
    try:
        cleaner.delete("", prefix=True)
    finally:
        cleaner.close()


def test_tso_on_etcd_after_kill_9_hands_out_more_than_every_printed_value(prefix: str) -> None:
    highest_before = 0
    for _ in range(KILLS):
        printed = [
            int(line) for line in run_and_kill(_ALLOCATING_CHILD, [ETCD, prefix], min_lines=300)
        ]
        assert printed == sorted(set(printed)), "the child's timestamps were not strictly rising"
        assert printed[0] > highest_before, "a restarted oracle started at or below the last one"
        kv = EtcdKV(ETCD, prefix)
        try:
            stored = kv.get(TSO_KEY)
            after_restart = TimestampOracle(kv).allocate()
        finally:
            kv.close()
        assert stored is not None, "the child reserved no window in etcd"
        assert after_restart > max(printed), (
            f"TSO went backwards across kill -9: {after_restart} <= {max(printed)}"
        )
        assert timestamps.physical_ms(after_restart) >= int(stored.value)
        highest_before = after_restart


def test_a_restarted_oracle_starts_above_the_window_reserved_in_etcd(prefix: str) -> None:
    """The window, not the clock, bounds a restart: reserved an hour ahead, the next
    oracle (a new etcd connection) starts an hour ahead, where the clock would not."""
    started_ms = timestamps.now_ms()
    first_kv = EtcdKV(ETCD, prefix)
    try:
        TimestampOracle(first_kv, window_s=3600).allocate()
    finally:
        first_kv.close()
    kv = EtcdKV(ETCD, prefix)
    try:
        restarted = TimestampOracle(kv).allocate()
    finally:
        kv.close()
    assert timestamps.physical_ms(restarted) >= started_ms + 3_600_000
