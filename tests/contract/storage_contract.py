"""The contract every :class:`~elanus.storage.ObjectStore` keeps (local directory, MinIO/S3).

Use: subclass :class:`StorageContract` and give it a ``store`` fixture yielding
a store. Each test works under its own random key prefix, so one bucket serves
every test.
"""

from __future__ import annotations

import threading
import uuid

import pytest

from elanus.storage import ObjectStore


def fresh_prefix(label: str = "obj") -> str:
    return f"contract/{label}-{uuid.uuid4().hex[:12]}/"


class StorageContract:
    def test_put_then_get_round_trips_bytes(self, store: ObjectStore) -> None:
        prefix = fresh_prefix()
        blobs = {"empty": b"", "binary": bytes(range(256)) * 3, "large": b"\x01" * 3_000_000}
        for name, data in blobs.items():
            store.put(prefix + name, data)
        for name, data in blobs.items():
            assert store.get(prefix + name) == data
            assert store.size(prefix + name) == len(data)

    def test_put_replaces_an_existing_object(self, store: ObjectStore) -> None:
        key = fresh_prefix() + "segment/1/data"
        store.put(key, b"first version, longer")
        store.put(key, b"second")
        assert store.get(key) == b"second"
        assert store.size(key) == 6
        assert store.list(key) == [key]

    def test_missing_objects(self, store: ObjectStore) -> None:
        key = fresh_prefix() + "absent"
        assert not store.exists(key)
        with pytest.raises(KeyError):
            store.get(key)
        with pytest.raises(KeyError):
            store.size(key)
        store.delete(key)  # no error
        assert store.delete_prefix(key) == 0

    def test_exists_and_delete(self, store: ObjectStore) -> None:
        key = fresh_prefix() + "a/b/c"
        store.put(key, b"x")
        assert store.exists(key)
        store.delete(key)
        assert not store.exists(key)
        with pytest.raises(KeyError):
            store.get(key)
        store.put(key, b"again")  # the emptied path is usable again
        assert store.get(key) == b"again"

    def test_list_is_sorted_and_matches_string_prefixes(self, store: ObjectStore) -> None:
        prefix = fresh_prefix()
        keys = ["b/2", "a/10", "a/9/x", "a/1", "ab", "a-b", "c"]
        for key in keys:
            store.put(prefix + key, key.encode())
        assert store.list(prefix) == sorted(prefix + key for key in keys)
        assert store.list(prefix + "a/") == [prefix + k for k in ("a/1", "a/10", "a/9/x")]
        assert store.list(prefix + "a/1") == [prefix + "a/1", prefix + "a/10"]
        assert store.list(prefix + "a") == sorted(prefix + k for k in keys if k.startswith("a"))
        assert store.list(prefix + "zzz") == []
        assert store.list(prefix + "nothing/here/") == []

    def test_delete_prefix_removes_only_matching_keys(self, store: ObjectStore) -> None:
        prefix = fresh_prefix()
        for key in ("seg/1/a", "seg/1/b", "seg/10/a", "seg/2/a", "other"):
            store.put(prefix + key, b"x")
        assert store.delete_prefix(prefix + "seg/1/") == 2
        assert store.list(prefix) == [prefix + k for k in ("other", "seg/10/a", "seg/2/a")]
        assert store.delete_prefix(prefix + "seg/") == 2
        assert store.list(prefix) == [prefix + "other"]

    def test_readers_never_see_a_torn_object(self, store: ObjectStore) -> None:
        key = fresh_prefix() + "hot"
        versions = [bytes([v]) * 200_000 for v in range(4)]
        store.put(key, versions[0])
        torn: list[bytes] = []

        def write() -> None:
            for i in range(20):
                store.put(key, versions[i % len(versions)])

        writer = threading.Thread(target=write)
        writer.start()
        for _ in range(50):
            data = store.get(key)
            if data not in versions:
                torn.append(data[:8])
            if not writer.is_alive():
                break
        writer.join()
        assert torn == []
        assert store.get(key) in versions
