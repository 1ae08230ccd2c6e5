"""The metric compiler: a definition and a query in, one Ibis expression out (no DB access).

The expression returns one row per combination of the requested dimensions (and period, with a
grain) with columns named after the dimensions, `period`, `value`, `numerator`, `denominator`.
"""

from __future__ import annotations

import ast
from dataclasses import replace
from datetime import date

import ibis
import ibis.expr.datatypes as dt
from ibis.expr.types import Table, Value

from salesops.metrics import cohorts, expressions, kinds, tenure
from salesops.metrics.definitions import Catalog, Measure, MetricDefinition
from salesops.metrics.dimensions import (
    LEAF_TEAM,
    add_dimensions,
    apply_filters,
    label_column,
    roll_up_teams,
)
from salesops.metrics.facts import Context, Tables
from salesops.metrics.query_check import Query, all_params
from salesops.metrics.steps import agg, group, prepared, windowed


def compile_metric(
    metric: MetricDefinition, catalog: Catalog, tables: Tables, ctx: Context, query: Query
) -> Table:
    """The Ibis expression computing `metric` for `query`."""
    params = {**all_params(metric, catalog), **query.params}
    query = replace(query, params=params)
    if metric.kind in ("aggregate", "ratio"):
        return _aggregate(metric, tables, ctx, query)
    if metric.kind == "formula":
        return _formula(metric, catalog, tables, ctx, query)
    if metric.kind == "share":
        return _share(metric, catalog, tables, ctx, query)
    if metric.kind == "ramp_time":
        return kinds.ramp_time(tables, ctx, query)
    if metric.kind == "retention":
        return kinds.retention(metric, tables, ctx, query)
    if metric.kind == "cohort_retention":
        return tenure.cohort_retention(metric, tables, ctx, query)
    if metric.kind == "ramp_curve":
        return tenure.ramp_curve(metric, tables, ctx, query)
    return kinds.forecast_accuracy(metric, tables, ctx, query)


_ADDITIVE = frozenset({"count", "sum", "sum_float"})


def _measures(metric: MetricDefinition) -> dict[str, Measure]:
    found = {
        "value": metric.measure,
        "numerator": metric.numerator,
        "denominator": metric.denominator,
    }
    return {k: m for k, m in found.items() if m is not None}


def _rolled_up(metric: MetricDefinition, tables: Tables, ctx: Context, query: Query) -> Table:
    """By team, for counts and sums: aggregate per owner's team first, then roll the partial
    figures up the hierarchy. Same numbers as rolling up every row (a deal counts once for its
    team and once for each team above it), on a few thousand rows instead of millions."""
    t = prepared(metric, tables, ctx, query, team_leaf=True)
    measures = _measures(metric)
    keys = [label_column(d) for d in query.by if d != "team"]
    keys += [*(["period"] if query.grain else []), LEAF_TEAM]
    partial = t.group_by(keys).aggregate(
        **{f"part_{k}": agg(t, m, ctx, query.params) for k, m in measures.items()}
    )
    rolled = roll_up_teams(partial, ctx)
    if "team" in query.filters:
        rolled = apply_filters(rolled, {"team": query.filters["team"]})
    sums = {k: rolled[f"part_{k}"].sum() for k in measures}
    if metric.kind == "aggregate":
        null = ibis.null(dt.float64)
        return group(rolled, query, value=sums["value"], numerator=null, denominator=null)
    out = group(rolled, query, numerator=sums["numerator"], denominator=sums["denominator"])
    value = out.numerator.cast(dt.float64) / out.denominator.cast(dt.float64).nullif(0)
    return out.mutate(value=value)


def _aggregate(metric: MetricDefinition, tables: Tables, ctx: Context, query: Query) -> Table:
    if (
        "team" in query.by
        and metric.fact != "forecast_lines"
        and all(m.agg in _ADDITIVE for m in _measures(metric).values())
    ):
        return _rolled_up(metric, tables, ctx, query)
    t = prepared(metric, tables, ctx, query)
    if metric.kind == "aggregate":
        assert metric.measure is not None
        value = agg(t, metric.measure, ctx, query.params)
        null = ibis.null(dt.float64)
        return group(t, query, value=value, numerator=null, denominator=null)
    assert metric.numerator is not None
    assert metric.denominator is not None
    num = agg(t, metric.numerator, ctx, query.params)
    den = agg(t, metric.denominator, ctx, query.params)
    out = group(t, query, numerator=num, denominator=den)
    value = out.numerator.cast(dt.float64) / out.denominator.cast(dt.float64).nullif(0)
    return out.mutate(value=value)


def _long(t: Table, query: Query, name: str) -> Table:
    cols: dict[str, Value] = {d: t[d] for d in query.keys}
    return t.select(**cols, input=ibis.literal(name), value=t.value.cast(dt.float64))


def _formula(
    metric: MetricDefinition, catalog: Catalog, tables: Tables, ctx: Context, query: Query
) -> Table:
    assert metric.expression is not None
    parts = [
        _long(compile_metric(catalog.get(other), catalog, tables, ctx, query), query, alias)
        for alias, other in metric.inputs.items()
    ]
    union = parts[0]
    for part in parts[1:]:
        union = union.union(part)
    pivot = {alias: union.value.max(where=union.input == alias) for alias in metric.inputs}
    wide = union.group_by(query.keys).aggregate(**pivot) if query.keys else union.aggregate(**pivot)
    wide = wide.mutate(**{alias: wide[alias].fill_null(0.0) for alias in metric.fill_zero})
    parsed = expressions.parse(metric.expression)
    value = expressions.compile_expr(parsed, lambda n: wide[n], {})
    num = den = ibis.null(dt.float64)
    tree = parsed.tree
    simple_ratio = isinstance(tree, ast.BinOp) and isinstance(tree.op, ast.Div)
    if simple_ratio and isinstance(tree.left, ast.Name) and isinstance(tree.right, ast.Name):  # type: ignore[attr-defined]
        num, den = wide[tree.left.id], wide[tree.right.id]  # type: ignore[attr-defined]
    return wide.mutate(value=value, numerator=num, denominator=den).select(
        *query.keys, "value", "numerator", "denominator"
    )


def _share(
    metric: MetricDefinition, catalog: Catalog, tables: Tables, ctx: Context, query: Query
) -> Table:
    assert metric.of is not None
    inner_by = tuple(dict.fromkeys((*query.by, metric.per)))
    inner = compile_metric(
        catalog.get(metric.of), catalog, tables, ctx, replace(query, by=inner_by)
    )
    measured = inner.value.notnull()
    hit = inner.value.count(where=measured & (inner.value >= metric.threshold))
    aggs = {"numerator": hit, "denominator": inner.value.count()}
    out = inner.group_by(query.keys).aggregate(**aggs) if query.keys else inner.aggregate(**aggs)
    return out.mutate(
        value=out.numerator.cast(dt.float64) / out.denominator.cast(dt.float64).nullif(0)
    )


def funnel(tables: Tables, ctx: Context, query: Query) -> Table:
    """Per stage: deals that entered it in the window, went further, and were won."""
    t = cohorts.stage_entries(tables, ctx, as_of=query.as_of)
    t = windowed(t, "entered_on", replace(query, grain=None))
    t = add_dimensions(t, list(query.filters), tables, ctx, on_date="entered_on")
    t = apply_filters(t, dict(query.filters))
    return t.group_by(stage="entered_stage", rank="entered_rank").aggregate(
        entered=t.id.count(),
        advanced=t.id.count(where=t.advanced),
        won=t.id.count(where=t.is_won),
    )


def today(ctx: Context) -> date:
    return ctx.now.date()
