"""Fixtures: one random segment shared by the expression tests (see expr_data)."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest
from expr_data import make_rows, rows_to_table


@pytest.fixture(scope="session")
def rows() -> list[dict[str, Any]]:
    return make_rows()


@pytest.fixture(scope="session")
def table(rows: list[dict[str, Any]]) -> pa.Table:
    return rows_to_table(rows)
