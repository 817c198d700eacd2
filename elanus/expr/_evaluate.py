"""Vectorised evaluation of a parsed filter over a pyarrow Table.

Null handling follows Milvus's engine. Each predicate yields two masks, *data*
(the row matched) and *valid* (the row's inputs were not null). A comparison on
a null value has data false; ``not`` flips data and keeps only valid rows, so a
null row never matches ``a > 1`` nor ``not (a > 1)``; ``and`` / ``or`` combine
data and OR their validity. The final answer is the data mask.

Scalar columns are evaluated with numpy and pyarrow.compute only. JSON paths
(and ARRAY fields) are parsed per row once per (table, column, path) and the
result is kept in ``cache`` if one is passed (see :func:`evaluate`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from elanus.expr import _ast as ast
from elanus.expr._json import JsonColumn, JsonView, is_json_number, json_key
from elanus.schema import DataType

_NUMPY_COMPARE = {
    "==": np.equal,
    "!=": np.not_equal,
    "<": np.less,
    "<=": np.less_equal,
    ">": np.greater,
    ">=": np.greater_equal,
}
_ARROW_COMPARE = {
    "==": pc.equal,
    "!=": pc.not_equal,
    "<": pc.less,
    "<=": pc.less_equal,
    ">": pc.greater,
    ">=": pc.greater_equal,
}


_ONE_SIDED = ("<", "<=", ">", ">=")


@dataclass(frozen=True)
class _Answered:
    """A leaf (or several) of an ``and`` already answered by an index."""

    data: np.ndarray
    valid: np.ndarray


@dataclass
class _Values:
    """An operand evaluated over the table.

    kind is "number" (numpy array or scalar), "string" (Arrow array or str),
    "bool" (numpy array or scalar) or "json" (a JsonView). ``ok`` marks rows
    with a usable value, ``valid`` rows whose inputs are not null.
    """

    kind: str
    values: Any
    ok: np.ndarray
    valid: np.ndarray


class IndexLookup(Protocol):
    """A per-column structure that answers some leaves over the column's non-null rows
    (:class:`elanus.scalar_index.ScalarLookup`); each answer is None when it cannot tell."""

    def compare(self, op: str, value: Any) -> np.ndarray | None: ...

    def among(self, values: Any) -> np.ndarray | None: ...

    def prefixed(self, prefix: str) -> np.ndarray | None: ...

    def within(self, bounds: Sequence[tuple[str, Any]]) -> np.ndarray | None: ...


def evaluate(
    expr: ast.Expr,
    table: pa.Table,
    cache: dict[Any, Any] | None = None,
    indexes: Mapping[str, IndexLookup] | None = None,
) -> np.ndarray:
    """The boolean mask (length ``table.num_rows``) of rows that match ``expr``.

    ``indexes``: scalar indexes by column name. A comparison, ``in`` list or prefix
    ``like`` of an indexed column with constants takes the rows that match from the
    index instead of scanning the column; validity (nulls) and everything around
    the leaf are decided here as for a scan, so the answer is the same.

    ``cache``: an optional dict the caller keeps while it filters the same
    table several times (e.g. a sealed segment). Parsed JSON is stored in it
    under the table's identity; each entry holds a reference to the table, so
    an identity cannot be reused while its entry lives. Drop the dict with the
    table.
    """
    evaluator = _Evaluator(table, {} if cache is None else cache, indexes or {})
    data, _ = evaluator.predicate(expr)
    return data


class _Evaluator:
    def __init__(
        self, table: pa.Table, cache: dict[Any, Any], indexes: Mapping[str, IndexLookup]
    ) -> None:
        self.table = table
        self.rows = table.num_rows
        self.cache = cache
        self.indexes = indexes

    def _ones(self) -> np.ndarray:
        return np.ones(self.rows, dtype=bool)

    # ------------------------------------------------------------ predicates

    def predicate(self, node: ast.Expr) -> tuple[np.ndarray, np.ndarray]:
        if isinstance(node, ast.Constant):
            return np.full(self.rows, node.value, dtype=bool), self._ones()
        if isinstance(node, ast.And):
            return self._combine(self._ranges(node.operands), np.logical_and)
        if isinstance(node, ast.Or):
            return self._combine(node.operands, np.logical_or)
        if isinstance(node, ast.Not):
            data, valid = self.predicate(node.operand)
            return ~data & valid, valid
        if isinstance(node, ast.Compare):
            return self._compare(node)
        if isinstance(node, ast.InList):
            data, valid = self._in_list(node)
            return (~data & valid if node.negated else data), valid
        if isinstance(node, ast.Like):
            return self._like(node)
        if isinstance(node, ast.IsNull):
            return self._is_null(node)
        if isinstance(node, ast.Exists):
            view = self._json(node.path)
            return view.present() & view.row_valid, self._ones()
        if isinstance(node, ast.Contains):
            return self._contains(node)
        raise TypeError(f"not a predicate node: {node!r}")

    def _ranges(self, operands: tuple[ast.Expr, ...]) -> list[ast.Expr | _Answered]:
        """The operands of an ``and``, the one-sided comparisons of each indexed column
        (``a < x``, ``x <= b``, ...) answered together as one range of its index: the
        intersection of their rows, with the column's validity, as ``and`` makes it."""
        by_field: dict[str, list[ast.Compare]] = {}
        for operand in operands:
            if (
                isinstance(operand, ast.Compare)
                and operand.op in _ONE_SIDED
                and isinstance(operand.right, ast.Literal)
                and isinstance(operand.left, ast.FieldRef)
                and self._indexed(operand.left) is not None
            ):
                same = by_field.setdefault(operand.left.name, [])
                if not any(c is operand for c in same):  # one object twice: counted once
                    same.append(operand)
        answered: dict[int, _Answered | None] = {}
        for compares in by_field.values():
            if len(compares) < 2:
                continue
            left = compares[0].left
            assert isinstance(left, ast.FieldRef)
            index = self._indexed(left)
            assert index is not None
            bounds = [
                (c.op, _numeric_constant(left, c.right.value))  # type: ignore[union-attr]
                for c in compares
            ]
            found = index.within(bounds)
            if found is None:
                continue
            answer = _Answered(found, self._field_validity(left))
            answered[id(compares[0])] = answer
            for other in compares[1:]:
                answered[id(other)] = None  # folded into the first
        out: list[ast.Expr | _Answered] = []
        for operand in operands:
            if id(operand) not in answered:
                out.append(operand)
            elif (folded := answered[id(operand)]) is not None:
                out.append(folded)
        return out

    def _leaf(self, operand: ast.Expr | _Answered) -> tuple[np.ndarray, np.ndarray]:
        if isinstance(operand, _Answered):
            return operand.data, operand.valid
        return self.predicate(operand)

    def _combine(
        self, operands: Sequence[ast.Expr | _Answered], op: Any
    ) -> tuple[np.ndarray, np.ndarray]:
        data, valid = self._leaf(operands[0])
        for operand in operands[1:]:
            more_data, more_valid = self._leaf(operand)
            data = op(data, more_data)
            valid = valid | more_valid
        return data, valid

    def _indexed(self, node: ast.Operand) -> IndexLookup | None:
        """The index of a plain column operand, when there is one of this table's length."""
        if not isinstance(node, ast.FieldRef):
            return None
        index = self.indexes.get(node.name)
        if index is None or getattr(index, "rows", self.rows) != self.rows:
            return None
        return index

    def _field_validity(self, node: ast.FieldRef) -> np.ndarray:
        return _validity(self._column(node.name))

    def _compare(self, node: ast.Compare) -> tuple[np.ndarray, np.ndarray]:
        index = self._indexed(node.left)
        if index is not None and isinstance(node.right, ast.Literal):
            assert isinstance(node.left, ast.FieldRef)
            found = index.compare(node.op, _numeric_constant(node.left, node.right.value))
            if found is not None:
                return found, self._field_validity(node.left)
        left = self.operand(node.left)
        if isinstance(node.right, ast.Literal):
            return self._compare_constant(node.op, left, node.right.value, node.left)
        right = self.operand(node.right)
        valid = left.valid & right.valid
        ok = left.ok & right.ok
        if left.kind == "string":
            matched = _arrow_mask(_ARROW_COMPARE[node.op](left.values, right.values))
        else:
            matched = _NUMPY_COMPARE[node.op](left.values, right.values)
        return matched & ok, valid

    def _compare_constant(
        self, op: str, left: _Values, constant: Any, left_node: ast.Operand
    ) -> tuple[np.ndarray, np.ndarray]:
        if left.kind == "json":
            left = _json_projection(left, constant)
        if left.kind == "string":
            matched = _arrow_mask(_ARROW_COMPARE[op](left.values, pa.scalar(constant, pa.string())))
        else:
            matched = _NUMPY_COMPARE[op](left.values, _numeric_constant(left_node, constant))
        return matched & left.ok, left.valid

    def _in_list(self, node: ast.InList) -> tuple[np.ndarray, np.ndarray]:
        index = self._indexed(node.operand)
        if index is not None and node.values:
            assert isinstance(node.operand, ast.FieldRef)
            if node.operand.data_type.is_string:
                wanted: Any = node.values
            else:
                wanted = _numeric_constant(node.operand, np.array(node.values))
            found = index.among(wanted)
            if found is not None:
                return found, self._field_validity(node.operand)
        operand = self.operand(node.operand)
        if not node.values:
            return np.zeros(self.rows, dtype=bool), operand.valid
        if operand.kind == "json":
            return self._json_in_list(operand.values, node.values), operand.valid
        if operand.kind == "string":
            value_set = pa.array(node.values, pa.string())
            found = _arrow_mask(pc.is_in(operand.values, value_set=value_set))
        else:
            constants = _numeric_constant(node.operand, np.array(node.values))
            found = np.isin(operand.values, constants)
        return found & operand.ok, operand.valid

    def _json_in_list(self, view: JsonView, values: tuple[Any, ...]) -> np.ndarray:
        found = np.zeros(self.rows, dtype=bool)
        numbers = [v for v in values if is_json_number(v)]
        strings = [v for v in values if isinstance(v, str)]
        flags = [v for v in values if isinstance(v, bool)]
        nested = {json_key(v) for v in values if isinstance(v, tuple)}
        if numbers:
            column, mask = view.numbers()
            found |= mask & np.isin(column, np.array(numbers))
        if strings:
            column, mask = view.strings()
            found |= mask & _arrow_mask(pc.is_in(column, value_set=pa.array(strings, pa.string())))
        if flags:
            column, mask = view.booleans()
            found |= mask & np.isin(column, np.array(flags, dtype=bool))
        if nested:
            found |= np.fromiter(
                (isinstance(v, list) and json_key(v) in nested for v in view.values),
                bool,
                self.rows,
            )
        return found

    def _like(self, node: ast.Like) -> tuple[np.ndarray, np.ndarray]:
        index = self._indexed(node.operand)
        prefix = _plain_prefix(node.pattern)
        if index is not None and prefix:
            assert isinstance(node.operand, ast.FieldRef)
            found = index.prefixed(prefix)
            if found is not None:
                return found, self._field_validity(node.operand)
        operand = self.operand(node.operand)
        if operand.kind == "json":
            operand = _json_projection(operand, "")
        matched = _arrow_mask(_match_like(operand.values, node.pattern))
        return matched & operand.ok, operand.valid

    def _is_null(self, node: ast.IsNull) -> tuple[np.ndarray, np.ndarray]:
        if isinstance(node.operand, ast.FieldRef):
            is_null = ~_validity(self._column(node.operand.name))
        else:
            is_null = self._json(node.operand).null_or_missing()
        return (~is_null if node.negated else is_null), self._ones()

    def _contains(self, node: ast.Contains) -> tuple[np.ndarray, np.ndarray]:
        view = self._json(node.target)
        if node.mode == ast.ContainsMode.ONE:
            wanted = json_key(node.value)
            rows = (isinstance(v, list) and wanted in {json_key(e) for e in v} for v in view.values)
        else:
            wanted_keys = {json_key(v) for v in node.value}  # type: ignore[union-attr]
            if node.mode == ast.ContainsMode.ALL:
                rows = (
                    isinstance(v, list) and wanted_keys <= {json_key(e) for e in v}
                    for v in view.values
                )
            else:
                rows = (
                    isinstance(v, list) and not wanted_keys.isdisjoint(json_key(e) for e in v)
                    for v in view.values
                )
        return np.fromiter(rows, bool, self.rows), view.row_valid

    # -------------------------------------------------------------- operands

    def operand(self, node: ast.Operand) -> _Values:
        if isinstance(node, ast.FieldRef):
            return self._field(node)
        if isinstance(node, ast.JsonPath):
            view = self._json(node)
            return _Values("json", view, view.present(), view.row_valid)
        if isinstance(node, ast.Literal):
            kind = "string" if isinstance(node.value, str) else "number"
            return _Values(kind, node.value, self._ones(), self._ones())
        if isinstance(node, ast.Negate):
            inner = self._numbers(self.operand(node.operand))
            return _Values("number", -inner.values, inner.ok, inner.valid)
        if isinstance(node, ast.ArrayLength):
            view = self._json(node.target)
            lengths, is_array = view.lengths()
            return _Values("number", lengths, is_array, view.row_valid)
        if isinstance(node, ast.Arithmetic):
            return self._arithmetic(node)
        raise TypeError(f"not an operand node: {node!r}")

    def _field(self, node: ast.FieldRef) -> _Values:
        column = self._column(node.name)
        valid = _validity(column)
        if node.data_type.is_string:
            return _Values("string", column, valid, valid)
        if node.data_type == DataType.BOOL:
            values = column.fill_null(False).to_numpy(zero_copy_only=False)
            return _Values("bool", values, valid, valid)
        values = column.fill_null(0).to_numpy(zero_copy_only=False) if column.null_count else None
        if values is None:
            values = column.to_numpy(zero_copy_only=False)
        if node.data_type.is_integer and values.dtype != np.int64:
            values = values.astype(np.int64)
        return _Values("number", values, valid, valid)

    def _numbers(self, values: _Values) -> _Values:
        if values.kind == "json":
            numbers, mask = values.values.floats()
            return _Values("number", numbers, mask, values.valid)
        return values

    def _arithmetic(self, node: ast.Arithmetic) -> _Values:
        left = self._numbers(self.operand(node.left))
        right = self._numbers(self.operand(node.right))
        a, b = np.asarray(left.values), np.asarray(right.values)
        ok = left.ok & right.ok
        integers = node.value_type == ast.ValueType.INT
        if not integers:
            a, b = a.astype(np.float64, copy=False), b.astype(np.float64, copy=False)
        if node.op in ("/", "%"):
            zero = b == 0
            ok = ok & ~zero
            b = np.where(zero, 1, b).astype(b.dtype, copy=False)
        with np.errstate(all="ignore"):
            result = _apply_arithmetic(node.op, a, b, integers)
        if not integers:
            ok = ok & ~np.isnan(result)
        return _Values("number", result, ok, left.valid & right.valid)

    # --------------------------------------------------------------- columns

    def _column(self, name: str) -> pa.Array:
        key = ("column", id(self.table), name)
        entry = self.cache.get(key)
        if entry is None:
            column = self.table.column(name)
            entry = (self.table, column.combine_chunks())
            self.cache[key] = entry
        return entry[1]

    def _json(self, path: ast.JsonPath) -> JsonView:
        view_key = ("json-path", id(self.table), path.field, path.keys)
        entry = self.cache.get(view_key)
        if entry is None:
            doc_key = ("json-column", id(self.table), path.field)
            column_entry = self.cache.get(doc_key)
            if column_entry is None:
                column = JsonColumn.from_arrow(self._column(path.field), path.field)
                column_entry = (self.table, column)
                self.cache[doc_key] = column_entry
            entry = (self.table, JsonView.at_path(column_entry[1], path.keys))
            self.cache[view_key] = entry
        return entry[1]


# ------------------------------------------------------------------ helpers


def _apply_arithmetic(op: str, a: np.ndarray, b: np.ndarray, integers: bool) -> np.ndarray:
    result: np.ndarray
    if op == "+":
        result = a + b
    elif op == "-":
        result = a - b
    elif op == "*":
        result = a * b
    elif op == "%":
        result = np.fmod(a, b)
    elif op == "/":
        # C semantics for integers: the quotient truncates toward zero.
        result = (a - np.fmod(a, b)) // b if integers else a / b
    else:
        result = np.power(a, b)
    return result


def _json_projection(values: _Values, constant: Any) -> _Values:
    """The JSON rows whose value has the constant's type, as a typed column."""
    view: JsonView = values.values
    if isinstance(constant, bool):
        column, mask = view.booleans()
        return _Values("bool", column, mask, values.valid)
    if isinstance(constant, str):
        column, mask = view.strings()
        return _Values("string", column, mask, values.valid)
    column, mask = view.numbers()
    return _Values("number", column, mask, values.valid)


def _numeric_constant(operand: ast.Operand, constant: Any) -> Any:
    """Compare FLOAT (float32) fields in their own precision, as Milvus does."""
    if isinstance(operand, ast.FieldRef) and operand.data_type == DataType.FLOAT:
        return np.float32(constant) if np.ndim(constant) == 0 else constant.astype(np.float32)
    return constant


def _validity(array: pa.Array) -> np.ndarray:
    if array.null_count == 0:
        return np.ones(len(array), dtype=bool)
    result: np.ndarray = array.is_valid().to_numpy(zero_copy_only=False)
    return result


def _arrow_mask(result: pa.Array | pa.ChunkedArray) -> np.ndarray:
    mask: np.ndarray = (
        result.fill_null(False).to_numpy(zero_copy_only=False).astype(bool, copy=False)
    )
    return mask


_REGEX_SPECIAL = set("\\.^$|?*+()[]{}")


def like_regex(pattern: str) -> str:
    """Milvus's like pattern as a regular expression (RE2 and Python both read it).

    ``%`` matches any run of characters, ``_`` exactly one, and a backslash
    makes the next character literal.
    """
    parts: list[str] = []
    escaped = False
    for char in pattern:
        if escaped:
            parts.append("\\" + char if char in _REGEX_SPECIAL else char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "%":
            parts.append(".*")
        elif char == "_":
            parts.append(".")
        else:
            parts.append("\\" + char if char in _REGEX_SPECIAL else char)
    if escaped:
        parts.append("\\\\")
    return "(?s)^" + "".join(parts) + "$"


def _plain_prefix(pattern: str) -> str:
    """``abc`` for the pattern ``abc%`` (no other wildcard nor escape); '' otherwise."""
    if "\\" in pattern or "_" in pattern or not pattern.endswith("%"):
        return ""
    body = pattern[:-1]
    return "" if "%" in body else body


def _match_like(strings: pa.Array, pattern: str) -> pa.Array:
    """Fast paths for exact / prefix / suffix / infix patterns, a regex otherwise."""
    if "\\" not in pattern and "_" not in pattern:
        body = pattern.strip("%")
        if "%" not in body:
            starts, ends = pattern.startswith("%"), pattern.endswith("%")
            if not body:
                return pc.is_valid(strings) if pattern else pc.equal(strings, "")
            if starts and ends:
                return pc.match_substring(strings, body)
            if ends:
                return pc.starts_with(strings, body)
            if starts:
                return pc.ends_with(strings, body)
            return pc.equal(strings, pa.scalar(body, pa.string()))
    return pc.match_substring_regex(strings, like_regex(pattern))
