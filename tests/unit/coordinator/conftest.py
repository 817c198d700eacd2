"""The coordinator under test, opened on a fresh directory and closed after."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from test_coordinator_core import Env


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    e = Env(tmp_path)
    e.open()
    yield e
    e.close()
