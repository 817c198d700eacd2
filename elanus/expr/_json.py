"""Per-row values of a JSON path (or ARRAY column), projected into typed columns.

JSON text is parsed once per (table, column) and a path walked once per
(table, column, path); both are memoised in the evaluation cache. The typed
projections (numbers, strings, booleans) let comparisons on JSON values run as
vector operations: a row takes part in a comparison only where its value has
the type of the constant it is compared with, as in Milvus.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from elanus.schema import DYNAMIC_FIELD_NAME


class _Missing:
    """The value at a path that is not there (distinct from JSON null)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


def is_json_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def json_key(value: Any) -> Any:
    """A hashable key under which equal JSON values (1 == 1.0, but not true == 1) collide."""
    if isinstance(value, bool):
        return ("b", value)
    if is_json_number(value):
        return ("n", value)
    if isinstance(value, str):
        return ("s", value)
    if value is None:
        return ("z",)
    if isinstance(value, (list, tuple)):
        return ("l", tuple(json_key(v) for v in value))
    if isinstance(value, dict):
        return ("d", frozenset((k, json_key(v)) for k, v in value.items()))
    return ("?", repr(value))


@dataclass
class JsonColumn:
    """A JSON (or ARRAY) column as Python values, one per row, with row validity."""

    documents: list[Any]
    row_valid: np.ndarray

    @classmethod
    def from_arrow(cls, column: pa.ChunkedArray | pa.Array, column_name: str) -> JsonColumn:
        if isinstance(column, pa.ChunkedArray):
            column = column.combine_chunks()
        row_valid = _validity(column)
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            documents = [None if text is None else json.loads(text) for text in column.to_pylist()]
        else:  # ARRAY fields are Arrow lists already
            documents = column.to_pylist()
        if column_name == DYNAMIC_FIELD_NAME:
            # The dynamic field is never null; a missing object means "no keys".
            documents = [{} if doc is None else doc for doc in documents]
            row_valid = np.ones(len(documents), dtype=bool)
        return cls(documents, row_valid)


@dataclass
class JsonView:
    """The values at one path, with lazily built typed projections."""

    values: list[Any]
    row_valid: np.ndarray
    _cache: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def at_path(cls, column: JsonColumn, keys: tuple[str | int, ...]) -> JsonView:
        values = [
            MISSING if not valid else _walk(doc, keys)
            for doc, valid in zip(column.documents, column.row_valid, strict=True)
        ]
        return cls(values, column.row_valid)

    def __len__(self) -> int:
        return len(self.values)

    def _memo(self, name: str, build: Callable[[], Any]) -> Any:
        if name not in self._cache:
            self._cache[name] = build()
        return self._cache[name]

    def present(self) -> np.ndarray:
        """Rows where the path exists (its value may be JSON null)."""
        present: np.ndarray = self._memo(
            "present", lambda: np.fromiter((v is not MISSING for v in self.values), bool)
        )
        return present

    def null_or_missing(self) -> np.ndarray:
        absent: np.ndarray = self._memo(
            "null",
            lambda: np.fromiter((v is MISSING or v is None for v in self.values), bool),
        )
        return absent

    def numbers(self) -> tuple[np.ndarray, np.ndarray]:
        """(values, is-number mask); int64 when every number is an int64 integer, else float64."""
        result: tuple[np.ndarray, np.ndarray] = self._memo("numbers", self._build_numbers)
        return result

    def _build_numbers(self) -> tuple[np.ndarray, np.ndarray]:
        mask = np.fromiter((is_json_number(v) for v in self.values), bool, len(self.values))
        numbers = [v if is_json_number(v) else 0 for v in self.values]
        all_int = all(isinstance(v, int) and -(2**63) <= v < 2**63 for v in numbers)
        return np.array(numbers, dtype=np.int64 if all_int else np.float64), mask

    def floats(self) -> tuple[np.ndarray, np.ndarray]:
        numbers, mask = self.numbers()
        return numbers.astype(np.float64, copy=False), mask

    def strings(self) -> tuple[pa.Array, np.ndarray]:
        """(Arrow string array with nulls for non-strings, is-string mask)."""

        def build() -> tuple[pa.Array, np.ndarray]:
            texts = [v if isinstance(v, str) else None for v in self.values]
            mask = np.fromiter((t is not None for t in texts), bool, len(texts))
            return pa.array(texts, pa.string()), mask

        result: tuple[pa.Array, np.ndarray] = self._memo("strings", build)
        return result

    def booleans(self) -> tuple[np.ndarray, np.ndarray]:
        def build() -> tuple[np.ndarray, np.ndarray]:
            mask = np.fromiter((isinstance(v, bool) for v in self.values), bool, len(self.values))
            flags = np.fromiter((v is True for v in self.values), bool, len(self.values))
            return flags, mask

        result: tuple[np.ndarray, np.ndarray] = self._memo("booleans", build)
        return result

    def lengths(self) -> tuple[np.ndarray, np.ndarray]:
        """(array lengths, is-array mask) for array_length."""

        def build() -> tuple[np.ndarray, np.ndarray]:
            mask = np.fromiter((isinstance(v, list) for v in self.values), bool, len(self.values))
            sizes = [len(v) if isinstance(v, list) else 0 for v in self.values]
            return np.array(sizes, dtype=np.int64), mask

        result: tuple[np.ndarray, np.ndarray] = self._memo("lengths", build)
        return result


def _walk(document: Any, keys: tuple[str | int, ...]) -> Any:
    value = document
    for key in keys:
        if isinstance(key, str) and isinstance(value, dict):
            if key not in value:
                return MISSING
            value = value[key]
        elif isinstance(key, int) and isinstance(value, list):
            if key >= len(value):
                return MISSING
            value = value[key]
        else:
            return MISSING
    return value


def _validity(array: pa.Array) -> np.ndarray:
    if array.null_count == 0:
        return np.ones(len(array), dtype=bool)
    result: np.ndarray = array.is_valid().to_numpy(zero_copy_only=False)
    return result
