"""Name resolution and type rules: what the parser builds, and what it refuses.

The rules follow Milvus: a VarChar compares only with strings, numbers only
with numbers, booleans only with ``==``/``!=``; JSON values are typed per row,
so they compare with any constant; vector fields cannot be filtered on.
Comparisons between two constants, and arithmetic on constants, fold at parse
time.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from elanus.expr import _ast as ast
from elanus.expr._ast import ValueType
from elanus.schema import DYNAMIC_FIELD_NAME, CollectionSchema, DataType

COMPARE_OPS = ("==", "!=", "<", "<=", ">", ">=")
FLIPPED = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_PY_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_CONTAINS = {
    "json_contains": ast.ContainsMode.ONE,
    "array_contains": ast.ContainsMode.ONE,
    "json_contains_all": ast.ContainsMode.ALL,
    "array_contains_all": ast.ContainsMode.ALL,
    "json_contains_any": ast.ContainsMode.ANY,
    "array_contains_any": ast.ContainsMode.ANY,
}


class Position(Protocol):
    line: int
    column: int


class PositionedError(Exception):
    """A type or name error at a place in the text; becomes ExpressionError."""

    def __init__(self, message: str, where: Position) -> None:
        super().__init__(f"{message} at line {where.line}, column {where.column}")


def describe(node: Any) -> str:
    """How an operand is named in error messages."""
    if isinstance(node, ast.FieldRef):
        return f"field {node.name!r} ({node.data_type.name})"
    if isinstance(node, ast.JsonPath):
        return f"JSON path {node}"
    if isinstance(node, ast.Literal):
        return f"{node.value_type.value} constant {node.value!r}"
    if isinstance(node, ast.PREDICATE_TYPES):
        return "a condition"
    return f"a {value_type(node).value} expression"


def value_type(node: Any) -> ValueType:
    vt = getattr(node, "value_type", None)
    return vt if isinstance(vt, ValueType) else ValueType.BOOL


def truncating_divide(a: int, b: int) -> int:
    quotient = abs(a) // abs(b)
    return quotient if (a >= 0) == (b >= 0) else -quotient


def truncating_modulo(a: int, b: int) -> int:
    return a - b * truncating_divide(a, b)


class Checker:
    """Builds checked nodes for one schema; every method raises PositionedError."""

    def __init__(self, schema: CollectionSchema) -> None:
        self.schema = schema

    # ---- names

    def resolve(
        self, name: str, is_meta: bool, keys: tuple[str | int, ...], where: Position
    ) -> ast.Operand:
        if is_meta:
            if not self.schema.enable_dynamic_field:
                raise PositionedError("the collection has no dynamic field ($meta)", where)
            return ast.JsonPath(DYNAMIC_FIELD_NAME, keys)
        field = self.schema.field(name)
        if field is None or field.is_dynamic:
            if self.schema.enable_dynamic_field:
                return ast.JsonPath(DYNAMIC_FIELD_NAME, (name, *keys))
            raise PositionedError(f"field {name!r} does not exist", where)
        if field.data_type.is_vector:
            raise PositionedError(f"cannot filter on vector field {name!r}", where)
        if field.data_type in (DataType.JSON, DataType.ARRAY):
            return ast.JsonPath(name, keys, field.nullable)
        if keys:
            raise PositionedError(
                f"field {name!r} is {field.data_type.name}, not JSON; it cannot be indexed", where
            )
        scalar = field.data_type.is_numeric or field.data_type.is_string
        if not scalar and field.data_type != DataType.BOOL:
            raise PositionedError(f"cannot filter on {field.data_type.name} field", where)
        return ast.FieldRef(name, field.data_type, field.nullable)

    # ---- operand / predicate boundary

    def as_predicate(self, node: Any, where: Position) -> ast.Expr:
        if isinstance(node, ast.PREDICATE_TYPES):
            return node
        if isinstance(node, ast.Literal) and isinstance(node.value, bool):
            return ast.Constant(node.value)
        if isinstance(node, ast.FieldRef) and node.data_type == DataType.BOOL:
            return ast.Compare("==", node, ast.Literal(True))
        raise PositionedError(f"expected a condition, got {describe(node)}", where)

    def operand(self, node: Any, where: Position) -> ast.Operand:
        if isinstance(node, ast.OPERAND_TYPES):
            return node
        raise PositionedError("expected a value, got a condition", where)

    # ---- arithmetic

    def sign(self, op: str, node: Any, where: Position) -> ast.Operand:
        operand = self.operand(node, where)
        vt = value_type(operand)
        if not (vt.is_numeric or vt == ValueType.JSON):
            raise PositionedError(f"unary {op} needs a number, got {describe(operand)}", where)
        if op == "+":
            return operand
        if isinstance(operand, ast.Literal):
            return ast.Literal(-operand.value)  # type: ignore[operator]
        return ast.Negate(operand)

    def arithmetic(self, op: str, left_node: Any, right_node: Any, where: Position) -> ast.Operand:
        left, right = self.operand(left_node, where), self.operand(right_node, where)
        types = (value_type(left), value_type(right))
        for node, vt in zip((left, right), types, strict=True):
            if not (vt.is_numeric or vt == ValueType.JSON):
                raise PositionedError(f"{op} needs numbers, got {describe(node)}", where)
        if op == "%" and ValueType.FLOAT in types:
            raise PositionedError("% needs integers", where)
        if op in ("/", "%") and isinstance(right, ast.Literal) and right.value == 0:
            raise PositionedError("division by zero", where)
        if ValueType.JSON in types:
            result_type = ValueType.JSON
        elif op == "**" or ValueType.FLOAT in types:
            result_type = ValueType.FLOAT
        else:
            result_type = ValueType.INT
        if isinstance(left, ast.Literal) and isinstance(right, ast.Literal):
            return ast.Literal(self._fold(op, left.value, right.value, result_type, where))
        return ast.Arithmetic(op, left, right, result_type)

    @staticmethod
    def _fold(op: str, a: Any, b: Any, result_type: ValueType, where: Position) -> int | float:
        integers = result_type == ValueType.INT
        try:
            if op == "+":
                value = a + b
            elif op == "-":
                value = a - b
            elif op == "*":
                value = a * b
            elif op == "/":
                value = truncating_divide(a, b) if integers else a / b
            elif op == "%":
                value = truncating_modulo(a, b)
            else:
                value = float(a) ** float(b)
        except (OverflowError, ZeroDivisionError) as exc:
            raise PositionedError(f"cannot compute constant {a} {op} {b}: {exc}", where) from None
        if isinstance(value, complex) or (isinstance(value, float) and not math.isfinite(value)):
            raise PositionedError(f"constant {a} {op} {b} has no real finite value", where)
        if isinstance(value, int) and not -(2**63) <= value < 2**63:
            raise PositionedError(f"constant {a} {op} {b} overflows int64", where)
        result: int | float = value
        return result

    # ---- comparisons

    def comparison(
        self,
        ops: Sequence[str],
        nodes: Sequence[Any],
        op_positions: Sequence[Position],
        where: Position,
    ) -> ast.Expr:
        operands = [self.operand(n, p) for n, p in zip(nodes, [where, *op_positions], strict=True)]
        if len(ops) == 1:
            return self.compare(ops[0], operands[0], operands[1], op_positions[0])
        ascending = all(op in ("<", "<=") for op in ops)
        descending = all(op in (">", ">=") for op in ops)
        middle = operands[1]
        if len(ops) != 2 or not (ascending or descending) or isinstance(middle, ast.Literal):
            raise PositionedError(
                "a chained comparison must be a range such as 1 < x < 5 or 5 >= x > 1",
                op_positions[1],
            )
        lower = self.compare(ops[0], operands[0], middle, op_positions[0])
        upper = self.compare(ops[1], middle, operands[2], op_positions[1])
        return ast.And((lower, upper))

    def compare(self, op: str, left: ast.Operand, right: ast.Operand, where: Position) -> ast.Expr:
        lt, rt = value_type(left), value_type(right)
        if ValueType.LIST in (lt, rt):
            raise PositionedError(f"cannot use {op} with a list; use in / not in", where)
        if isinstance(left, ast.Literal) and not isinstance(right, ast.Literal):
            left, right, op, lt, rt = right, left, FLIPPED[op], rt, lt
        if ValueType.JSON in (lt, rt):
            if not isinstance(right, ast.Literal):
                raise PositionedError(
                    f"cannot compare {describe(left)} with {describe(right)}; "
                    "a JSON value compares only with a constant",
                    where,
                )
            if _is_numeric_expression(left) and not rt.is_numeric:
                raise PositionedError(f"cannot compare a number with {describe(right)}", where)
        elif not (lt.is_numeric and rt.is_numeric) and lt != rt:
            raise PositionedError(f"cannot compare {describe(left)} with {describe(right)}", where)
        if ValueType.BOOL in (lt, rt) and op not in ("==", "!="):
            raise PositionedError(f"booleans support only == and !=, not {op}", where)
        if isinstance(left, ast.Literal) and isinstance(right, ast.Literal):
            return ast.Constant(bool(_PY_COMPARE[op](left.value, right.value)))
        return ast.Compare(op, left, right)

    def in_list(self, node: Any, values_node: Any, negated: bool, where: Position) -> ast.Expr:
        operand = self.operand(node, where)
        if not (isinstance(values_node, ast.Literal) and isinstance(values_node.value, tuple)):
            raise PositionedError("in needs a list such as [1, 2] or a {template}", where)
        values = values_node.value
        vt = value_type(operand)
        if vt != ValueType.JSON:
            for value in values:
                et = ast.literal_type(value)
                if not (et == vt or (et.is_numeric and vt.is_numeric)):
                    raise PositionedError(
                        f"list element {value!r} does not match {describe(operand)}", where
                    )
        if isinstance(operand, ast.Literal):
            return ast.Constant((operand.value in values) != negated)
        return ast.InList(operand, values, negated)

    def like(self, node: Any, pattern_node: Any, where: Position) -> ast.Expr:
        operand = self.operand(node, where)
        if value_type(operand) not in (ValueType.STRING, ValueType.JSON) or isinstance(
            operand, ast.Literal
        ):
            raise PositionedError(
                f"like needs a VarChar field or a JSON path, got {describe(operand)}", where
            )
        if not (isinstance(pattern_node, ast.Literal) and isinstance(pattern_node.value, str)):
            raise PositionedError("the pattern of like must be a string constant", where)
        return ast.Like(operand, pattern_node.value)

    def is_null(self, node: Any, negated: bool, where: Position) -> ast.Expr:
        if not isinstance(node, (ast.FieldRef, ast.JsonPath)):
            raise PositionedError(
                f"is null needs a field or JSON path, got {describe(node)}", where
            )
        return ast.IsNull(node, negated)

    def exists(self, node: Any, where: Position) -> ast.Expr:
        if not isinstance(node, ast.JsonPath):
            raise PositionedError(f"exists needs a JSON path, got {describe(node)}", where)
        return ast.Exists(node)

    # ---- functions

    def call(self, name: str, args: Sequence[Any], where: Position) -> ast.Node:
        if name == "array_length":
            if len(args) != 1:
                raise PositionedError("array_length takes one argument", where)
            return ast.ArrayLength(self._array_target(name, args[0], where))
        mode = _CONTAINS.get(name)
        if mode is None:
            raise PositionedError(f"unknown function {name!r}", where)
        if len(args) != 2:
            raise PositionedError(f"{name} takes two arguments", where)
        target = self._array_target(name, args[0], where)
        value = args[1]
        if not isinstance(value, ast.Literal):
            raise PositionedError(f"the second argument of {name} must be a constant", where)
        if mode != ast.ContainsMode.ONE and not isinstance(value.value, tuple):
            raise PositionedError(f"the second argument of {name} must be a list", where)
        return ast.Contains(mode, target, value.value)

    @staticmethod
    def _array_target(name: str, node: Any, where: Position) -> ast.JsonPath:
        if not isinstance(node, ast.JsonPath):
            raise PositionedError(
                f"{name} needs a JSON path or ARRAY field, got {describe(node)}", where
            )
        return node


def _is_numeric_expression(node: ast.Operand) -> bool:
    """Arithmetic and array_length yield numbers even when their inputs are JSON."""
    return isinstance(node, (ast.Arithmetic, ast.Negate, ast.ArrayLength))
