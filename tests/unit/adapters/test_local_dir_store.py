"""The storage contract on :class:`LocalDirStore`, plus what only a directory shows."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from elanus.storage import TEMP_PREFIX
from elanus.storage.local_dir import LocalDirStore
from tests.contract.storage_contract import StorageContract


@pytest.fixture
def store(tmp_path: Path) -> LocalDirStore:
    return LocalDirStore(tmp_path / "objects")


class TestLocalDirStoreContract(StorageContract):
    pass


@pytest.mark.parametrize(
    "key", ["", "/abs", "a/../b", "..", "a//b", "a/", "./a", "a/./b", "a\0b", f"a/{TEMP_PREFIX}1"]
)
def test_invalid_keys_are_rejected(store: LocalDirStore, key: str) -> None:
    with pytest.raises(ValueError):
        store.put(key, b"x")
    with pytest.raises(ValueError):
        store.get(key)


def test_invalid_prefixes_are_rejected(store: LocalDirStore) -> None:
    for prefix in ("/", "../", "a/../"):
        with pytest.raises(ValueError):
            store.list(prefix)
    assert store.list("") == []


def test_keys_are_files_under_root_and_survive_a_new_instance(tmp_path: Path) -> None:
    LocalDirStore(tmp_path).put("seg/7/vector.bin", b"data")
    assert (tmp_path / "seg" / "7" / "vector.bin").read_bytes() == b"data"
    reopened = LocalDirStore(tmp_path)
    assert reopened.get("seg/7/vector.bin") == b"data"
    assert reopened.list("") == ["seg/7/vector.bin"]


def test_put_leaves_no_temporary_files(store: LocalDirStore) -> None:
    for i in range(5):
        store.put("a/b", str(i).encode())
    assert os.listdir(store.root / "a") == ["b"]


def test_leftover_temporary_file_is_invisible(store: LocalDirStore) -> None:
    """A put killed before its rename leaves a temp file; it must not look like an object."""
    store.put("a/real", b"x")
    (store.root / "a" / f"{TEMP_PREFIX}deadbeef").write_bytes(b"half")
    assert store.list("") == ["a/real"]
    assert store.delete_prefix("a/") == 1


def test_delete_prunes_emptied_directories(store: LocalDirStore) -> None:
    store.put("x/y/z/1", b"1")
    store.put("x/keep", b"k")
    store.delete("x/y/z/1")
    assert sorted(os.listdir(store.root / "x")) == ["keep"]
    store.delete_prefix("x/")
    assert os.listdir(store.root) == []
    assert store.root.is_dir()


def test_a_key_cannot_also_be_a_directory(store: LocalDirStore) -> None:
    store.put("a/b", b"x")
    with pytest.raises(KeyError):
        store.get("a")
    assert not store.exists("a")
    with pytest.raises(OSError):
        store.put("a/b/c", b"y")
    assert store.get("a/b") == b"x"
