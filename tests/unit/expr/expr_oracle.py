"""A row-at-a-time model of Milvus filter semantics, written independently of
elanus.expr, for the table-driven tests to check the vectorised evaluator against.

Every predicate returns (data, valid): whether the row matched, and whether its
inputs were non-null. ``NOT`` flips data only on valid rows; ``AND`` / ``OR``
combine data and OR their validity.
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

Pair = tuple[bool, bool]
MISSING = object()

OPS = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def AND(*pairs: Pair) -> Pair:  # noqa: N802 - reads like the language keyword
    return all(d for d, _ in pairs), any(v for _, v in pairs)


def OR(*pairs: Pair) -> Pair:  # noqa: N802
    return any(d for d, _ in pairs), any(v for _, v in pairs)


def NOT(pair: Pair) -> Pair:  # noqa: N802
    data, valid = pair
    return (not data) and valid, valid


def cmp(value: Any, op: str, constant: Any) -> Pair:
    """A scalar column against a constant; null never matches."""
    if value is None:
        return False, False
    return bool(OPS[op](value, constant)), True


def cmp_f32(value: Any, op: str, constant: float) -> Pair:
    """FLOAT fields compare in float32, the field's own precision."""
    if value is None:
        return False, False
    return bool(OPS[op](np.float32(value), np.float32(constant))), True


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def same_kind(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool)
    if is_number(a) or is_number(b):
        return is_number(a) and is_number(b)
    return isinstance(a, str) and isinstance(b, str)


def _holds(value: Any, key: Any) -> bool:
    """A JSON object with that member, or a JSON array with that index."""
    if isinstance(key, str) and isinstance(value, dict):
        return key in value
    return isinstance(key, int) and isinstance(value, list) and key < len(value)


def get(document: Any, *keys: Any) -> Any:
    """The value at a JSON path, or MISSING."""
    value = document
    for key in keys:
        if not _holds(value, key):
            return MISSING
        value = value[key]
    return value


def jcmp(document: Any, keys: tuple[Any, ...], op: str, constant: Any) -> Pair:
    """A JSON path against a constant: only values of the constant's kind take part."""
    if document is None:
        return False, False
    value = get(document, *keys)
    if value is MISSING or not same_kind(value, constant):
        return False, True
    return bool(OPS[op](value, constant)), True


def json_equal(a: Any, b: Any) -> bool:
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    return same_kind(a, b) and a == b if not (a is None or b is None) else a is b


def jin(document: Any, keys: tuple[Any, ...], values: list[Any]) -> Pair:
    if document is None:
        return False, False
    value = get(document, *keys)
    if value is MISSING:
        return False, True
    return any(json_equal(value, v) for v in values), True


def contains(document: Any, keys: tuple[Any, ...], mode: str, wanted: Any) -> Pair:
    if document is None:
        return False, False
    value = get(document, *keys)
    if not isinstance(value, list):
        return False, True
    if mode == "one":
        return any(json_equal(e, wanted) for e in value), True
    hits = [any(json_equal(e, w) for e in value) for w in wanted]
    return (all(hits) if mode == "all" else any(hits)), True


def like(text: str, pattern: str) -> bool:
    """SQL LIKE by dynamic programming: % any run, _ one char, backslash escapes."""
    tokens: list[tuple[str, str]] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern):
            tokens.append(("lit", pattern[index + 1]))
            index += 2
            continue
        tokens.append(("any" if char == "%" else "one" if char == "_" else "lit", char))
        index += 1
    # matched[j]: the first i characters of text match the first j tokens.
    matched = [True] + [False] * len(tokens)
    for j, (kind, _) in enumerate(tokens, 1):
        matched[j] = matched[j - 1] and kind == "any"
    for char in text:
        row = [False] * (len(tokens) + 1)
        for j, (kind, literal) in enumerate(tokens, 1):
            if kind == "any":
                row[j] = row[j - 1] or matched[j]
            elif kind == "one":
                row[j] = matched[j - 1]
            else:
                row[j] = matched[j - 1] and char == literal
        matched = row
    return matched[-1]


def c_div(a: int, b: int) -> int:
    quotient = abs(a) // abs(b)
    return quotient if (a >= 0) == (b >= 0) else -quotient


def c_mod(a: int, b: int) -> int:
    return a - b * c_div(a, b)
