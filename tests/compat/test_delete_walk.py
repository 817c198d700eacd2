"""Deletes are exact (issue 12), on `elanus standalone` with the real pymilvus.

The reproduction from the issue, and a seeded model-based walk of inserts,
upserts, deletes by ids and by filter (scoped to a partition or not), flush,
compaction, release + load and kill -9 + restart; see delete_walk.py.

Replay one walk: ``ELANUS_DELETE_WALK_SEEDS=7 ELANUS_DELETE_WALK_STEPS=200``
(the seed and step count a failure names). ``ELANUS_DELETE_WALK_WITHOUT`` (a
comma-separated subset of scoped, shared, compaction, release_load, faults)
leaves kinds of step out, to narrow a failure down.

With ELANUS_COMPAT_TARGET=cluster the reproductions run on the suite's
cluster without their kill step (it has no process this test may kill), and
the walk is skipped there: tests/faults/test_delete_walk.py runs it on a
cluster with datanode and querynode kills.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import pymilvus
import pytest
from pymilvus import MilvusClient

from .delete_walk import (
    RPC_TIMEOUT_S,
    Mix,
    Walk,
    check_script_counts,
    random_steps,
    reproduction,
)
from .helpers import TARGET, unique_name
from .server import ElanusServer

pytestmark = [pytest.mark.needs_partitions, pytest.mark.fault, pytest.mark.slow]

CLIENT = f"pymilvus {pymilvus.__version__}"
LATEST_CLIENT = int(pymilvus.__version__.split(".")[0]) >= 3
# Three walks with the latest client, one with 2.5 (each about a minute).
SEEDS = [
    int(seed)
    for seed in os.environ.get("ELANUS_DELETE_WALK_SEEDS", "1,2,3" if LATEST_CLIENT else "4")
    .replace(",", " ")
    .split()
]
STEPS = int(os.environ.get("ELANUS_DELETE_WALK_STEPS", "200"))
WITHOUT = set(os.environ.get("ELANUS_DELETE_WALK_WITHOUT", "").replace(",", " ").split())
KILLS_PER_WALK = 2


@dataclass
class Target:
    uri: str
    faults: tuple[str, ...]  # what this target can inject: ("server",) or nothing
    inject: Callable[[str], None]


def _restart(server: ElanusServer) -> Callable[[str], None]:
    def inject(kind: str) -> None:
        assert kind == "server", kind
        server.kill()
        server.start()

    return inject


def _refuse(kind: str) -> None:
    raise AssertionError(f"no {kind} to kill on this target")


@pytest.fixture
def target(request: pytest.FixtureRequest) -> Target:
    """A server of the test's own that it may kill; on the cluster target, the
    suite's shared cluster, without kills."""
    if TARGET == "cluster":
        return Target(request.getfixturevalue("server_uri"), (), _refuse)
    server = request.getfixturevalue("own_server")
    return Target(server.uri, ("server",), _restart(server))


def _walk(target: Target, label: str, partitions: tuple[str, ...]) -> Walk:
    return Walk(
        lambda: MilvusClient(uri=target.uri, timeout=RPC_TIMEOUT_S),
        target.inject,
        label,
        unique_name("delwalk"),
        partitions=partitions,
    )


@pytest.mark.parametrize("script", ["repro", "repro_other_partition"])
def test_a_partition_scoped_delete_keeps_the_other_partition(target: Target, script: str) -> None:
    """Ids 0..9 in A and in B (or 10..19 in B), delete ids in A: count(*) per
    partition stays (7, 10) (or (10, 10)) growing, after flush, compaction,
    release + load and kill -9 + restart; every row is checked, not only counted."""
    walk = _walk(target, f"{script} ({CLIENT})", ("A", "B"))
    try:
        walk.create()
        steps = reproduction(target.faults, other_partition=script == "repro_other_partition")
        assert walk.run(steps) == len(steps)
        check_script_counts(walk, script)
        walk.client.drop_collection(walk.collection)
    finally:
        walk.client.close()


@pytest.mark.parametrize("seed", SEEDS)
def test_random_walk_matches_the_model(own_server: ElanusServer, seed: int) -> None:
    mix = Mix(
        scoped_deletes="scoped" not in WITHOUT,
        shared_keys="shared" not in WITHOUT,
        compaction="compaction" not in WITHOUT,
        release_load="release_load" not in WITHOUT,
        faults=() if "faults" in WITHOUT else ("server",) * KILLS_PER_WALK,
    )
    replay = f"ELANUS_DELETE_WALK_SEEDS={seed} ELANUS_DELETE_WALK_STEPS={STEPS}"
    if WITHOUT:
        replay += f" ELANUS_DELETE_WALK_WITHOUT={','.join(sorted(WITHOUT))}"
    walk = _walk(
        Target(own_server.uri, ("server",), _restart(own_server)),
        f"walk seed={seed} steps={STEPS} ({CLIENT}; replay: {replay})",
        ("_default", "pa", "pb"),
    )
    try:
        walk.create()
        assert walk.run(random_steps(seed, STEPS, walk.model, mix)) == STEPS
        walk.client.drop_collection(walk.collection)
    finally:
        walk.client.close()
