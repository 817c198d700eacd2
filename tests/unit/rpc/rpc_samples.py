"""Sample values built from type hints, and a strict equality for what crossed the wire.

:func:`sample` fills every field of a dataclass with a value that differs from
the field's default, so a codec that drops a field (and lets the default stand
in) fails the round trip. A field of a type this module does not know fails
loudly: teach it here, and teach ``elanus/rpc/codec.py`` to carry it.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import enum
import types
import typing
from typing import Any

import numpy as np
import pyarrow as pa

JSON_ANY = [1, "x", 2.5, {"nested": [True, None]}]


def sample(kind: type, seed: int = 1) -> Any:
    """An instance of dataclass ``kind`` whose every field differs from its default."""
    hints = typing.get_type_hints(kind)
    values = {
        f.name: sample_value(hints[f.name], f.name, seed + 10 * i)
        for i, f in enumerate(dataclasses.fields(kind))
    }
    return kind(**values)


def sample_value(hint: Any, name: str = "v", seed: int = 1) -> Any:
    """A non-default value of type ``hint``; ``seed`` keeps sibling values apart."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return {"any": seed, "list": list(JSON_ANY)}
    if origin in (typing.Union, types.UnionType):
        (present,) = [a for a in args if a is not type(None)]
        return sample_value(present, name, seed)
    if (
        origin is tuple
        and len(args) == 2
        and args[1] is Ellipsis
        or (
            origin is collections.abc.Sequence  # what the roles pass and receive: tuples
        )
    ):
        return (sample_value(args[0], name, seed), sample_value(args[0], name, seed + 1))
    if origin is list:
        return [sample_value(args[0], name, seed), sample_value(args[0], name, seed + 1)]
    if origin is set:
        return {sample_value(args[0], name, seed), sample_value(args[0], name, seed + 1)}
    if origin is dict:
        key = sample_value(args[0], f"{name}_key", seed)
        value = list(JSON_ANY) if args[1] is Any else sample_value(args[1], name, seed)
        return {key: value}
    if isinstance(hint, type):
        return _sample_of_type(hint, name, seed)
    raise TypeError(f"no sample for {hint!r} ({name}); teach rpc_samples and elanus/rpc/codec.py")


def _sample_of_type(hint: type, name: str, seed: int) -> Any:
    if issubclass(hint, enum.Enum):
        return list(hint)[-1]  # the first member is the usual default
    if hint is bool:
        return True
    if hint is int:
        return 1000 + seed
    if hint is float:
        return 0.5 + seed
    if hint is str:
        return f"{name}-{seed}"
    if hint is bytes:
        return f"{name}-{seed}".encode()
    if dataclasses.is_dataclass(hint):
        return sample(hint, seed)
    if hint is np.ndarray:
        return np.arange(6, dtype=np.float32).reshape(2, 3) + seed
    if hint is pa.Array:
        return pa.array([seed, seed + 1, seed + 2], type=pa.int64())
    if hint is pa.Table:
        return sample_table(seed)
    raise TypeError(f"no sample for {hint!r} ({name}); teach rpc_samples and elanus/rpc/codec.py")


def sample_table(seed: int = 1, rows: int = 3) -> pa.Table:
    """Columns of the kinds results carry: ints, strings, JSON bytes, fixed-size vectors."""
    schema = pa.schema(
        [
            pa.field("pk", pa.int64()),
            pa.field("tag", pa.string()),
            pa.field("meta", pa.binary()),
            pa.field("vec", pa.list_(pa.float32(), 2)),
        ],
        metadata={b"origin": b"rpc_samples"},
    )
    return pa.Table.from_pydict(
        {
            "pk": [seed + i for i in range(rows)],
            "tag": [f"t{i}" for i in range(rows)],
            "meta": [b'{"a": 1}'] * rows,
            "vec": [[float(i), float(seed)] for i in range(rows)],
        },
        schema=schema,
    )


def same(a: Any, b: Any) -> bool:
    """Equal in value and in type, down to numpy dtypes and Arrow schemas."""
    if type(a) is not type(b):
        return False
    if dataclasses.is_dataclass(a):
        return all(same(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a))
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and bool(np.array_equal(a, b))
    if isinstance(a, pa.Array):
        return a.type == b.type and a.equals(b)
    if isinstance(a, pa.Table):
        return a.equals(b, check_metadata=True)
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, (set, frozenset)):
        return bool(a == b)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return bool(a == b)


def field_defaults(kind: type) -> dict[str, Any]:
    """Field name -> default value, for the fields that have one."""
    defaults = {}
    for f in dataclasses.fields(kind):
        if f.default is not dataclasses.MISSING:
            defaults[f.name] = f.default
        elif f.default_factory is not dataclasses.MISSING:
            defaults[f.name] = f.default_factory()
    return defaults
