"""Scalar indexes answer filters exactly as a scan: random columns (with nulls) and
random comparison expressions, evaluated with and without every index built over them."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from elanus import errors, scalar_index
from elanus.expr import evaluate, parse
from elanus.schema import CollectionSchema, DataType, FieldSchema

SCHEMA = CollectionSchema(
    name="model",
    fields=(
        FieldSchema("id", DataType.INT64, is_primary=True),
        FieldSchema("i8", DataType.INT8, nullable=True),
        FieldSchema("n", DataType.INT64, nullable=True),
        FieldSchema("f", DataType.FLOAT, nullable=True),
        FieldSchema("d", DataType.DOUBLE, nullable=True),
        FieldSchema("b", DataType.BOOL, nullable=True),
        FieldSchema("s", DataType.VARCHAR, nullable=True, type_params={"max_length": "64"}),
    ),
)
TYPES = {
    "i8": pa.int8(),
    "n": pa.int64(),
    "f": pa.float32(),
    "d": pa.float64(),
    "b": pa.bool_(),
    "s": pa.string(),
}
SMALL_INTS = st.integers(-5, 5)
FLOATS = st.sampled_from([-2.5, -1.0, 0.0, 0.5, 1.0, 1.5, 3.0, 1e30])
WORDS = st.sampled_from(["", "a", "ab", "abc", "b", "ba", "\u00e9", "a\u00e9", "z", "\U0010ffff"])


def _column(name: str, rows: int) -> st.SearchStrategy[list[object]]:
    value: st.SearchStrategy[object] = {
        "i8": SMALL_INTS,
        "n": st.one_of(SMALL_INTS, st.integers(-(2**62), 2**62)),
        "f": FLOATS,
        "d": FLOATS,
        "b": st.booleans(),
        "s": WORDS,
    }[name]
    return st.lists(st.one_of(st.none(), value), min_size=rows, max_size=rows)


@st.composite
def tables(draw: st.DrawFn) -> pa.Table:
    rows = draw(st.integers(0, 40))
    columns = {"id": pa.array(range(rows), pa.int64())}
    for name, kind in TYPES.items():
        columns[name] = pa.array(draw(_column(name, rows)), kind)
    return pa.table(columns)


def _literal(name: str, draw: st.DrawFn) -> str:
    if name == "s":
        return json.dumps(draw(WORDS), ensure_ascii=False)
    if name == "b":
        return draw(st.sampled_from(["true", "false"]))
    if name in ("f", "d"):
        return repr(draw(st.one_of(FLOATS, SMALL_INTS)))
    return str(draw(st.one_of(SMALL_INTS, st.sampled_from([2**62, 300, -300, 2.5]))))


@st.composite
def leaves(draw: st.DrawFn) -> str:
    name = draw(st.sampled_from(sorted(TYPES)))
    shape = draw(st.sampled_from(["cmp", "in", "range", "like", "null"]))
    if shape == "null":
        return f"{name} is {draw(st.sampled_from(['', 'not ']))}null"
    if shape == "like" and name == "s":
        prefix = draw(st.sampled_from(["a", "ab", "\u00e9", "z", "\U0010ffff", ""]))
        return f's like "{prefix}%"'
    if shape == "in":
        values = ", ".join(_literal(name, draw) for _ in range(draw(st.integers(1, 3))))
        return f"{name} {draw(st.sampled_from(['in', 'not in']))} [{values}]"
    if shape == "range" and name not in ("b",):
        low, high = _literal(name, draw), _literal(name, draw)
        return f"{low} {draw(st.sampled_from(['<', '<=']))} {name} < {high}"
    ops = ["==", "!="] if name == "b" else ["==", "!=", "<", "<=", ">", ">="]
    return f"{name} {draw(st.sampled_from(ops))} {_literal(name, draw)}"


@st.composite
def expressions(draw: st.DrawFn, depth: int = 2) -> str:
    if depth == 0 or draw(st.booleans()):
        return draw(leaves())
    left, right = draw(expressions(depth=depth - 1)), draw(expressions(depth=depth - 1))
    form = draw(st.sampled_from(["and", "or", "not"]))
    if form == "not":
        return f"not ({left})"
    return f"({left}) {form} ({right})"


def _indexes(table: pa.Table, index_type: str) -> dict[str, scalar_index.ScalarLookup]:
    built = {}
    for name in TYPES:
        field = SCHEMA.field(name)
        assert field is not None
        try:
            kind, _ = scalar_index.check_scalar_index(index_type, field, {})
        except errors.ParameterInvalid:
            continue
        data = scalar_index.build_scalar_index(kind, table.column(name))
        built[name] = scalar_index.load_scalar_index(data)
    return built


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    table=tables(),
    text=expressions(),
    index_type=st.sampled_from(["INVERTED", "STL_SORT", "BITMAP", "TRIE", ""]),
)
def test_index_answers_equal_a_scan(table: pa.Table, text: str, index_type: str) -> None:
    try:
        parsed = parse(text, SCHEMA)
    except errors.ElanusError:
        return  # the type checker refuses it, with or without an index
    scanned = evaluate(parsed, table)
    indexed = evaluate(parsed, table, indexes=_indexes(table, index_type))
    assert np.array_equal(scanned, indexed), text


def test_the_index_answers_leaves_it_can() -> None:
    table = pa.table({"s": pa.array(["ab", None, "b", "abc"]), "id": pa.array([0, 1, 2, 3])})
    lookup = scalar_index.load_scalar_index(scalar_index.build_scalar_index("TRIE", table["s"]))
    assert lookup.prefixed("ab") is not None
    assert list(np.nonzero(lookup.prefixed("ab"))[0]) == [0, 3]  # type: ignore[arg-type]
    assert list(np.nonzero(lookup.compare(">=", "b"))[0]) == [2]  # type: ignore[arg-type]
    assert lookup.compare("<", 3) is None  # a number against strings: the scan decides


def test_floats_with_nan_are_not_served() -> None:
    column = pa.array([1.0, float("nan"), None], pa.float64())
    lookup = scalar_index.load_scalar_index(scalar_index.build_scalar_index("STL_SORT", column))
    assert lookup.compare("!=", 1.0) is None


@pytest.mark.parametrize(
    ("index_type", "field", "message"),
    [
        ("TRIE", FieldSchema("n", DataType.INT64), "TRIE are only supported on varchar field"),
        (
            "STL_SORT",
            FieldSchema("b", DataType.BOOL),
            "STL_SORT are only supported on numeric or varchar field, got Bool",
        ),
        (
            "BITMAP",
            FieldSchema("f", DataType.FLOAT),
            "bitmap index are only supported on bool, int, string and array field",
        ),
        (
            "BITMAP",
            FieldSchema("id", DataType.INT64, is_primary=True),
            "create bitmap index on primary key not supported",
        ),
        ("BITMAP", FieldSchema("j", DataType.JSON), "bitmap index are only supported"),
        ("FOO", FieldSchema("n", DataType.INT64), "invalid index type: FOO"),
    ],
)
def test_refusals_use_milvus_messages(index_type: str, field: FieldSchema, message: str) -> None:
    with pytest.raises(errors.ParameterInvalid) as caught:
        scalar_index.check_scalar_index(index_type, field, {})
    assert caught.value.code == 1100
    assert message in caught.value.reason
    assert caught.value.reason.endswith(
        "invalid parameter[expected=valid index params][actual=invalid index params]"
    )


def test_autoindex_on_a_scalar_builds_inverted() -> None:
    kind, _ = scalar_index.check_scalar_index("", FieldSchema("n", DataType.INT64), {})
    assert kind == "INVERTED"


@pytest.mark.parametrize(
    "text", ["n > 2", "n in [1, 5]", "1 <= n < 4", 's like "ab%"', 's == "b"', "b == true"]
)
def test_the_evaluator_takes_the_leaf_from_the_index(text: str) -> None:
    """An index built over other values than the table's shows where the answer comes from."""
    table = pa.table(
        {
            "n": pa.array([1, 2, 3, 4, 5]),
            "s": pa.array(["ab", "abc", "b", "c", None]),
            "b": pa.array([True, False, True, None, False]),
        }
    )
    shifted = pa.table(
        {
            "n": pa.array([5, 4, 3, 2, 1]),
            "s": pa.array(["c", "b", "abc", "ab", None]),
            "b": pa.array([False, True, False, None, True]),
        }
    )
    parsed = parse(text, SCHEMA)
    built = {
        name: scalar_index.load_scalar_index(
            scalar_index.build_scalar_index("INVERTED", shifted.column(name))
        )
        for name in ("n", "s", "b")
    }
    assert np.array_equal(evaluate(parsed, table, indexes=built), evaluate(parsed, shifted)), (
        "the index's answer was not used"
    )
    assert np.array_equal(evaluate(parsed, shifted, indexes=built), evaluate(parsed, shifted))
