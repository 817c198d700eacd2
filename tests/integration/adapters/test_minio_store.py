"""The storage contract on :class:`MinioStore` against the real MinIO from ``deploy/local``.

Every test works in one shared bucket under its own prefix and removes it afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from elanus.storage import TEMP_PREFIX
from elanus.storage.minio import MinioStore
from tests.contract.storage_contract import StorageContract

MINIO = os.environ.get("ELANUS_TEST_MINIO", "")
ACCESS_KEY = os.environ.get("ELANUS_TEST_MINIO_ACCESS_KEY", "")
SECRET_KEY = os.environ.get("ELANUS_TEST_MINIO_SECRET_KEY", "")
BUCKET = "elanus-adapter-tests"

pytestmark = [
    pytest.mark.infra,
    pytest.mark.skipif(not MINIO, reason="infra not started (run via tests/run)"),
]


def open_store(prefix: str, bucket: str = BUCKET) -> MinioStore:
    return MinioStore(MINIO, ACCESS_KEY, SECRET_KEY, bucket, prefix=prefix)


@pytest.fixture
def store() -> Iterator[MinioStore]:
    minio = open_store(f"test-{uuid.uuid4().hex[:12]}")
    yield minio
    minio.delete_prefix("")
    minio.close()


class TestMinioStoreContract(StorageContract):
    pass


@pytest.mark.parametrize(
    "key", ["", "/abs", "a/../b", "..", "a//b", "a/", "./a", "a/./b", "a\0b", f"a/{TEMP_PREFIX}1"]
)
def test_invalid_keys_are_rejected_like_the_local_store(store: MinioStore, key: str) -> None:
    with pytest.raises(ValueError):
        store.put(key, b"x")
    with pytest.raises(ValueError):
        store.get(key)


def test_invalid_prefixes_are_rejected(store: MinioStore) -> None:
    for prefix in ("/", "../", "a/../"):
        with pytest.raises(ValueError):
            store.list(prefix)
    assert store.list("") == []


def test_objects_survive_a_new_client(store: MinioStore) -> None:
    store.put("seg/7/vector.bin", b"data")
    store.close()
    reopened = open_store(store.prefix)
    try:
        assert reopened.get("seg/7/vector.bin") == b"data"
        assert reopened.list("") == ["seg/7/vector.bin"]
    finally:
        reopened.close()


def test_prefixes_do_not_see_each_other(store: MinioStore) -> None:
    neighbour = open_store(store.prefix.rstrip("/") + "x/")
    try:
        store.put("k", b"mine")
        neighbour.put("k", b"theirs")
        assert store.list("") == ["k"] and store.get("k") == b"mine"
        assert store.delete_prefix("") == 1
        assert neighbour.get("k") == b"theirs"
    finally:
        neighbour.delete_prefix("")
        neighbour.close()


def test_a_missing_bucket_is_created() -> None:
    bucket = f"elanus-test-{uuid.uuid4().hex[:12]}"
    minio = open_store("", bucket=bucket)
    try:
        minio.put("a", b"1")
        again = open_store("", bucket=bucket)  # the bucket exists now: no error
        assert again.get("a") == b"1"
        again.close()
    finally:
        minio.delete_prefix("")
        minio._client.remove_bucket(bucket)
        minio.close()
