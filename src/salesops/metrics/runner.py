"""Running a compiled metric and typing its rows: the one place that talks to the backend.

Compiling costs more than running on DuckDB, so the SQL compiled there is kept per question;
raw values come back as the metric's unit (Decimal cents for money, int for counts).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import replace
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import ibis

from salesops.metrics import compiler
from salesops.metrics.definitions import Catalog, MetricDefinition
from salesops.metrics.engines import Source
from salesops.metrics.query_check import Query
from salesops.metrics.schemas import MetricRow

CENT = Decimal("0.01")
MONEY_UNITS = ("money", "money_per_day")


def _convert(metric: MetricDefinition, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float) and value != value:  # NaN from an empty aggregate
        return None
    if metric.unit in MONEY_UNITS:
        return Decimal(str(value)).quantize(CENT, ROUND_HALF_UP)
    if metric.unit == "count":
        return int(value)
    return float(value)


def _part(value: Any) -> Any:
    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, Decimal):
        return value
    return value


def execute(src: Source, expr: ibis.Table) -> list[dict[str, Any]]:
    with src.lock:
        rows: list[dict[str, Any]] = src.backend.to_pyarrow(expr).to_pylist()
    return rows


def _as_date(value: Any) -> date | None:
    if value is None:
        return None
    return value.date() if isinstance(value, datetime) else value


# Compiling a metric costs 50-300 ms of Ibis work; a dashboard asks the same questions again and
# again, so the SQL compiled for DuckDB is kept per (connection, catalog, metric, query, context).
_SQL: OrderedDict[tuple[Any, ...], str] = OrderedDict()
_SQL_SIZE = 512


def _sql_key(src: Source, cat: Catalog, metric: MetricDefinition, query: Query) -> tuple[Any, ...]:
    day = datetime.combine(src.ctx.now.date(), time())  # only the day of `now` is used
    # The tables are part of the key: a Source restricted to a user's rows (row-level
    # scoping replaces its tables) must never reuse SQL compiled for other tables.
    tables = tuple((name, src.tables[name].op()) for name in sorted(src.tables))
    return (id(src.backend), id(cat), metric.name, repr(query), replace(src.ctx, now=day), tables)


def _cached_rows(src: Source, key: tuple[Any, ...]) -> list[dict[str, Any]] | None:
    sql = _SQL.get(key)
    if sql is None or getattr(src.backend, "name", "") != "duckdb":
        return None
    try:
        with src.lock:
            table = src.backend.con.sql(sql).to_arrow_table()
    except Exception:  # e.g. an in-memory helper table was dropped: compile again
        _SQL.pop(key, None)
        return None
    rows: list[dict[str, Any]] = table.to_pylist()
    return rows


def run_metric(
    src: Source, metric: MetricDefinition, cat: Catalog, query: Query, *, explain: bool = False
) -> tuple[list[MetricRow], str]:
    key = _sql_key(src, cat, metric, query)
    found = _cached_rows(src, key)
    expr = None
    if found is None:
        expr = compiler.compile_metric(metric, cat, src.tables, src.ctx, query)
        order = [*query.by, *(["period"] if query.grain else [])]
        if order:
            expr = expr.order_by(order)
        if getattr(src.backend, "name", "") == "duckdb":
            with src.lock:
                # What DuckDB's to_pyarrow does, keeping the SQL: register in-memory tables,
                # compile once, run.
                src.backend._run_pre_execute_hooks(expr)
                sql = str(src.backend.compile(expr))
                found = src.backend.con.sql(sql).to_arrow_table().to_pylist()
            _SQL[key] = sql
            while len(_SQL) > _SQL_SIZE:
                _SQL.popitem(last=False)
        else:
            found = execute(src, expr)
    rows = []
    for raw in found:
        rows.append(
            MetricRow(
                dimensions={d: raw[d] for d in query.by},
                period=_as_date(raw.get("period")) if query.grain else None,
                value=_convert(metric, raw["value"]),
                numerator=_part(raw.get("numerator")),
                denominator=_part(raw.get("denominator")),
            )
        )
    sql = ""
    if explain:
        try:
            if expr is None:
                expr = compiler.compile_metric(metric, cat, src.tables, src.ctx, query)
            sql = str(ibis.to_sql(expr, dialect=_dialect(src)))
        except Exception:  # showing SQL is a courtesy; some backends cannot render it offline
            sql = ""
    return rows, sql


def _dialect(src: Source) -> str:
    name = getattr(src.backend, "name", "duckdb")
    return str(name)


def empty_value(metric: MetricDefinition) -> Any:
    """What a count or sum is when no row falls in the period (None for everything else)."""
    if metric.kind != "aggregate" or metric.measure is None:
        return None
    if metric.measure.agg not in ("count", "count_distinct", "sum", "sum_float"):
        return None
    return _convert(metric, 0)
