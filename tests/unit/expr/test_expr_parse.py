"""Parsing: literals, precedence, templates, the tree's shape, and every kind of refusal."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pyarrow as pa
import pytest
from expr_data import SCHEMA

from elanus.errors import ExpressionError
from elanus.expr import (
    MATCH_ALL,
    And,
    Arithmetic,
    Compare,
    Constant,
    FieldRef,
    InList,
    JsonPath,
    Like,
    Literal,
    Not,
    Or,
    evaluate,
    parse,
    primary_keys_if_simple,
    referenced_fields,
)
from elanus.schema import CollectionSchema, DataType, FieldSchema

STRICT = CollectionSchema(
    name="strict",
    fields=(
        FieldSchema("pk", DataType.VARCHAR, is_primary=True, type_params={"max_length": "8"}),
        FieldSchema("n", DataType.INT64),
        FieldSchema("doc", DataType.JSON),
        FieldSchema("v", DataType.FLOAT_VECTOR, type_params={"dim": "4"}),
    ),
)


def right_literal(text: str) -> object:
    expr = parse(f"i64 == {text}", SCHEMA)
    assert isinstance(expr, Compare) and isinstance(expr.right, Literal)
    return expr.right.value


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("42", 42),
        ("0x1F", 31),
        ("0b101", 5),
        ("017", 15),
        ("0", 0),
        ("-9223372036854775807", -(2**63) + 1),
        ("1.5", 1.5),
        (".5", 0.5),
        ("2.", 2.0),
        ("1e3", 1000.0),
        ("2.5E-1", 0.25),
        ("-2 ** 2", -4.0),
        ("2 ** 3 ** 2", 512.0),
        ("7 / 2", 3),
        ("-7 / 2", -3),
        ("-7 % 3", -1),
        ("7.0 / 2", 3.5),
        ("(1 + 2) * 3", 9),
        ("1 + 2 * 3", 7),
        ("10 - 4 - 3", 3),
    ],
)
def test_numeric_literals_and_constant_folding(text: str, value: object) -> None:
    folded = right_literal(text)
    assert folded == value and type(folded) is type(value)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        (r'"plain"', "plain"),
        (r"'single'", "single"),
        (r'"tab\there"', "tab\there"),
        (r'"quote\"inside"', 'quote"inside'),
        (r"'it\'s'", "it's"),
        (r'"\x41\101\u00e9"', "AAé"),
        (r'"back\\slash"', "back\\slash"),
        (r'"50\%"', "50\\%"),
        (r'r"\d+\n"', "\\d+\\n"),
        ('"中文"', "中文"),
        ('""', ""),
    ],
)
def test_string_literals(text: str, value: str) -> None:
    expr = parse(f"s == {text}", SCHEMA)
    assert isinstance(expr, Compare) and expr.right == Literal(value)


@pytest.mark.parametrize("spelling", ["true", "True", "TRUE", "false", "False", "FALSE"])
def test_boolean_spellings(spelling: str) -> None:
    expr = parse(f"b == {spelling}", SCHEMA)
    assert isinstance(expr, Compare) and expr.right == Literal(spelling.lower() == "true")


def test_empty_text_means_no_filter() -> None:
    for text in ("", "   ", "\n\t"):
        assert parse(text, SCHEMA) == MATCH_ALL == Constant(True)
    assert evaluate(MATCH_ALL, pa.table({"x": [1, 2, 3]})).tolist() == [True, True, True]


def test_precedence_not_over_and_over_or() -> None:
    expr = parse("i8 > 1 or not i16 > 2 and i32 > 3", SCHEMA)
    assert isinstance(expr, Or) and len(expr.operands) == 2
    conjunction = expr.operands[1]
    assert isinstance(conjunction, And) and isinstance(conjunction.operands[0], Not)
    assert parse("i8 > 1 && i16 > 2 || i32 > 3", SCHEMA) == parse(
        "(i8 > 1 and i16 > 2) or i32 > 3", SCHEMA
    )


def test_and_or_chains_are_flattened() -> None:
    expr = parse("i8 > 1 and (i16 > 2 and i32 > 3) and b", SCHEMA)
    assert isinstance(expr, And) and len(expr.operands) == 4


def test_arithmetic_precedence_in_the_tree() -> None:
    expr = parse("i32 + i8 * 2 > 0", SCHEMA)
    assert isinstance(expr, Compare) and isinstance(expr.left, Arithmetic)
    assert expr.left.op == "+" and isinstance(expr.left.right, Arithmetic)
    assert expr.left.right.op == "*"


def test_constant_on_the_left_is_flipped() -> None:
    assert parse("3 < i32", SCHEMA) == parse("i32 > 3", SCHEMA)


def test_keywords_are_not_prefixes_of_names() -> None:
    schema = CollectionSchema(
        "k",
        tuple(
            FieldSchema(name, DataType.INT64)
            for name in ("android", "order", "notes", "inside", "likes", "island", "nullity")
        ),
    )
    expr = parse(
        "android > 1 and order < 2 or not notes == 3 and inside in [1] and likes != 0 "
        "and island is not null and nullity >= 0",
        schema,
    )
    assert referenced_fields(expr) == {
        "android",
        "order",
        "notes",
        "inside",
        "likes",
        "island",
        "nullity",
    }


def test_tree_is_immutable_and_hashable() -> None:
    expr = parse("i32 in [1, 2] and meta['a'][0] like 'x%'", SCHEMA)
    assert isinstance(expr, And)
    with pytest.raises(dataclasses.FrozenInstanceError):
        expr.operands = ()  # type: ignore[misc]
    assert hash(expr) == hash(parse("i32 in [1, 2] and meta['a'][0] like 'x%'", SCHEMA))
    like = expr.operands[1]
    assert isinstance(like, Like) and like.operand == JsonPath("meta", ("a", 0), nullable=True)


def test_dynamic_names_resolve_to_meta_paths() -> None:
    expr = parse('color == "red" and $meta["size"][1] > 2', SCHEMA)
    assert isinstance(expr, And)
    first, second = expr.operands
    assert isinstance(first, Compare) and first.left == JsonPath("$meta", ("color",))
    assert isinstance(second, Compare) and second.left == JsonPath("$meta", ("size", 1))


# ---------------------------------------------------------------- templates


def test_template_values_fill_placeholders() -> None:
    values = {"ids": [1, 4, 7], "low": 3, "name": "ab", "flag": True, "big": np.int64(5)}
    expr = parse(
        "id in {ids} and i32 > {low} and s == {name} and b == {flag} and i8 < {big}",
        SCHEMA,
        values,
    )
    expected = parse("id in [1, 4, 7] and i32 > 3 and s == 'ab' and b == true and i8 < 5", SCHEMA)
    assert expr == expected


def test_template_values_nested_lists_and_numpy_arrays() -> None:
    expr = parse(
        "json_contains_any(meta['arr'], {wanted}) and id in {ids}",
        SCHEMA,
        {"wanted": [[1, 2], "a"], "ids": np.array([3, 5])},
    )
    assert isinstance(expr, And)
    assert expr.operands[1] == InList(FieldRef("id", DataType.INT64), (3, 5))


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (None, "template variable {x} has no value at line 1, column 8"),
        ({"y": 1}, "template variable {x} has no value"),
        ({"x": {"a": 1}}, "unsupported template value of type dict"),
        ({"x": 2**70}, "out of the int64 range"),
        ({"x": float("nan")}, "not finite"),
        ({"x": "text"}, "cannot compare field 'i32' (INT32) with string constant"),
    ],
)
def test_template_errors(values: dict | None, message: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        parse("i32 > {x}", SCHEMA, values)
    assert message in str(caught.value)


# ------------------------------------------------------------------ errors


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # syntax, with the position of the offending token
        ("i32 >", "ends too early"),
        ("i32 > 1 and", "ends too early"),
        ("i32 >> 1", "line 1, column 6"),
        ("i32 @ 1", "line 1, column 5: unexpected character '@'"),
        ("(i32 > 1", "ends too early"),
        ("i32 > 1)", "line 1, column 8"),
        ("i32 = 1", "line 1, column 5"),
        ('s == "open', "unterminated string"),
        ("i32 in [1, 2", "ends too early"),
        ("i32 > 1\n  and ) ", "line 2, column 7"),
        ("i32 not like 'a'", "line 1, column 9"),
        ("s like 'a' like 'b'", "line 1"),
        ("i32 > 99999999999999999999", "out of the int64 range at line 1, column 7"),
        ("1 < i32 > 0", "chained comparison must be a range such as 1 < x < 5"),
        ("1 < i32 < 5 < 7", "chained comparison"),
        # names
        ("vec > 1", "cannot filter on vector field 'vec' at line 1, column 1"),
        ("i32['a'] > 1", "field 'i32' is INT32, not JSON"),
        ("frobnicate(i32)", "unknown function 'frobnicate' at line 1, column 1"),
        # types
        ("s > 1", "cannot compare field 's' (VARCHAR) with int constant 1 at line 1, column 3"),
        ("i32 == 'x'", "cannot compare field 'i32' (INT32) with string constant"),
        ("s == i32", "cannot compare field 's' (VARCHAR) with field 'i32'"),
        ("b == 1", "cannot compare field 'b' (BOOL)"),
        ("b > true", "booleans support only == and !="),
        ("i32 like 'a%'", "like needs a VarChar field or a JSON path"),
        ("s like 5", "the pattern of like must be a string constant"),
        ("s in [1, 2]", "list element 1 does not match field 's'"),
        ("i32 in ['a']", "list element 'a' does not match"),
        ("i32 in 5", "in needs a list"),
        ("i32 == [1]", "use in / not in"),
        ("s + 1 > 2", "+ needs numbers, got field 's'"),
        ("f % 2 == 1", "% needs integers"),
        ("i32 / 0 > 1", "division by zero at line 1, column 5"),
        ("i32 % (2 - 2) == 1", "division by zero"),
        ("(i32 > 1) + 1 > 0", "expected a value, got a condition"),
        ("i32", "expected a condition, got field 'i32' (INT32) at line 1, column 1"),
        ("i32 > 1 and 5", "expected a condition, got int constant 5"),
        ("meta['a'] > i32", "a JSON value compares only with a constant"),
        ("meta['a'] + 1 == 'x'", "cannot compare a number with string constant"),
        ("i32 is null is null", "line 1"),
        ("exists i32", "exists needs a JSON path"),
        ("json_contains(i32, 1)", "json_contains needs a JSON path or ARRAY field"),
        ("json_contains(meta['a'])", "json_contains takes two arguments"),
        ("json_contains_all(meta['a'], 1)", "must be a list"),
        ("json_contains(meta['a'], i32)", "must be a constant"),
        ("array_length(meta['a'], 1) > 0", "array_length takes one argument"),
        ("[i32] == [1]", "list elements must be constants"),
        ("2 ** 2000 > i32", "cannot compute constant 2 ** 2000"),
    ],
)
def test_malformed_expressions_are_refused_with_a_position(text: str, message: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        parse(text, SCHEMA)
    error = caught.value
    assert message in error.detail
    assert re.search(r"line \d+, column \d+|offset \d+", error.detail), error.detail
    assert error.code == 1100 and error.reason.startswith("invalid expression[")


def test_without_dynamic_field_unknown_names_and_meta_are_errors() -> None:
    with pytest.raises(ExpressionError, match="field 'color' does not exist"):
        parse("color == 'red'", STRICT)
    with pytest.raises(ExpressionError, match=r"no dynamic field \(\$meta\)"):
        parse("$meta['color'] == 'red'", STRICT)
    assert referenced_fields(parse("doc['a'] == 1", STRICT)) == {"doc"}


# --------------------------------------------------- fields and fast paths


def test_referenced_fields() -> None:
    expr = parse(
        "i32 + i8 > 1 or meta['a'] == 1 or color == 'x' or array_length(lst) > 0 or s is null",
        SCHEMA,
    )
    assert referenced_fields(expr) == {"i32", "i8", "meta", "$meta", "s"}
    assert referenced_fields(MATCH_ALL) == set()


@pytest.mark.parametrize(
    ("text", "keys"),
    [
        ("id in [3, 1, 3, 2]", [3, 1, 2]),
        ("id == 7", [7]),
        ("7 == id", [7]),
        ("id in {ids}", [10, 11]),
        ("id in []", []),
        ("id in [1] and id in [2]", None),
        ("id not in [1]", None),
        ("id > 1", None),
        ("id != 1", None),
        ("i64 in [1]", None),
        ("id in [1.0]", None),
        ("id == 1.0", None),
        ("", None),
    ],
)
def test_primary_keys_if_simple(text: str, keys: list | None) -> None:
    expr = parse(text, SCHEMA, {"ids": [10, 11]})
    assert primary_keys_if_simple(expr, "id") == keys


def test_primary_keys_if_simple_for_varchar_keys() -> None:
    assert primary_keys_if_simple(parse('pk in ["a", "b"]', STRICT), "pk") == ["a", "b"]
    assert primary_keys_if_simple(parse("pk == 'z'", STRICT), "pk") == ["z"]
