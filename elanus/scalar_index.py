"""Scalar indexes: which (index type, field type) pairs Milvus accepts, and the
per-segment structure that answers simple comparisons on one column.

Every scalar index type is served by one structure: the column's non-null values
sorted (numpy/pyarrow sort) with the row offset of each. Equal values are
contiguous, so the run of a value is BITMAP's value -> row set; a prefix is a
contiguous range, which is what TRIE answers; ranges are STL_SORT's. The
structure only says which non-null rows hold a value satisfying ``op constant``;
:mod:`elanus.expr` stays the one place that decides what the filter means (nulls,
``not``, ``and``/``or``) and asks the structure for the leaves it can answer
(see :class:`ScalarLookup`). Columns it cannot serve (JSON, ARRAY, floats with
NaN) build an index file that answers nothing, so filters on them scan.

Files are Arrow IPC streams: columns ``value`` (sorted) and ``offset`` (int64),
schema metadata ``rows`` and ``serves``.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from elanus.errors import ParameterInvalid
from elanus.schema import DataType, FieldSchema

INVERTED = "INVERTED"
STL_SORT = "STL_SORT"
BITMAP = "BITMAP"
TRIE = "TRIE"
AUTOINDEX = "AUTOINDEX"
SCALAR_INDEX_TYPES = (INVERTED, STL_SORT, BITMAP, TRIE)
# What AUTOINDEX builds on a scalar field.
AUTO_SCALAR_INDEX = INVERTED
# The type casts an index on a JSON path may take (Milvus 2.6).
JSON_CAST_TYPES = ("BOOL", "DOUBLE", "VARCHAR", "ARRAY_BOOL", "ARRAY_DOUBLE", "ARRAY_VARCHAR")

# Milvus's names of the data types, as its messages print them.
MILVUS_TYPE_NAMES = {
    DataType.BOOL: "Bool",
    DataType.INT8: "Int8",
    DataType.INT16: "Int16",
    DataType.INT32: "Int32",
    DataType.INT64: "Int64",
    DataType.FLOAT: "Float",
    DataType.DOUBLE: "Double",
    DataType.STRING: "String",
    DataType.VARCHAR: "VarChar",
    DataType.ARRAY: "Array",
    DataType.JSON: "JSON",
}
_INVALID_PARAMS = "expected=valid index params][actual=invalid index params"


def _refuse(message: str) -> ParameterInvalid:
    return ParameterInvalid(_INVALID_PARAMS, cause=message)


def is_scalar_index_type(index_type: str) -> bool:
    return index_type.strip().upper() in SCALAR_INDEX_TYPES


def check_scalar_index(
    requested: str, field: FieldSchema, params: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """The index type to build (AUTOINDEX resolved) and its parameters, or Milvus's refusal.

    ``requested`` is what the user sent ('' for AUTOINDEX); ``field`` is a scalar field.
    """
    index_type = requested.strip().upper() or AUTOINDEX
    if index_type == AUTOINDEX:
        index_type = AUTO_SCALAR_INDEX
    kind = field.data_type
    name = MILVUS_TYPE_NAMES.get(kind, kind.name)
    if index_type not in SCALAR_INDEX_TYPES:
        raise _refuse(f"invalid index type: {requested}")
    if index_type == INVERTED:
        if not (kind == DataType.BOOL or kind.is_numeric or kind.is_string) and kind not in (
            DataType.ARRAY,
            DataType.JSON,
        ):
            raise _refuse(f"INVERTED are not supported on {name} field")
    elif index_type == STL_SORT:
        if not (kind.is_numeric or kind.is_string):
            raise _refuse(f"STL_SORT are only supported on numeric or varchar field, got {name}")
    elif index_type == TRIE:
        if not kind.is_string:
            raise _refuse("TRIE are only supported on varchar field")
    elif index_type == BITMAP:
        if field.is_primary:
            raise _refuse("create bitmap index on primary key not supported")
        if not (kind in (DataType.BOOL, DataType.ARRAY) or kind.is_integer or kind.is_string):
            raise _refuse("bitmap index are only supported on bool, int, string and array field")
        element = field.element_type
        if kind == DataType.ARRAY and not (
            element == DataType.BOOL or element.is_integer or element.is_string
        ):
            raise _refuse("bitmap index are only supported on bool, int, string for array field")
    kept = dict(params)
    if kind == DataType.JSON:
        cast = str(kept.get("json_cast_type", "")).strip().upper()
        if not cast:
            raise _refuse(
                "json index must specify cast type: missing parameter[missing_param=json_cast_type]"
            )
        if cast not in JSON_CAST_TYPES:
            raise _refuse(f"json_cast_type {kept['json_cast_type']} is not supported")
        kept["json_cast_type"] = cast
        kept.setdefault("json_path", field.name)
    return index_type, kept


def _serves(column: pa.ChunkedArray | pa.Array) -> bool:
    kind = column.type
    if pa.types.is_boolean(kind) or pa.types.is_integer(kind):
        return True
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return True
    if pa.types.is_floating(kind):
        return not bool(pc.any(pc.is_nan(column)).as_py() or False)
    return False


def build_scalar_index(index_type: str, column: pa.ChunkedArray | pa.Array) -> bytes:
    """The serialised index of one segment's column."""
    rows = len(column)
    serves = _serves(column)
    if serves:
        array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
        present = pc.indices_nonzero(pc.is_valid(array)) if array.null_count else None
        values = array if present is None else array.take(present)
        order = pc.sort_indices(values)  # stable; nulls taken out above
        offsets = order if present is None else present.take(order)
        table = pa.table({"value": values.take(order), "offset": pc.cast(offsets, pa.int64())})
    else:
        table = pa.table({"value": pa.array([], pa.null()), "offset": pa.array([], pa.int64())})
    table = table.replace_schema_metadata(
        {"rows": str(rows), "serves": "1" if serves else "0", "index_type": index_type}
    )
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


def load_scalar_index(data: bytes) -> ScalarLookup:
    table = pa.ipc.open_stream(pa.py_buffer(data)).read_all()
    meta = {k.decode(): v.decode() for k, v in (table.schema.metadata or {}).items()}
    values = table.column("value").to_numpy(zero_copy_only=False)
    if values.dtype.kind in "iu":
        values = values.astype(np.int64)  # the evaluator compares integers as int64
    return ScalarLookup(
        index_type=meta.get("index_type", INVERTED),
        rows=int(meta["rows"]),
        serves=meta.get("serves") == "1",
        values=values,
        offsets=table.column("offset").to_numpy(),
    )


def _after_prefix(prefix: str) -> str | None:
    """The smallest string above every string starting with ``prefix`` (None: no bound)."""
    chars = list(prefix)
    while chars:
        last = ord(chars.pop())
        if last < 0x10FFFF:
            return "".join(chars) + chr(last + 1)
    return None


class ScalarLookup:
    """Answers ``column op constant`` over the non-null rows of one segment's column."""

    def __init__(
        self, index_type: str, rows: int, serves: bool, values: np.ndarray, offsets: np.ndarray
    ) -> None:
        self.index_type = index_type
        self.rows = rows
        self.serves = serves
        self._strings = values.dtype == object
        self._values = values
        self._offsets = offsets

    def _mask(self, start: int, stop: int) -> np.ndarray:
        mask = np.zeros(self.rows, dtype=bool)
        if stop > start:
            mask[self._offsets[start:stop]] = True
        return mask

    def _bound(self, value: Any, side: str) -> int:
        if self._strings:
            search = bisect.bisect_left if side == "left" else bisect.bisect_right
            return int(search(self._values, value))
        return int(np.searchsorted(self._values, value, side=side))  # type: ignore[call-overload]

    def _accepts(self, value: Any) -> bool:
        if self._strings:
            return isinstance(value, str)
        if isinstance(value, (str, bytes)):
            return False
        return np.ndim(value) == 0

    def compare(self, op: str, value: Any) -> np.ndarray | None:
        """Rows whose non-null value satisfies ``value_in_row op value``; None: cannot tell."""
        if not self.serves or not self._accepts(value):
            return None
        if (self._values.dtype == bool) != isinstance(value, (bool, np.bool_)):
            return None
        try:
            return self._compare(op, value)
        except (OverflowError, TypeError, ValueError):
            return None  # a constant the sorted values cannot be searched with: scan

    def _compare(self, op: str, value: Any) -> np.ndarray | None:
        n = len(self._values)
        if op == "==":
            return self._mask(self._bound(value, "left"), self._bound(value, "right"))
        if op == "!=":
            lo, hi = self._bound(value, "left"), self._bound(value, "right")
            mask = self._mask(0, lo)
            mask |= self._mask(hi, n)
            return mask
        span = self._span(op, value)
        return None if span is None else self._mask(*span)

    def _span(self, op: str, value: Any) -> tuple[int, int] | None:
        """The positions in sorted order of the values that satisfy a one-sided comparison."""
        n = len(self._values)
        if op == "<":
            return 0, self._bound(value, "left")
        if op == "<=":
            return 0, self._bound(value, "right")
        if op == ">":
            return self._bound(value, "right"), n
        if op == ">=":
            return self._bound(value, "left"), n
        return None

    def within(self, bounds: Sequence[tuple[str, Any]]) -> np.ndarray | None:
        """Rows whose non-null value satisfies every ``(op, value)`` of ``bounds`` (each one
        of ``< <= > >=``): one contiguous run of the sorted values, the spans' intersection."""
        start, stop = 0, len(self._values)
        for op, value in bounds:
            if not self.serves or not self._accepts(value):
                return None
            if (self._values.dtype == bool) != isinstance(value, (bool, np.bool_)):
                return None
            try:
                span = self._span(op, value)
            except (OverflowError, TypeError, ValueError):
                return None
            if span is None:
                return None
            start, stop = max(start, span[0]), min(stop, span[1])
        return self._mask(start, stop)

    def among(self, values: Any) -> np.ndarray | None:
        """Rows whose non-null value is one of ``values``."""
        mask = np.zeros(self.rows, dtype=bool)
        for value in values:
            found = self.compare("==", value)
            if found is None:
                return None
            mask |= found
        return mask

    def prefixed(self, prefix: str) -> np.ndarray | None:
        """Rows whose non-null string value starts with ``prefix``."""
        if not self.serves or not self._strings or not prefix:
            return None
        start = self._bound(prefix, "left")
        after = _after_prefix(prefix)
        stop = len(self._values) if after is None else self._bound(after, "left")
        return self._mask(start, stop)
