"""Table-driven: for each expression, evaluate() must agree row for row with the oracle."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from expr_data import SCHEMA
from expr_oracle import (
    AND,
    MISSING,
    NOT,
    OR,
    Pair,
    c_div,
    c_mod,
    cmp,
    cmp_f32,
    contains,
    get,
    jcmp,
    jin,
    like,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from elanus.expr import evaluate, parse
from elanus.schema import DYNAMIC_FIELD_NAME

Row = dict[str, Any]


def M(row: Row) -> Any:  # noqa: N802 - short names keep the table readable
    return row["meta"]


def D(row: Row) -> Any:  # noqa: N802
    return row[DYNAMIC_FIELD_NAME]


def arith(value: Any, compute: Callable[[Any], Any], op: str, constant: Any) -> Pair:
    return cmp(None if value is None else compute(value), op, constant)


def bool_col(value: Any) -> Pair:
    return (bool(value), True) if value is not None else (False, False)


def str_like(value: Any, pattern: str) -> Pair:
    return (like(value, pattern), True) if value is not None else (False, False)


def jlike(document: Any, keys: tuple[Any, ...], pattern: str) -> Pair:
    if document is None:
        return False, False
    value = get(document, *keys)
    return isinstance(value, str) and like(value, pattern), True


def jarith(document: Any, keys: tuple[Any, ...], compute: Callable[[Any], Any], op: str, c: Any):
    if document is None:
        return False, False
    value = get(document, *keys)
    if not (isinstance(value, (int, float)) and not isinstance(value, bool)):
        return False, True
    return cmp(compute(float(value)), op, c)


def jnull(document: Any, keys: tuple[Any, ...]) -> bool:
    if document is None:
        return True
    value = get(document, *keys)
    return value is None or value is MISSING


def array_len(document: Any, keys: tuple[Any, ...], op: str, constant: int) -> Pair:
    if document is None:
        return False, False
    value = get(document, *keys)
    return (isinstance(value, list) and OPS_LEN[op](len(value), constant)), True


OPS_LEN = {"==": lambda a, b: a == b, ">": lambda a, b: a > b, "<=": lambda a, b: a <= b}

CASES: list[tuple[str, Callable[[Row], Pair]]] = [
    # comparisons on every scalar type
    ("i64 > 0", lambda r: cmp(r["i64"], ">", 0)),
    ("i64 <= -100", lambda r: cmp(r["i64"], "<=", -100)),
    ("i8 == -5 || i8 == 7", lambda r: OR(cmp(r["i8"], "==", -5), cmp(r["i8"], "==", 7))),
    ("i8 > 1000", lambda r: cmp(r["i8"], ">", 1000)),
    ("i16 != 3", lambda r: cmp(r["i16"], "!=", 3)),
    ("i16 >= 2.5", lambda r: cmp(r["i16"], ">=", 2.5)),
    ("i32 < i16", lambda r: AND(cmp(r["i16"], ">", r["i32"]))),
    ("f == 0.1", lambda r: cmp_f32(r["f"], "==", 0.1)),
    ("f > 0.2", lambda r: cmp_f32(r["f"], ">", 0.2)),
    ("d <= 0.3", lambda r: cmp(r["d"], "<=", 0.3)),
    ("d > f", lambda r: cmp(r["d"], ">", float(np.float32(r["f"])))),
    ('s == "ab"', lambda r: cmp(r["s"], "==", "ab")),
    ("s > 'b'", lambda r: cmp(r["s"], ">", "b")),
    ("s != ''", lambda r: cmp(r["s"], "!=", "")),
    ("b == true", lambda r: cmp(r["b"], "==", True)),
    ("b != False", lambda r: cmp(r["b"], "!=", False)),
    ("b", lambda r: bool_col(r["b"])),
    ("not b", lambda r: NOT(bool_col(r["b"]))),
    ("5 > i32", lambda r: cmp(r["i32"], "<", 5)),
    # ranges
    ("-10 < i32 < 10", lambda r: AND(cmp(r["i32"], ">", -10), cmp(r["i32"], "<", 10))),
    ("10 >= i16 > 0", lambda r: AND(cmp(r["i16"], "<=", 10), cmp(r["i16"], ">", 0))),
    ("0.1 <= f <= 1.5", lambda r: AND(cmp_f32(r["f"], ">=", 0.1), cmp_f32(r["f"], "<=", 1.5))),
    ("'a' <= s < 'b'", lambda r: AND(cmp(r["s"], ">=", "a"), cmp(r["s"], "<", "b"))),
    # in / not in
    ("id in [1, 4, 7, 1000]", lambda r: (r["id"] in (1, 4, 7, 1000), True)),
    ("i16 in [1, 2, 3]", lambda r: _in(r["i16"], [1, 2, 3])),
    ("i16 not in [1, 2, 3]", lambda r: NOT(_in(r["i16"], [1, 2, 3]))),
    ("s in ['a', 'b', 'ab', '']", lambda r: _in(r["s"], ["a", "b", "ab", ""])),
    ("f in [0.1, 0.5]", lambda r: (np.float32(r["f"]) in (np.float32(0.1), np.float32(0.5)), True)),
    ("b in [true]", lambda r: _in(r["b"], [True])),
    ("i32 in []", lambda r: (False, True)),
    ("i32 not in []", lambda r: (True, True)),
    # like
    ("s like 'a%'", lambda r: str_like(r["s"], "a%")),
    ("s like '%b'", lambda r: str_like(r["s"], "%b")),
    ("s like '%x%'", lambda r: str_like(r["s"], "%x%")),
    ("s like 'ab'", lambda r: str_like(r["s"], "ab")),
    ("s like 'a_'", lambda r: str_like(r["s"], "a_")),
    ("s like '_%_'", lambda r: str_like(r["s"], "_%_")),
    (r"s like '%\\%%'", lambda r: str_like(r["s"], "%\\%%")),
    (r"s like '%\\_'", lambda r: str_like(r["s"], "%\\_")),
    ("s like '%é%'", lambda r: str_like(r["s"], "%é%")),
    ("s like ''", lambda r: str_like(r["s"], "")),
    ("s like '%'", lambda r: str_like(r["s"], "%")),
    ("not (s like 'a%')", lambda r: NOT(str_like(r["s"], "a%"))),
    # logic and precedence: not > and > or
    ("i32 > 0 or i8 > 0 and b", lambda r: OR(pos(r, "i32"), AND(pos(r, "i8"), bool_col(r["b"])))),
    ("(i32 > 0 or i8 > 0) and b", lambda r: AND(OR(pos(r, "i32"), pos(r, "i8")), bool_col(r["b"]))),
    ("i32 > 0 and i8 > 0 or b", lambda r: OR(AND(pos(r, "i32"), pos(r, "i8")), bool_col(r["b"]))),
    ("i32 > 0 and (i8 > 0 or b)", lambda r: AND(pos(r, "i32"), OR(pos(r, "i8"), bool_col(r["b"])))),
    ("not i32 > 0 and i8 > 0", lambda r: AND(NOT(cmp(r["i32"], ">", 0)), cmp(r["i8"], ">", 0))),
    ("!(i16 > 0 && d > 0)", lambda r: NOT(AND(cmp(r["i16"], ">", 0), cmp(r["d"], ">", 0)))),
    ("not not (i16 > 0)", lambda r: NOT(NOT(cmp(r["i16"], ">", 0)))),
    ("i16 > 0 OR NOT d > 0", lambda r: OR(cmp(r["i16"], ">", 0), NOT(cmp(r["d"], ">", 0)))),
    ("not (i16 > 0 or b)", lambda r: NOT(OR(cmp(r["i16"], ">", 0), bool_col(r["b"])))),
    # arithmetic
    ("i32 * 2 + 1 > 10", lambda r: arith(r["i32"], lambda v: v * 2 + 1, ">", 10)),
    ("i32 % 3 == 0", lambda r: arith(r["i32"], lambda v: c_mod(v, 3), "==", 0)),
    ("i32 % 4 == -1", lambda r: arith(r["i32"], lambda v: c_mod(v, 4), "==", -1)),
    ("i32 / 7 == -2", lambda r: arith(r["i32"], lambda v: c_div(v, 7), "==", -2)),
    ("i16 - i32 >= 5", lambda r: arith(r["i16"], lambda v: v - r["i32"], ">=", 5)),
    ("i8 ** 2 < 100", lambda r: arith(r["i8"], lambda v: float(v) ** 2, "<", 100)),
    ("-i32 > 3", lambda r: arith(r["i32"], lambda v: -v, ">", 3)),
    ("d * 2 < 1.5", lambda r: arith(r["d"], lambda v: v * 2, "<", 1.5)),
    ("d / 2 >= 1", lambda r: arith(r["d"], lambda v: v / 2, ">=", 1)),
    ("i64 + 2**3 > 10", lambda r: arith(r["i64"], lambda v: v + 8, ">", 10)),
    ("1 + i32 * -1 > 0", lambda r: arith(r["i32"], lambda v: 1 - v, ">", 0)),
    ("i32 % i16 == 0", lambda r: _mod_fields(r["i32"], r["i16"])),
    # JSON field paths: compared by value type
    ("meta['n'] > 0", lambda r: jcmp(M(r), ("n",), ">", 0)),
    ("meta['n'] == 1.0", lambda r: jcmp(M(r), ("n",), "==", 1.0)),
    ("meta['n'] <= 'ab'", lambda r: jcmp(M(r), ("n",), "<=", "ab")),
    ("meta['n'] == true", lambda r: jcmp(M(r), ("n",), "==", True)),
    ('meta["tag"] == "red"', lambda r: jcmp(M(r), ("tag",), "==", "red")),
    ('meta["tag"] != "red"', lambda r: jcmp(M(r), ("tag",), "!=", "red")),
    ("meta['o']['x'] >= 1", lambda r: jcmp(M(r), ("o", "x"), ">=", 1)),
    ("meta['o']['y'][0] == 1", lambda r: jcmp(M(r), ("o", "y", 0), "==", 1)),
    ("meta['arr'][1] < 3", lambda r: jcmp(M(r), ("arr", 1), "<", 3)),
    ("not (meta['n'] > 0)", lambda r: NOT(jcmp(M(r), ("n",), ">", 0))),
    ("1 < meta['n'] < 4", lambda r: AND(jcmp(M(r), ("n",), ">", 1), jcmp(M(r), ("n",), "<", 4))),
    ("meta['n'] in [1, 2, 'a', true]", lambda r: jin(M(r), ("n",), [1, 2, "a", True])),
    ("meta['n'] not in [0, 1]", lambda r: NOT(jin(M(r), ("n",), [0, 1]))),
    ("meta['tag'] like 're%'", lambda r: jlike(M(r), ("tag",), "re%")),
    ("meta['n'] * 2 > 3", lambda r: jarith(M(r), ("n",), lambda v: v * 2, ">", 3)),
    ("meta['n'] % 2 == 1", lambda r: jarith(M(r), ("n",), lambda v: np.fmod(v, 2), "==", 1)),
    # dynamic field: bare keys and $meta
    ("k > 4", lambda r: jcmp(D(r), ("k",), ">", 4)),
    ("k == 'ab'", lambda r: jcmp(D(r), ("k",), "==", "ab")),
    ('$meta["color"] == "red"', lambda r: jcmp(D(r), ("color",), "==", "red")),
    ("color in ['red', 'blue']", lambda r: jin(D(r), ("color",), ["red", "blue"])),
    ("lst[0] == 2", lambda r: jcmp(D(r), ("lst", 0), "==", 2)),
    ("k['x'] >= 1", lambda r: jcmp(D(r), ("k", "x"), ">=", 1)),
    ("nothing_here == 1", lambda r: (False, True)),
    ("not (nothing_here == 1)", lambda r: (True, True)),
    # functions
    ("json_contains(meta['arr'], 2)", lambda r: contains(M(r), ("arr",), "one", 2)),
    ("json_contains(meta['arr'], 'a')", lambda r: contains(M(r), ("arr",), "one", "a")),
    ("json_contains(meta['arr'], [1, 2])", lambda r: contains(M(r), ("arr",), "one", [1, 2])),
    ("JSON_CONTAINS_ALL(meta['arr'], [1, 2])", lambda r: contains(M(r), ("arr",), "all", [1, 2])),
    ("json_contains_any(meta['arr'], [0, 'b'])", lambda r: contains(M(r), ("arr",), "any", [0, "b"])),  # noqa: E501
    ("array_contains(lst, 3)", lambda r: contains(D(r), ("lst",), "one", 3)),
    ("array_contains_all(lst, [])", lambda r: contains(D(r), ("lst",), "all", [])),
    ("array_contains_any($meta['lst'], [1, 5])", lambda r: contains(D(r), ("lst",), "any", [1, 5])),
    ("array_length(meta['arr']) == 2", lambda r: array_len(M(r), ("arr",), "==", 2)),
    ("array_length(lst) > 1", lambda r: array_len(D(r), ("lst",), ">", 1)),
    # null handling
    ("i16 is null", lambda r: (r["i16"] is None, True)),
    ("i16 IS NOT NULL", lambda r: (r["i16"] is not None, True)),
    ("meta is null", lambda r: (r["meta"] is None, True)),
    ("meta['n'] is null", lambda r: (jnull(M(r), ("n",)), True)),
    ("meta['n'] is not null", lambda r: (not jnull(M(r), ("n",)), True)),
    ("i16 is null or i16 > 5", lambda r: OR((r["i16"] is None, True), cmp(r["i16"], ">", 5))),
    ("not (i16 is null)", lambda r: (r["i16"] is not None, True)),
    ("exists meta['o']", lambda r: (M(r) is not None and "o" in M(r), True)),
    ("exists k", lambda r: ("k" in D(r), True)),
    ("exists meta['o']['x'] and not exists color",
     lambda r: (get(M(r), "o", "x") is not MISSING and "color" not in D(r), True)),
    # constants
    ("true", lambda r: (True, True)),
    ("1 > 2 or i32 > 0", lambda r: OR((False, True), cmp(r["i32"], ">", 0))),
]  # fmt: skip


def pos(row: Row, name: str) -> Pair:
    return cmp(row[name], ">", 0)


def _in(value: Any, values: list[Any]) -> Pair:
    if value is None:
        return False, False
    return value in values, True


def _mod_fields(a: Any, b: Any) -> Pair:
    if a is None or b is None:
        return False, False
    if b == 0:
        return False, True
    return c_mod(a, b) == 0, True


@pytest.mark.parametrize(("text", "oracle"), CASES, ids=[c[0] for c in CASES])
def test_evaluate_matches_oracle(
    text: str, oracle: Callable[[Row], Pair], rows: list[Row], table: Any
) -> None:
    mask = evaluate(parse(text, SCHEMA), table)
    assert mask.dtype == np.bool_
    assert mask.shape == (len(rows),)
    expected = np.array([oracle(row)[0] for row in rows], dtype=bool)
    mismatches = [rows[i]["id"] for i in np.flatnonzero(mask != expected)]
    assert not mismatches, f"{text}: rows with id {mismatches[:10]} disagree with the oracle"


def test_cases_split_the_rows(rows: list[Row]) -> None:
    """A case that matches every row or none proves little; keep most of them selective."""
    trivial = []
    for text, oracle in CASES:
        hits = sum(oracle(row)[0] for row in rows)
        if hits in (0, len(rows)):
            trivial.append(text)
    assert len(trivial) <= 8, trivial


def test_shared_cache_gives_same_answers(table: Any) -> None:
    cache: dict[Any, Any] = {}
    for text, _ in CASES:
        expr = parse(text, SCHEMA)
        assert np.array_equal(evaluate(expr, table, cache), evaluate(expr, table)), text
    assert cache, "JSON paths and columns should have been cached"


# Compositions of the cases above under and / or / not, with random nesting.
_ATOMS = [case for case in CASES if "(" not in case[0] and " or " not in case[0].lower()]


def _compositions() -> st.SearchStrategy[tuple[str, Callable[[Row], Pair]]]:
    atoms = st.sampled_from(_ATOMS)

    def extend(
        children: st.SearchStrategy[tuple[str, Callable[[Row], Pair]]],
    ) -> st.SearchStrategy[tuple[str, Callable[[Row], Pair]]]:
        def join(word: str, combine: Callable[..., Pair]) -> Any:
            return st.tuples(children, children).map(
                lambda pair: (
                    f"({pair[0][0]}) {word} ({pair[1][0]})",
                    lambda r, a=pair[0][1], b=pair[1][1]: combine(a(r), b(r)),
                )
            )

        negated = children.map(lambda c: (f"not ({c[0]})", lambda r, f=c[1]: NOT(f(r))))
        return join("and", AND) | join("||", OR) | join("&&", AND) | join("or", OR) | negated

    return st.recursive(atoms, extend, max_leaves=6)


@settings(max_examples=60, deadline=None)
@given(case=_compositions())
def test_random_compositions_match_oracle(
    case: tuple[str, Callable[[Row], Pair]], rows: list[Row], table: Any
) -> None:
    text, oracle = case
    mask = evaluate(parse(text, SCHEMA), table)
    expected = np.array([oracle(row)[0] for row in rows], dtype=bool)
    assert np.array_equal(mask, expected), text
