"""The small expression language of metric definitions, parsed safely and compiled to Ibis.

A definition says `where: ["stage_category == 'won'"]` or `measure: amount * probability`.
Expressions are Python syntax restricted to: column names, `params.NAME`, literals, lists,
arithmetic (+ - * /), comparisons (== != < <= > >= in, not in, is None, is not None), `and`,
`or`, `not`, and a few functions (coalesce, abs, nullif, greatest, least). Nothing is ever
evaluated by Python itself, so a user's YAML file cannot run code.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.datatypes as dt
from ibis.expr.types import Value

_FUNCTIONS = ("coalesce", "abs", "nullif", "greatest", "least", "stage_rank")


class ExpressionError(ValueError):
    """An expression that is not valid in the metric language."""


@dataclass(frozen=True)
class Parsed:
    """A parsed expression and the column and parameter names it uses."""

    source: str
    tree: ast.expr
    columns: frozenset[str]
    params: frozenset[str]


def parse(source: str) -> Parsed:
    """Parse and check `source`; raise ExpressionError naming what is not allowed."""
    try:
        tree = ast.parse(source.strip(), mode="eval").body
    except SyntaxError as exc:
        raise ExpressionError(f"cannot parse {source!r}: {exc.msg}") from exc
    columns: set[str] = set()
    params: set[str] = set()
    _check(tree, columns, params)
    return Parsed(source, tree, frozenset(columns), frozenset(params))


def _check(node: ast.AST, columns: set[str], params: set[str]) -> None:
    match node:
        case ast.Name(id=name):
            columns.add(name)
        case ast.Attribute(value=ast.Name(id="params"), attr=attr):
            params.add(attr)
        case ast.Constant(value=value) if value is None or isinstance(
            value, str | int | float | bool
        ):
            pass
        case ast.List() | ast.Tuple():
            for elt in node.elts:
                if not isinstance(elt, ast.Constant):
                    raise ExpressionError("lists may only hold literal values")
        case ast.BoolOp():
            for operand in node.values:
                _check(operand, columns, params)
        case ast.UnaryOp(op=ast.Not() | ast.USub(), operand=operand):
            _check(operand, columns, params)
        case ast.BinOp(left=left, op=ast.Add() | ast.Sub() | ast.Mult() | ast.Div(), right=right):
            _check(left, columns, params)
            _check(right, columns, params)
        case ast.Compare(left=left, ops=ops, comparators=comparators):
            if len(ops) != 1:
                raise ExpressionError("write chained comparisons with `and`")
            _check(left, columns, params)
            _check(comparators[0], columns, params)
        case ast.Call(func=ast.Name(id=func), args=args, keywords=[]) if func in _FUNCTIONS:
            for arg in args:
                _check(arg, columns, params)
        case _:
            raise ExpressionError(f"{ast.unparse(node)!r} is not allowed in a metric expression")


def compile_expr(
    parsed: Parsed,
    column: Callable[[str], Value],
    params: Mapping[str, Any],
    stage_rank: Callable[[str], int] | None = None,
) -> Value:
    """Turn a parsed expression into an Ibis value, resolving names with `column`.

    `stage_rank(name)` gives a stage's place in the funnel for the `stage_rank()` function.
    """
    ranks = stage_rank or (lambda name: 0)
    return _compile(parsed.tree, column, {**params, "__stage_rank__": ranks})


def _literal(node: ast.expr, params: Mapping[str, Any]) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Attribute):
        return params[node.attr]
    return None


def _common_decimal(a: Any, b: Any, op: ast.operator) -> tuple[Any, Any]:
    """Make two decimals safe to combine (Ibis will not mix precisions; widths can overflow).

    An amount times a ratio (precision <= 7) stays an exact decimal(18, s); any other product
    or quotient of two decimals (an amount squared) is computed in floating point.
    """
    ta, tb = getattr(a, "type", lambda: None)(), getattr(b, "type", lambda: None)()
    if ta is None or tb is None or not (ta.is_decimal() and tb.is_decimal()):
        return a, b
    pa_, pb_ = ta.precision or 38, tb.precision or 38
    if isinstance(op, ast.Add | ast.Sub):
        if ta == tb:
            return a, b
        common = dt.Decimal(max(pa_, pb_, 18), max(ta.scale or 0, tb.scale or 0))
        return a.cast(common), b.cast(common)
    if isinstance(op, ast.Mult) and min(pa_, pb_) <= 7 and max(pa_, pb_) <= 18:
        common = dt.Decimal(18, max(ta.scale or 0, tb.scale or 0))
        return a.cast(common), b.cast(common)
    return a.cast(dt.float64), b.cast(dt.float64)


def _compile(node: ast.expr, column: Callable[[str], Value], params: Mapping[str, Any]) -> Any:
    def sub(child: ast.expr) -> Any:
        return _compile(child, column, params)

    match node:
        case ast.Name(id=name):
            return column(name)
        case ast.Attribute(attr=attr):
            value = params[attr]
            return ibis.literal(value) if value is not None else ibis.null()
        case ast.Constant(value=value):
            return ibis.literal(value) if value is not None else ibis.null()
        case ast.BoolOp(op=ast.And(), values=values):
            result = sub(values[0])
            for value in values[1:]:
                result = result & sub(value)
            return result
        case ast.BoolOp(op=ast.Or(), values=values):
            result = sub(values[0])
            for value in values[1:]:
                result = result | sub(value)
            return result
        case ast.UnaryOp(op=ast.Not(), operand=operand):
            return ~sub(operand)
        case ast.UnaryOp(op=ast.USub(), operand=operand):
            return -sub(operand)
        case ast.BinOp(left=left, op=op, right=right):
            a, b = _common_decimal(sub(left), sub(right), op)
            if isinstance(op, ast.Add):
                return a + b
            if isinstance(op, ast.Sub):
                return a - b
            if isinstance(op, ast.Mult):
                return a * b
            # Division by zero is NULL on every engine (PostgreSQL would raise otherwise).
            return a / b.nullif(0)
        case ast.Compare(left=left, ops=[op], comparators=[right]):
            a = sub(left)
            if isinstance(op, ast.In | ast.NotIn):
                assert isinstance(right, ast.List | ast.Tuple)
                values = [_literal(e, params) for e in right.elts]
                return a.isin(values) if isinstance(op, ast.In) else a.notin(values)
            if isinstance(op, ast.Is | ast.IsNot):
                return a.isnull() if isinstance(op, ast.Is) else a.notnull()
            b = sub(right)
            comparisons: dict[type, Callable[[Any, Any], Any]] = {
                ast.Eq: lambda x, y: x == y,
                ast.NotEq: lambda x, y: x != y,
                ast.Lt: lambda x, y: x < y,
                ast.LtE: lambda x, y: x <= y,
                ast.Gt: lambda x, y: x > y,
                ast.GtE: lambda x, y: x >= y,
            }
            return comparisons[type(op)](a, b)
        case ast.Call(func=ast.Name(id=func), args=args):
            evaluated: list[Any] = [] if func == "stage_rank" else [sub(a) for a in args]
            if func == "coalesce":
                return ibis.coalesce(*evaluated)
            if func == "abs":
                return evaluated[0].abs()
            if func == "nullif":
                return evaluated[0].nullif(evaluated[1])
            if func == "greatest":
                return ibis.greatest(*evaluated)
            if func == "stage_rank":
                name = _literal(args[0], params)
                return ibis.literal(params["__stage_rank__"](str(name)))
            return ibis.least(*evaluated)
    raise ExpressionError(f"cannot compile {ast.unparse(node)!r}")
