"""The credential store: Milvus's name and password rules, bcrypt-only storage,
root's bootstrap and protection, the version every change bumps, and a
model-based walk of random operations against an in-memory model."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from coordinator.credentials import ROOT_USER, VERSION_KEY, CredentialStore, user_key
from elanus import errors
from elanus.kv.embedded import EmbeddedKV


@pytest.fixture
def kv(tmp_path: Path) -> EmbeddedKV:
    return EmbeddedKV(tmp_path / "kv.sqlite")


@pytest.fixture
def store(kv: EmbeddedKV) -> CredentialStore:
    credentials = CredentialStore(kv)
    credentials.ensure_root("Milvus")
    return credentials


def test_root_is_created_once_and_keeps_a_changed_password(kv: EmbeddedKV) -> None:
    store = CredentialStore(kv)
    store.ensure_root("Milvus")
    assert store.verify(ROOT_USER, "Milvus")
    store.update(ROOT_USER, "changed-root")
    CredentialStore(kv).ensure_root("Milvus")  # a restart
    assert store.verify(ROOT_USER, "changed-root")
    assert not store.verify(ROOT_USER, "Milvus")


def test_only_a_bcrypt_hash_is_stored(store: CredentialStore, kv: EmbeddedKV) -> None:
    store.create("alice", "wonderland-42")
    stored = kv.get(user_key("alice"))
    assert stored is not None
    assert b"wonderland-42" not in stored.value
    credential = store.get("alice")
    assert credential is not None and credential.password_hash.startswith(b"$2")


def test_create_verify_update_delete(store: CredentialStore) -> None:
    store.create("alice", "first-pass")
    assert store.verify("alice", "first-pass")
    assert not store.verify("alice", "wrong-pass")
    store.update("alice", "second-pass")
    assert not store.verify("alice", "first-pass")
    assert store.verify("alice", "second-pass")
    assert store.list_users() == ["alice", ROOT_USER]
    store.delete("alice")
    assert not store.verify("alice", "second-pass")
    assert store.list_users() == [ROOT_USER]


def test_a_long_password_counts_in_full(store: CredentialStore) -> None:
    """bcrypt alone reads 72 bytes; Milvus accepts 256 characters."""
    password = "p" * 200 + "tail"
    store.create("bob", password)
    assert store.verify("bob", password)
    assert not store.verify("bob", "p" * 200 + "tall")


def test_every_change_bumps_the_version(store: CredentialStore) -> None:
    seen = [store.version()]
    store.create("carol", "carol-pass")
    seen.append(store.version())
    store.update("carol", "carol-pass2")
    seen.append(store.version())
    store.delete("carol")
    seen.append(store.version())
    assert seen == sorted(set(seen)) and len(seen) == 4


@pytest.mark.parametrize(
    ("username", "reason"),
    [
        ("", "username must be not empty: invalid parameter"),
        ("   ", "username must be not empty: invalid parameter"),
        ("a" * 33, "invalid username " + "a" * 33 + " with length 33, the length of username"),
        ("1abc", "invalid user name 1abc, the first character must be a letter, but got 1"),
        ("_abc", "the first character must be a letter, but got _"),
        ("ab-c", "username must contain only numbers, letters and underscores, but got -"),
    ],
)
def test_bad_usernames_are_refused_and_change_nothing(
    store: CredentialStore, kv: EmbeddedKV, username: str, reason: str
) -> None:
    before = store.version()
    with pytest.raises(errors.ParameterInvalid) as refused:
        store.create(username, "good-password")
    assert refused.value.code == 1100
    assert reason in refused.value.reason
    assert store.version() == before and store.list_users() == [ROOT_USER]


@pytest.mark.parametrize("password", ["", "12345", "x" * 257])
def test_bad_password_lengths_are_refused(store: CredentialStore, password: str) -> None:
    with pytest.raises(errors.ParameterInvalid) as refused:
        store.create("dave", password)
    assert refused.value.reason == (
        f"invalid password length: invalid parameter[lower=6][upper=256][actual={len(password)}]"
    )
    assert store.get("dave") is None


def test_duplicate_user_and_missing_user_and_root_delete_are_refused(
    store: CredentialStore,
) -> None:
    store.create("erin", "erin-pass")
    with pytest.raises(errors.OperationRefused, match="user already exists: erin"):
        store.create("erin", "other-pass")
    assert store.verify("erin", "erin-pass")
    with pytest.raises(errors.OperationRefused, match="user not found: frank"):
        store.update("frank", "frank-pass")
    with pytest.raises(errors.OperationRefused, match="root user cannot be deleted"):
        store.delete(ROOT_USER)
    assert store.verify(ROOT_USER, "Milvus")


def test_two_stores_on_one_kv_see_each_other(kv: EmbeddedKV) -> None:
    """Two coordinators (or a coordinator and a proxy reading) share the KV."""
    first, second = CredentialStore(kv), CredentialStore(kv)
    first.ensure_root("Milvus")
    second.ensure_root("other-default")
    assert second.verify(ROOT_USER, "Milvus")
    first.create("gina", "gina-pass")
    with pytest.raises(errors.OperationRefused):
        second.create("gina", "x-pass-x")
    assert kv.get(VERSION_KEY) is not None


def test_random_operations_match_a_model(store: CredentialStore) -> None:
    rng = random.Random(15)
    model: dict[str, str] = {ROOT_USER: "Milvus"}
    names = ["u1", "u2", "u3", ROOT_USER]
    for _ in range(40):
        name = rng.choice(names)
        password = f"pw-{rng.randrange(1000):03d}"
        operation = rng.choice(["create", "update", "delete"])
        try:
            getattr(store, operation)(name, *([password] if operation != "delete" else []))
        except errors.OperationRefused:
            refused = (
                (operation == "create" and name in model)
                or (operation == "update" and name not in model)
                or (operation == "delete" and name == ROOT_USER)
            )
            assert refused, (operation, name)
            continue
        if operation == "delete":
            model.pop(name, None)
        else:
            assert operation == "update" or name not in model
            model[name] = password
        assert store.list_users() == sorted(model)
    for name, password in model.items():
        assert store.verify(name, password)
        assert not store.verify(name, password + "!")
