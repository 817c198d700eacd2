"""Small shared helpers for the compatibility tests (pymilvus and numpy only)."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import pytest
from pymilvus import MilvusClient, MilvusException

# Which server the suite talks to: our own, or Milvus Lite to check the suite itself.
TARGET = os.environ.get("ELANUS_COMPAT_TARGET", "elanus")
ON_MILVUS_LITE = TARGET == "milvus-lite"

# Milvus's merr codes that the suite asserts on.
COLLECTION_NOT_FOUND = 100
COLLECTION_NOT_LOADED = 101
INVALID_PARAMETER = 1100
# pymilvus's own client-side errors (ParamError, DataNotMatchException, ...) carry code 1.
CLIENT_SIDE = 1


def unique_name(prefix: str = "c") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


@contextmanager
def raises_milvus(*codes: int) -> Iterator[pytest.ExceptionInfo[MilvusException]]:
    """Expect a MilvusException whose code is one of `codes`."""
    with pytest.raises(MilvusException) as caught:
        yield caught
    assert caught.value.code in codes, (
        f"expected code in {codes}, got {caught.value.code}: {caught.value.message}"
    )


def count_rows(client: MilvusClient, collection: str, filter_expr: str = "") -> int:
    """count(*) with Strong consistency: every acknowledged write is visible."""
    rows = client.query(
        collection,
        filter=filter_expr,
        output_fields=["count(*)"],
        consistency_level="Strong",
    )
    return int(rows[0]["count(*)"])


def random_vectors(count: int, dim: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).random((count, dim), dtype=np.float32)


def wait_until(predicate: Callable[[], bool], timeout_s: float, interval_s: float = 0.2) -> bool:
    """Poll `predicate` until it holds or `timeout_s` passes; return whether it held."""
    deadline = time.monotonic() + timeout_s
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval_s)
