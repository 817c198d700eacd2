"""The typed syntax tree that :func:`elanus.expr.parse` returns.

Every node is a frozen dataclass, so a parsed filter can be cached, shared
between threads and compared. Nodes come in two kinds: *operands* (values per
row: fields, JSON paths, literals, arithmetic) and *predicates* (a boolean per
row). Only predicates are valid as a whole expression. The tree is already
type-checked and resolved against the schema; the evaluator trusts it.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass, fields
from typing import Any

from elanus.schema import DYNAMIC_FIELD_NAME, DataType

# A JSON-compatible Python value as written in a filter: lists are tuples so
# that nodes stay hashable.
LiteralValue = int | float | str | bool | tuple[Any, ...]


class ValueType(enum.Enum):
    """What an operand holds, as far as the parser can know."""

    INT = "int"
    FLOAT = "float"
    STRING = "string"
    BOOL = "bool"
    LIST = "list"
    # A JSON value (or an ARRAY field element): its type is only known per row.
    JSON = "json"

    @property
    def is_numeric(self) -> bool:
        return self in (ValueType.INT, ValueType.FLOAT)


class Node:
    """Base of every tree node; gives a uniform walk over sub-nodes."""

    __slots__ = ()

    def children(self) -> Iterator[Node]:
        for f in fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if isinstance(value, Node):
                yield value
            elif isinstance(value, tuple):
                yield from (v for v in value if isinstance(v, Node))

    def walk(self) -> Iterator[Node]:
        """This node and all its descendants, depth first."""
        stack: list[Node] = [self]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(node.children())


# ---------------------------------------------------------------- operands


@dataclass(frozen=True)
class Literal(Node):
    value: LiteralValue

    @property
    def value_type(self) -> ValueType:
        return literal_type(self.value)


@dataclass(frozen=True)
class FieldRef(Node):
    """A scalar column of the schema."""

    name: str
    data_type: DataType
    nullable: bool = False

    @property
    def value_type(self) -> ValueType:
        if self.data_type == DataType.BOOL:
            return ValueType.BOOL
        if self.data_type.is_integer:
            return ValueType.INT
        if self.data_type.is_numeric:
            return ValueType.FLOAT
        if self.data_type.is_string:
            return ValueType.STRING
        return ValueType.JSON


@dataclass(frozen=True)
class JsonPath(Node):
    """A value inside a JSON (or ARRAY) column: ``field[k1][k2]...``.

    ``field`` is the column name; for the dynamic field it is ``$meta`` and a
    bare identifier ``x`` becomes ``JsonPath("$meta", ("x",))``. ``keys`` may
    be empty (the whole document).
    """

    field: str
    keys: tuple[str | int, ...]
    nullable: bool = False

    @property
    def value_type(self) -> ValueType:
        return ValueType.JSON

    @property
    def is_dynamic(self) -> bool:
        return self.field == DYNAMIC_FIELD_NAME

    def __str__(self) -> str:
        return self.field + "".join(f"[{k!r}]" for k in self.keys)


@dataclass(frozen=True)
class Arithmetic(Node):
    """``left op right`` with op one of ``+ - * / % **``.

    Integers stay integers for ``+ - * / %`` (``/`` and ``%`` truncate toward
    zero, as C and Milvus's engine do); ``**`` and anything touching a float or
    a JSON value is computed in double precision.
    """

    op: str
    left: Operand
    right: Operand
    value_type: ValueType


@dataclass(frozen=True)
class Negate(Node):
    operand: Operand

    @property
    def value_type(self) -> ValueType:
        return self.operand.value_type


@dataclass(frozen=True)
class ArrayLength(Node):
    """``array_length(path)``: the element count; rows that hold no array do not match."""

    target: JsonPath

    @property
    def value_type(self) -> ValueType:
        return ValueType.INT


Operand = Literal | FieldRef | JsonPath | Arithmetic | Negate | ArrayLength


# -------------------------------------------------------------- predicates


@dataclass(frozen=True)
class Constant(Node):
    """Always true or always false; ``parse("")`` returns ``MATCH_ALL``."""

    value: bool


@dataclass(frozen=True)
class Compare(Node):
    """``left op right`` with op one of ``== != < <= > >=``.

    Chains such as ``1 < a < 5`` become an :class:`And` of two comparisons.
    """

    op: str
    left: Operand
    right: Operand


@dataclass(frozen=True)
class InList(Node):
    """``operand in [values]`` (``negated``: ``not in``)."""

    operand: Operand
    values: tuple[LiteralValue, ...]
    negated: bool = False


@dataclass(frozen=True)
class Like(Node):
    """``operand like pattern``: ``%`` any run of characters, ``_`` one, ``\\`` escapes."""

    operand: Operand
    pattern: str


@dataclass(frozen=True)
class IsNull(Node):
    """``operand is null`` (``negated``: ``is not null``).

    For a JSON path a row is null when the column is null, the path is
    missing, or the value there is JSON ``null``.
    """

    operand: FieldRef | JsonPath
    negated: bool = False


@dataclass(frozen=True)
class Exists(Node):
    """``exists path``: the JSON path is present in the row (its value may be null)."""

    path: JsonPath


class ContainsMode(enum.Enum):
    ONE = "contains"
    ALL = "contains_all"
    ANY = "contains_any"


@dataclass(frozen=True)
class Contains(Node):
    """``json_contains`` / ``array_contains`` and their ``_all`` / ``_any`` forms.

    ``ONE``: the array holds an element equal to ``value``. ``ALL`` / ``ANY``:
    ``value`` is a tuple and the array holds all / any of its elements.
    Rows whose value is not an array do not match.
    """

    mode: ContainsMode
    target: JsonPath
    value: LiteralValue


@dataclass(frozen=True)
class And(Node):
    operands: tuple[Expr, ...]


@dataclass(frozen=True)
class Or(Node):
    operands: tuple[Expr, ...]


@dataclass(frozen=True)
class Not(Node):
    operand: Expr


Expr = Constant | Compare | InList | Like | IsNull | Exists | Contains | And | Or | Not

MATCH_ALL = Constant(True)

PREDICATE_TYPES = (Constant, Compare, InList, Like, IsNull, Exists, Contains, And, Or, Not)
OPERAND_TYPES = (Literal, FieldRef, JsonPath, Arithmetic, Negate, ArrayLength)


def literal_type(value: LiteralValue) -> ValueType:
    """The static type of a Python literal; bool is checked before int on purpose."""
    if isinstance(value, bool):
        return ValueType.BOOL
    if isinstance(value, int):
        return ValueType.INT
    if isinstance(value, float):
        return ValueType.FLOAT
    if isinstance(value, str):
        return ValueType.STRING
    return ValueType.LIST
