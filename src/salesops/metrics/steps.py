"""A metric's rows before they become a number, and the steps every kind of metric shares.

The fact filtered by the metric's population, cut to the query's window (quotas prorated over
its periods) and labelled with the dimensions asked for; then one measure aggregated, grouped by
the query's keys, and a ratio made of a numerator and a denominator.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

import ibis
import ibis.expr.datatypes as dt
from ibis.expr.types import Table, Value

from salesops.metrics import cohorts, expressions, facts, opportunity_fact, periods
from salesops.metrics.definitions import Measure, MetricDefinition
from salesops.metrics.dimensions import (
    add_dimensions,
    apply_filters,
    dimension_columns,
    label_column,
)
from salesops.metrics.facts import MONEY, Context, Tables
from salesops.metrics.periods import GRAIN_UNITS
from salesops.metrics.query_check import Query


def expr(t: Table, text: str, ctx: Context, params: Mapping[str, Any]) -> Value:
    return expressions.compile_expr(expressions.parse(text), lambda n: t[n], params, ctx.rank)


def fact_table(
    metric: MetricDefinition,
    tables: Tables,
    ctx: Context,
    query: Query,
    extra: Collection[str] = (),
) -> Table:
    """The metric's fact with its population filter applied (no window, no dimensions)."""
    texts = [*metric.where]
    for measure in (metric.measure, metric.numerator, metric.denominator):
        if measure is not None:
            texts += [measure.expr, *measure.where]
    # The metric's date is only built when something reads it: a window, a grain or the team
    # dimension (membership on that date). As of a date, rewinding it costs a pass over the log.
    dated = bool(query.window.start or query.window.end or query.grain) or "team" in (
        *query.by,
        *query.filters,
    )
    used: set[str] = {*extra, *([metric.date] if metric.date and dated else [])}
    for text in texts:
        used |= expressions.parse(text).columns
    name = metric.fact
    if name == "opportunities":
        t = opportunity_fact.opportunities(tables, ctx, as_of=query.as_of, columns=used)
    elif name == "stage_entries":
        t = cohorts.stage_entries(tables, ctx, as_of=query.as_of, columns=used)
    elif name == "leads":
        t = cohorts.leads(tables, ctx, as_of=query.as_of)
    else:
        t = cohorts.quotas(tables, ctx)
    for text in metric.where:
        t = t.filter(expr(t, text, ctx, query.params))
    return t


def windowed(t: Table, date_col: str, query: Query) -> Table:
    window = query.window
    if window.start is not None:
        t = t.filter(t[date_col] >= window.start)
    if window.end is not None:
        t = t.filter(t[date_col] < window.end)
    if query.grain:
        t = t.mutate(period=t[date_col].truncate(GRAIN_UNITS[query.grain]).cast("date"))
    return t


def quota_periods(t: Table, query: Query) -> Table:
    """Quota rows spread over the query's periods, prorated by days of overlap."""
    window = query.window
    if not window.bounded:
        if query.grain:
            t = t.mutate(period=t.period_start.truncate(GRAIN_UNITS[query.grain]).cast("date"))
        return t.mutate(q_date=t.period_start)
    grid = periods.periods(window, query.grain)
    labels = [periods.truncate(s, query.grain) if query.grain else s for s, _ in grid]
    g = ibis.memtable(
        {"g_start": [s for s, _ in grid], "g_end": [e for _, e in grid], "g_label": labels},
        schema=ibis.schema({"g_start": "date", "g_end": "date", "g_label": "date"}),
    )
    q_end = t.period_end + ibis.interval(days=1)
    t = t.mutate(q_end=q_end)
    j = t.join(g, [t.period_start < g.g_end, g.g_start < t.q_end])
    overlap = facts.day_diff(ibis.least(j.q_end, j.g_end), ibis.greatest(j.period_start, j.g_start))
    total = facts.day_diff(j.q_end, j.period_start)
    prorated = ibis.ifelse(
        overlap >= total, j.amount_rc, (j.amount_rc * overlap / total).round(2).cast(MONEY)
    )
    j = j.mutate(amount_rc=prorated, q_date=j.g_start)
    if query.grain:
        j = j.mutate(period=j.g_label)
    return j.drop("g_start", "g_end", "g_label", "q_end")


def agg(t: Table, measure: Measure, ctx: Context, params: Mapping[str, Any]) -> Value:
    value = expr(t, measure.expr, ctx, params)
    cond = None
    for text in measure.where:
        c = expr(t, text, ctx, params)
        cond = c if cond is None else cond & c
    if measure.agg == "count":
        return value.count(where=cond)
    if measure.agg == "count_distinct":
        return value.nunique(where=cond)
    if measure.agg == "sum":
        return value.sum(where=cond).fill_null(0)
    if measure.agg == "sum_float":
        return value.cast(dt.float64).sum(where=cond).fill_null(0.0)
    if measure.agg == "mean":
        return value.cast(dt.float64).mean(where=cond)
    if measure.agg == "median":
        return value.cast(dt.float64).median(where=cond)
    if measure.agg == "min":
        return value.min(where=cond)
    return value.max(where=cond)


def group(t: Table, query: Query, **aggs: Value) -> Table:
    keys = [label_column(d) for d in query.by] + (["period"] if query.grain else [])
    out = t.group_by(keys).aggregate(**aggs) if keys else t.aggregate(**aggs)
    return out.rename({d: label_column(d) for d in query.by}) if query.by else out


def prepared(
    metric: MetricDefinition,
    tables: Tables,
    ctx: Context,
    query: Query,
    extra: Collection[str] = (),
    *,
    team_leaf: bool = False,
) -> Table:
    """The metric's rows inside the window, with period and dimension labels, filtered.

    With `team_leaf` the rows carry the owner's own team (`tm_team`) instead of the team label,
    and a team filter is left for after the roll-up.
    """
    keys = [c for d in (*query.by, *query.filters) for c in dimension_columns(d)]
    t = fact_table(metric, tables, ctx, query, [*extra, *keys])
    if metric.fact == "quotas":
        t = quota_periods(t, query)
        on_date = "q_date"
    else:
        assert metric.date is not None
        t = windowed(t, metric.date, query)
        on_date = metric.date
    dims = [*query.by, *query.filters]
    t = add_dimensions(t, dims, tables, ctx, on_date=on_date, team_leaf=team_leaf)
    filters = {d: v for d, v in query.filters.items() if not (team_leaf and d == "team")}
    return apply_filters(t, filters)


def ratio_out(out: Table) -> Table:
    return out.mutate(
        value=out.numerator.cast(dt.float64) / out.denominator.cast(dt.float64).nullif(0)
    )
