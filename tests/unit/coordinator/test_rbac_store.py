"""The RBAC store: each change is atomic with the access version, a refused one
writes nothing, and a random walk of changes matches an in-memory model, also
after the KV is reopened."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pytest

from coordinator.credentials import VERSION_KEY
from coordinator.rbac import RbacStore
from elanus import errors
from elanus.access.grants import Grant
from elanus.access.rbac import RbacState
from elanus.kv.embedded import EmbeddedKV


def version(kv: EmbeddedKV) -> int:
    stored = kv.get(VERSION_KEY)
    return 0 if stored is None else int(stored.value)


def test_a_change_bumps_the_version_and_a_refusal_writes_nothing(tmp_path: Path) -> None:
    kv = EmbeddedKV(tmp_path / "kv.sqlite")
    store = RbacStore(kv)
    store.change("create role r", lambda s: s.create_role("r"))
    assert version(kv) == 1
    with pytest.raises(errors.OperationRefused):
        store.change("create role r", lambda s: s.create_role("r"))
    assert version(kv) == 1
    assert set(store.state().roles) == {"admin", "public", "r"}


ROLES = ["r1", "r2", "r3"]
USERS = ["alice", "bob"]
COLLECTIONS = ["books", "*"]
PRIVILEGES = ["Search", "Insert", "Load", "CollectionReadOnly", "DatabaseAdmin", "g1", "*"]


def random_change(rng: random.Random) -> tuple[str, Callable[[RbacState], None]]:
    role, user = rng.choice(ROLES), rng.choice(USERS)
    grant = Grant(role, "", rng.choice(COLLECTIONS), "default", rng.choice(PRIVILEGES), "root")
    add, force = rng.random() < 0.6, rng.random() < 0.5
    choices: list[tuple[str, Callable[[RbacState], None]]] = [
        ("create role", lambda s: s.create_role(role)),
        ("drop role", lambda s: s.drop_role(role, force=force)),
        ("bind", lambda s: s.bind(user, role, add, user_exists=True)),
        ("grant v2", lambda s: s.grant_v2(grant, add)),
        ("create group", lambda s: s.create_group("g1")),
        ("drop group", lambda s: s.drop_group("g1")),
        ("operate group", lambda s: s.operate_group("g1", ["Query", "Search"], add)),
        ("forget user", lambda s: s.forget_user(user)),
    ]
    return rng.choice(choices)


@pytest.mark.parametrize("seed", range(5))
def test_a_random_walk_matches_the_model(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    kv = EmbeddedKV(tmp_path / "kv.sqlite")
    store = RbacStore(kv)
    model = RbacState()
    refused = 0
    for _ in range(200):
        what, mutate = random_change(rng)
        expected = model.copy()
        try:
            mutate(expected)
        except errors.ElanusError as refusal:
            before = version(kv)
            with pytest.raises(type(refusal)):
                store.change(what, mutate)
            assert version(kv) == before
            refused += 1
        else:
            store.change(what, mutate)
            model = expected
        assert store.state() == model
    assert 0 < refused < 200  # the walk took both paths
    kv.close()
    assert RbacStore(EmbeddedKV(tmp_path / "kv.sqlite")).state() == model
