"""Milvus's boolean filter language: one parser and evaluator for search, query and delete.

    expr = parse('age > {min} and city in ["Oslo", "Rome"]', schema, {"min": 30})
    mask = evaluate(expr, segment_table)          # numpy bool array, one per row

``parse`` returns an immutable, type-checked tree (see ``_ast``); empty text
returns :data:`MATCH_ALL`. Errors are :class:`elanus.errors.ExpressionError`
naming the problem and its line and column. ``evaluate`` works column-wise on
a pyarrow Table whose columns are named after the schema's fields (``$meta``
for the dynamic field) and must hold every column ``referenced_fields`` names;
see its docstring for the optional JSON cache.

Where Milvus leaves room, Elanus chooses: ``not`` binds looser than a
comparison (``not a == 1`` is ``not (a == 1)``); keywords are case-insensitive;
there is no ``not like`` (write ``not (s like "a%")``), as in Milvus.
"""

from __future__ import annotations

from typing import Any

from elanus.expr._ast import (
    MATCH_ALL,
    And,
    Arithmetic,
    ArrayLength,
    Compare,
    Constant,
    Contains,
    ContainsMode,
    Exists,
    Expr,
    FieldRef,
    InList,
    IsNull,
    JsonPath,
    Like,
    Literal,
    LiteralValue,
    Negate,
    Not,
    Operand,
    Or,
    ValueType,
)
from elanus.expr._evaluate import evaluate
from elanus.expr._parser import parse

__all__ = [
    "MATCH_ALL",
    "And",
    "ArrayLength",
    "Arithmetic",
    "Compare",
    "Constant",
    "Contains",
    "ContainsMode",
    "Exists",
    "Expr",
    "FieldRef",
    "InList",
    "IsNull",
    "JsonPath",
    "Like",
    "Literal",
    "LiteralValue",
    "Negate",
    "Not",
    "Operand",
    "Or",
    "ValueType",
    "evaluate",
    "parse",
    "primary_keys_if_simple",
    "referenced_fields",
]


def referenced_fields(expr: Expr) -> set[str]:
    """The table columns ``evaluate`` reads for ``expr`` (``$meta`` for dynamic keys)."""
    names: set[str] = set()
    for node in expr.walk():
        if isinstance(node, FieldRef):
            names.add(node.name)
        elif isinstance(node, JsonPath):
            names.add(node.field)
    return names


def primary_keys_if_simple(expr: Expr, pk_field: str) -> list[Any] | None:
    """The keys when ``expr`` is exactly ``pk in [...]`` or ``pk == v``, else None.

    Lets delete and get-by-id skip scanning: the caller looks the keys up
    directly. Only constants of the key's own type qualify (an int key
    compared with ``1.0`` is not simple). Duplicates are dropped, order kept.
    """
    if isinstance(expr, InList) and not expr.negated:
        operand, values = expr.operand, list(expr.values)
    elif isinstance(expr, Compare) and expr.op == "==" and isinstance(expr.right, Literal):
        operand, values = expr.left, [expr.right.value]
    else:
        return None
    if not (isinstance(operand, FieldRef) and operand.name == pk_field):
        return None
    if operand.data_type.is_integer:
        wanted: type = int
    elif operand.data_type.is_string:
        wanted = str
    else:
        return None
    if not all(isinstance(v, wanted) and not isinstance(v, bool) for v in values):
        return None
    return list(dict.fromkeys(values))
