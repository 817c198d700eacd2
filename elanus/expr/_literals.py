"""Turning literal tokens and template values into Python values.

Kept apart from the tree builder because the rules are fiddly (C-style string
escapes, octal integers, int64 bounds) and worth testing on their own.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from elanus.expr._ast import LiteralValue

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

_SIMPLE_ESCAPES = {
    "n": "\n",
    "t": "\t",
    "r": "\r",
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "v": "\v",
    "\\": "\\",
    '"': '"',
    "'": "'",
    "?": "?",
}

_ESCAPE = re.compile(
    r"\\(?:(?P<octal>[0-7]{1,3})|x(?P<hex>[0-9a-fA-F]+)|u(?P<u4>[0-9a-fA-F]{4})"
    r"|U(?P<u8>[0-9a-fA-F]{8})|(?P<other>.))",
    re.DOTALL,
)


class LiteralError(ValueError):
    """A literal that lexes but has no value (out of range, bad escape)."""


def string_value(token_text: str) -> str:
    """The value of a quoted string token.

    Escapes follow C (``\\n``, ``\\x41``, ``\\101``, ``\\u00e9``); an unknown
    escape such as ``\\%`` keeps its backslash, so that ``like "50\\%"``
    reaches the pattern matcher as an escaped percent sign. A leading ``r``
    makes the string raw: every backslash stays.
    """
    raw = token_text[0] in "rR"
    body = token_text[2:-1] if raw else token_text[1:-1]
    if raw:
        return body
    return _ESCAPE.sub(_unescape_one, body)


def _unescape_one(match: re.Match[str]) -> str:
    if match["octal"] is not None:
        return chr(int(match["octal"], 8))
    code = match["hex"] or match["u4"] or match["u8"]
    if code is not None:
        value = int(code, 16)
        if value > 0x10FFFF:
            raise LiteralError(f"escape \\x{code} is beyond Unicode")
        return chr(value)
    other = match["other"]
    return _SIMPLE_ESCAPES.get(other, "\\" + other)


def integer_value(token_text: str) -> int:
    """Decimal, ``0x`` hex, ``0b`` binary or ``0``-prefixed octal, within int64."""
    text = token_text.lower()
    if text.startswith(("0x", "0b")):
        value = int(text, 0)
    elif len(text) > 1 and text.startswith("0"):
        value = int(text, 8)
    else:
        value = int(text)
    if value > INT64_MAX:
        raise LiteralError(f"integer {token_text} is out of the int64 range")
    return value


def float_value(token_text: str) -> float:
    value = float(token_text)
    if not math.isfinite(value):
        raise LiteralError(f"number {token_text} is out of the double range")
    return value


def template_value(value: Any) -> LiteralValue:
    """Check and normalise a value given in ``template_values``.

    Accepts bool, int (int64 range), finite float, str and (nested) lists or
    tuples of those; numpy scalars are unwrapped. Lists become tuples.
    """
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            value = value.item()
        except (TypeError, ValueError):
            value = value.tolist() if hasattr(value, "tolist") else value
    if isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        if not INT64_MIN <= value <= INT64_MAX:
            raise LiteralError(f"integer {value} is out of the int64 range")
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise LiteralError(f"number {value} is not finite")
        return value
    if isinstance(value, Sequence) and not isinstance(value, (bytes, bytearray)):
        return tuple(template_value(v) for v in value)
    if hasattr(value, "tolist"):  # numpy arrays
        return template_value(value.tolist())
    raise LiteralError(f"unsupported template value of type {type(value).__name__}")


def lookup_template(name: str, template_values: Mapping[str, Any] | None) -> LiteralValue:
    if template_values is None or name not in template_values:
        raise LiteralError(f"template variable {{{name}}} has no value")
    return template_value(template_values[name])
