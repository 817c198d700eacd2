"""From filter text to a typed tree: Lark parses, :class:`_TreeBuilder` resolves and checks.

Every error is an :class:`ExpressionError` whose detail names the problem and
where it is (``line L, column C``, both 1-based).
"""

from __future__ import annotations

import builtins
import functools
from collections.abc import Mapping
from importlib import resources
from typing import Any

from lark import Lark, Token, Transformer, Tree, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, VisitError

from elanus.errors import ExpressionError
from elanus.expr import _ast as ast
from elanus.expr._literals import (
    LiteralError,
    float_value,
    integer_value,
    lookup_template,
    string_value,
)
from elanus.expr._typing import Checker, PositionedError
from elanus.schema import CollectionSchema

# How Lark's terminal names read in "expected one of" hints.
_TOKEN_NAMES = {
    "LPAR": "(",
    "RPAR": ")",
    "LSQB": "[",
    "RSQB": "]",
    "LBRACE": "{",
    "RBRACE": "}",
    "COMMA": ",",
    "ADD_OP": "+/-",
    "MUL_OP": "*, /, %",
    "COMPARE_OP": "comparison",
    "NAME": "name",
    "META": "$meta",
    "STRING": "string",
    "INTEGER": "integer",
    "FLOAT": "float",
    "$END": "end of text",
}


@functools.cache
def _lark() -> Lark:
    grammar = resources.files("elanus.expr").joinpath("_grammar.lark").read_text("utf-8")
    return Lark(grammar, parser="lalr", propagate_positions=True, maybe_placeholders=False)


def parse(
    text: str,
    schema: CollectionSchema,
    template_values: Mapping[str, Any] | None = None,
) -> ast.Expr:
    """Parse and type-check a Milvus filter expression against ``schema``.

    Empty (or blank) text means "no filter" and returns :data:`MATCH_ALL`
    (``Constant(True)``). ``template_values`` fills ``{name}`` placeholders.
    """
    if not text.strip():
        return ast.MATCH_ALL
    try:
        tree = _lark().parse(text)
    except UnexpectedInput as exc:
        raise ExpressionError(_syntax_message(exc, text)) from None
    builder = _TreeBuilder(Checker(schema), template_values)
    try:
        result = builder.transform(tree)
        children = result.children if isinstance(result, Tree) else [result]
        if not children:
            return ast.MATCH_ALL
        return builder.checker.as_predicate(children[0], _whole_text_position(tree))
    except VisitError as exc:
        if isinstance(exc.orig_exc, PositionedError):
            raise ExpressionError(str(exc.orig_exc)) from None
        raise
    except PositionedError as exc:
        raise ExpressionError(str(exc)) from None


def _syntax_message(exc: UnexpectedInput, text: str) -> str:
    if isinstance(exc, UnexpectedEOF):
        return f"syntax error: the expression ends too early at offset {len(text)}"
    where = f"line {exc.line}, column {exc.column}"
    if isinstance(exc, UnexpectedCharacters):
        char = text[exc.pos_in_stream] if exc.pos_in_stream is not None else "?"
        if char in "\"'":
            return f"syntax error at {where}: unterminated string"
        return f"syntax error at {where}: unexpected character {char!r}"
    token = getattr(exc, "token", None)
    if token is not None and token.type == "$END":
        return f"syntax error: the expression ends too early at {where}"
    shown = str(token) if token is not None else "?"
    expected = sorted(_TOKEN_NAMES.get(t, t) for t in getattr(exc, "expected", None) or ())
    hint = f" (expected one of: {', '.join(expected[:8])})" if expected else ""
    return f"syntax error at {where}: unexpected {shown!r}{hint}"


class _Position:
    """The start of a source span, for error messages."""

    def __init__(self, line: int, column: int) -> None:
        self.line, self.column = line, column


def _whole_text_position(tree: Tree[Token]) -> _Position:
    meta = tree.meta
    if getattr(meta, "empty", True):
        return _Position(1, 1)
    return _Position(meta.line, meta.column)


def _pos(meta_or_token: Any) -> _Position:
    return _Position(getattr(meta_or_token, "line", 1), getattr(meta_or_token, "column", 1))


@v_args(meta=True)
class _TreeBuilder(Transformer[Token, Any]):
    """Bottom-up conversion of Lark's tree into :mod:`elanus.expr._ast` nodes.

    (The grammar's rule ``list`` is a method here, so annotations in this class
    spell the builtin ``builtins.list``.)
    """

    def __init__(self, checker: Checker, template_values: Mapping[str, Any] | None) -> None:
        super().__init__()
        self.checker = checker
        self._template_values = template_values

    # ---- literals

    def _literal(self, token: Token, convert: Any) -> ast.Literal:
        try:
            return ast.Literal(convert(str(token)))
        except LiteralError as exc:
            raise PositionedError(str(exc), _pos(token)) from None

    def integer(self, meta: Any, children: builtins.list[Token]) -> ast.Literal:
        return self._literal(children[0], integer_value)

    def floating(self, meta: Any, children: builtins.list[Token]) -> ast.Literal:
        return self._literal(children[0], float_value)

    def string(self, meta: Any, children: builtins.list[Token]) -> ast.Literal:
        return self._literal(children[0], string_value)

    def true(self, meta: Any, children: builtins.list[Token]) -> ast.Literal:
        return ast.Literal(True)

    def false(self, meta: Any, children: builtins.list[Token]) -> ast.Literal:
        return ast.Literal(False)

    def template(self, meta: Any, children: builtins.list[Token]) -> ast.Literal:
        name = children[0]
        try:
            return ast.Literal(lookup_template(str(name), self._template_values))
        except LiteralError as exc:
            raise PositionedError(str(exc), _pos(name)) from None

    def list(self, meta: Any, children: builtins.list[Any]) -> ast.Literal:
        values = []
        for child in children:
            if not isinstance(child, ast.Literal):
                raise PositionedError("list elements must be constants", _pos(meta))
            values.append(child.value)
        return ast.Literal(tuple(values))

    # ---- names

    def subscript(self, meta: Any, children: builtins.list[Token]) -> str | int:
        token = children[0]
        if token.type == "STRING":
            return self._literal(token, string_value).value  # type: ignore[return-value]
        return self._literal(token, integer_value).value  # type: ignore[return-value]

    def path(self, meta: Any, children: builtins.list[Any]) -> ast.Operand:
        head, keys = children[0], tuple(children[1:])
        return self.checker.resolve(str(head), head.type == "META", keys, _pos(head))

    def call(self, meta: Any, children: builtins.list[Any]) -> ast.Node:
        name, args = children[0], children[1:]
        return self.checker.call(str(name).lower(), args, _pos(name))

    # ---- arithmetic

    def sign(self, meta: Any, children: builtins.list[Any]) -> ast.Operand:
        op, operand = children
        return self.checker.sign(str(op), operand, _pos(meta))

    def power(self, meta: Any, children: builtins.list[Any]) -> ast.Operand:
        left, op, right = children
        return self.checker.arithmetic("**", left, right, _pos(op))

    def sum(self, meta: Any, children: builtins.list[Any]) -> ast.Operand:
        return self._left_fold(children)

    def product(self, meta: Any, children: builtins.list[Any]) -> ast.Operand:
        return self._left_fold(children)

    def _left_fold(self, children: builtins.list[Any]) -> ast.Operand:
        result: ast.Operand = children[0]
        for index in range(1, len(children), 2):
            op = children[index]
            result = self.checker.arithmetic(str(op), result, children[index + 1], _pos(op))
        return result

    # ---- predicates

    def comparison(self, meta: Any, children: builtins.list[Any]) -> ast.Expr:
        operands = children[0::2]
        ops = children[1::2]
        return self.checker.comparison(
            [str(op) for op in ops], operands, [_pos(op) for op in ops], _pos(meta)
        )

    def in_list(self, meta: Any, children: builtins.list[Any]) -> ast.Expr:
        operand, in_token, values = children
        return self.checker.in_list(operand, values, False, _pos(in_token))

    def not_in_list(self, meta: Any, children: builtins.list[Any]) -> ast.Expr:
        operand, not_token, _, values = children
        return self.checker.in_list(operand, values, True, _pos(not_token))

    def like(self, meta: Any, children: builtins.list[Any]) -> ast.Expr:
        operand, like_token, pattern = children
        return self.checker.like(operand, pattern, _pos(like_token))

    def is_null(self, meta: Any, children: builtins.list[Any]) -> ast.Expr:
        return self.checker.is_null(children[0], False, _pos(children[1]))

    def is_not_null(self, meta: Any, children: builtins.list[Any]) -> ast.Expr:
        return self.checker.is_null(children[0], True, _pos(children[1]))

    def exists(self, meta: Any, children: builtins.list[Any]) -> ast.Expr:
        return self.checker.exists(children[1], _pos(children[0]))

    # ---- logic

    def logical_not(self, meta: Any, children: builtins.list[Any]) -> ast.Expr:
        not_token, operand = children
        return ast.Not(self.checker.as_predicate(operand, _pos(not_token)))

    def or_expr(self, meta: Any, children: builtins.list[Any]) -> ast.Expr:
        return self._logic(ast.Or, children)

    def and_expr(self, meta: Any, children: builtins.list[Any]) -> ast.Expr:
        return self._logic(ast.And, children)

    def _logic(
        self, node_type: type[ast.And] | type[ast.Or], children: builtins.list[Any]
    ) -> ast.Expr:
        operands: builtins.list[ast.Expr] = []
        for index in range(0, len(children), 2):
            # An operand's position is its operator's (or the first operator's).
            where = children[index - 1] if index else children[1]
            predicate = self.checker.as_predicate(children[index], _pos(where))
            # Flatten a and (b and c) into one node: evaluation is then one pass.
            if isinstance(predicate, node_type):
                operands.extend(predicate.operands)
            else:
                operands.append(predicate)
        return node_type(tuple(operands))
