"""Portable SQL constructs that need one dialect's spelling to be planned well."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, ColumnElement
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import QueryableAttribute
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.selectable import SelectBase
from sqlalchemy.sql.visitors import InternalTraversal


class InSubquery(ColumnElement[bool]):
    """`column IN (query)`, spelled so that each database can use an index on `column`."""

    inherit_cache = True
    type = Boolean()
    # A predicate, not a boolean value: SQLite must not get `... IN (...) = 1`, which no index
    # serves.
    _is_implicitly_boolean = True
    _traverse_internals = [  # noqa: RUF012 (SQLAlchemy declares it an instance variable)
        ("column", InternalTraversal.dp_clauseelement),
        ("query", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, column: ColumnElement[Any], query: SelectBase) -> None:
        self.column: ColumnElement[Any] = column
        self.query = query


def in_subquery(
    column: ColumnElement[Any] | QueryableAttribute[Any], query: SelectBase
) -> ColumnElement[bool]:
    """`column` is one of the values `query` returns (a semi-join evaluated once).

    PostgreSQL cannot pull `x IN (SELECT ...)` up into a join when it sits under an OR, and
    then reads the whole table; `x = ANY(ARRAY(SELECT ...))` runs the query once up front and
    leaves an indexable condition (a bitmap index scan, OR-ed with its neighbours).
    """
    expression = column.expression if isinstance(column, QueryableAttribute) else column
    return InSubquery(expression, query)


@compiles(InSubquery)
def _in(element: InSubquery, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.column.in_(element.query), **kw)


@compiles(InSubquery, "postgresql")
def _any_array(element: InSubquery, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    return f"{column} = ANY(ARRAY({compiler.process(element.query, **kw)}))"
