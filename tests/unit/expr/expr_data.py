"""A random segment with every scalar type, a JSON field and dynamic keys, kept as
both a pyarrow Table (what ``evaluate`` sees) and plain Python rows (what the
tests' oracle reads)."""

from __future__ import annotations

import json
import random
from typing import Any

import pyarrow as pa

from elanus.schema import DYNAMIC_FIELD_NAME, CollectionSchema, DataType, FieldSchema

ROWS = 200

SCHEMA = CollectionSchema(
    name="things",
    enable_dynamic_field=True,
    fields=(
        FieldSchema("id", DataType.INT64, is_primary=True),
        FieldSchema("i8", DataType.INT8),
        FieldSchema("i16", DataType.INT16, nullable=True),
        FieldSchema("i32", DataType.INT32),
        FieldSchema("i64", DataType.INT64),
        FieldSchema("f", DataType.FLOAT),
        FieldSchema("d", DataType.DOUBLE, nullable=True),
        FieldSchema("s", DataType.VARCHAR, type_params={"max_length": "32"}),
        FieldSchema("b", DataType.BOOL, nullable=True),
        FieldSchema("meta", DataType.JSON, nullable=True),
        FieldSchema("vec", DataType.FLOAT_VECTOR, type_params={"dim": "2"}),
    ),
)

ARROW_TYPES = {
    "id": pa.int64(),
    "i8": pa.int8(),
    "i16": pa.int16(),
    "i32": pa.int32(),
    "i64": pa.int64(),
    "f": pa.float32(),
    "d": pa.float64(),
    "s": pa.string(),
    "b": pa.bool_(),
    "meta": pa.string(),
    "vec": pa.list_(pa.float32(), 2),
    DYNAMIC_FIELD_NAME: pa.string(),
}

_STRING_ALPHABET = ["a", "b", "x", "%", "_", "é", "\\", "\n"]


def _maybe_null(rng: random.Random, value: Any, rate: float = 0.15) -> Any:
    return None if rng.random() < rate else value


def _random_scalar(rng: random.Random) -> Any:
    """A JSON value of a random type, numbers small so comparisons split the rows."""
    kind = rng.randrange(7)
    if kind == 0:
        return rng.randint(-5, 5)
    if kind == 1:
        return rng.choice([-2.5, -1.0, 0.0, 0.5, 1.0, 2.5, 3.0])
    if kind == 2:
        return rng.choice(["a", "ab", "abc", "b", "xa", ""])
    if kind == 3:
        return rng.choice([True, False])
    if kind == 4:
        return None
    if kind == 5:
        return [rng.randint(0, 4) for _ in range(rng.randint(0, 3))]
    return {"x": rng.randint(0, 3)}


def _random_json_doc(rng: random.Random) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    if rng.random() < 0.85:
        doc["n"] = _random_scalar(rng) if rng.random() < 0.4 else rng.randint(-5, 5)
    if rng.random() < 0.7:
        doc["tag"] = rng.choice(["red", "green", "blue", "re%d", "", "Red"])
    if rng.random() < 0.7:
        doc["arr"] = rng.choice(
            [
                [rng.randint(0, 5) for _ in range(rng.randint(0, 4))],
                ["a", "b"][: rng.randint(0, 2)],
                [1, "a", True, [1, 2]],
                "not-an-array",
            ]
        )
    if rng.random() < 0.5:
        doc["o"] = {"x": _random_scalar(rng), "y": [rng.randint(0, 2)]}
    return doc


def make_rows(seed: int = 7, count: int = ROWS) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    rows = []
    for index in range(count):
        dynamic: dict[str, Any] = {}
        if rng.random() < 0.8:
            dynamic["k"] = _random_scalar(rng) if rng.random() < 0.5 else rng.randint(0, 9)
        if rng.random() < 0.6:
            dynamic["color"] = rng.choice(["red", "green", "blue"])
        if rng.random() < 0.5:
            dynamic["lst"] = [rng.randint(0, 5) for _ in range(rng.randint(0, 4))]
        rows.append(
            {
                "id": index * 3 + 1,
                "i8": rng.randint(-128, 127),
                "i16": _maybe_null(rng, rng.randint(-20, 20)),
                "i32": rng.randint(-50, 50),
                "i64": rng.choice([rng.randint(-(2**40), 2**40), rng.randint(-100, 100)]),
                "f": rng.choice([0.1, 0.2, 0.5, 1.5, -0.1, 2.25, 3.0, rng.uniform(-5, 5)]),
                "d": _maybe_null(rng, rng.choice([0.1, 0.3, -2.0, 7.5, rng.uniform(-10, 10)])),
                "s": "".join(rng.choice(_STRING_ALPHABET) for _ in range(rng.randint(0, 5))),
                "b": _maybe_null(rng, rng.choice([True, False])),
                "meta": _maybe_null(rng, _random_json_doc(rng), rate=0.1),
                "vec": [rng.random(), rng.random()],
                DYNAMIC_FIELD_NAME: dynamic,
            }
        )
    return rows


def rows_to_table(rows: list[dict[str, Any]], chunks: int = 3) -> pa.Table:
    """Several record batches, so evaluation must handle chunked columns."""
    bounds = [len(rows) * i // chunks for i in range(chunks + 1)]
    batches = []
    for start, stop in zip(bounds, bounds[1:], strict=False):
        part = rows[start:stop]
        arrays = []
        for name, arrow_type in ARROW_TYPES.items():
            values = [row[name] for row in part]
            if name in ("meta", DYNAMIC_FIELD_NAME):
                values = [None if v is None else json.dumps(v) for v in values]
            arrays.append(pa.array(values, arrow_type))
        batches.append(pa.RecordBatch.from_arrays(arrays, names=list(ARROW_TYPES)))
    return pa.Table.from_batches(batches)
