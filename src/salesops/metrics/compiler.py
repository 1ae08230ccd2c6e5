"""The metric compiler: a definition and a query in, one Ibis expression out (no DB access).

The expression returns one row per combination of the requested dimensions (and period, with a
grain) with columns named after the dimensions, `period`, `value`, `numerator`, `denominator`.
"""

from __future__ import annotations

import ast
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

import ibis
import ibis.expr.datatypes as dt
from ibis.expr.types import Table, Value

from salesops.errors import ValidationFailed
from salesops.metrics import cohorts, expressions, facts, periods
from salesops.metrics.definitions import Catalog, Measure, MetricDefinition, allowed_dimensions
from salesops.metrics.dimensions import (
    DIMENSION_COLUMNS,
    LEAF_TEAM,
    add_dimensions,
    apply_filters,
    label_column,
    roll_up_teams,
)
from salesops.metrics.facts import MONEY, Context, Tables
from salesops.metrics.periods import GRAIN_UNITS, Window


@dataclass(frozen=True)
class Query:
    """What is asked of a metric: slices, period grain, date window, filters, point in time."""

    by: tuple[str, ...] = ()
    grain: str | None = None
    window: Window = field(default_factory=Window)
    filters: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    as_of: datetime | None = None
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def keys(self) -> list[str]:
        return [*self.by, *(["period"] if self.grain else [])]


def check_query(metric: MetricDefinition, catalog: Catalog, query: Query) -> None:
    """Refuse dimensions, filters, grains and parameters the metric does not support, naming
    every problem at once."""
    problems = []
    allowed = allowed_dimensions(metric, catalog.metrics)
    for dim in {*query.by, *query.filters}:
        if dim not in allowed:
            known = ", ".join(allowed) or "none"
            problems.append(f"{metric.name} cannot be sliced by {dim!r} (allowed: {known})")
    if query.grain is not None and query.grain not in GRAIN_UNITS:
        problems.append(f"unknown grain {query.grain!r} (use {', '.join(GRAIN_UNITS)})")
    elif query.grain is not None and query.grain not in metric.grains:
        problems.append(f"{metric.name} has no {query.grain!r} grain")
    if query.as_of is not None and not metric.point_in_time:
        problems.append(f"{metric.name} cannot be computed as of a past date")
    for name in query.params:
        if name not in all_params(metric, catalog):
            problems.append(f"{metric.name} has no parameter {name!r}")
    if problems:
        from salesops.errors import Problem

        raise ValidationFailed("invalid metric query", [Problem(p) for p in problems])


def all_params(metric: MetricDefinition, catalog: Catalog) -> dict[str, Any]:
    """The parameters of `metric` and the metrics it is built from, with their defaults."""
    result: dict[str, Any] = {}
    for other in [*metric.inputs.values(), *([metric.of] if metric.of else [])]:
        result.update(all_params(catalog.get(other), catalog))
    result.update(metric.params)
    return result


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
        return _ramp_time(tables, ctx, query)
    if metric.kind == "retention":
        return _retention(metric, tables, ctx, query)
    return _forecast_accuracy(metric, tables, ctx, query)


def _expr(t: Table, text: str, ctx: Context, params: Mapping[str, Any]) -> Value:
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
        t = facts.opportunities(tables, ctx, as_of=query.as_of, columns=used)
    elif name == "stage_entries":
        t = cohorts.stage_entries(tables, ctx, as_of=query.as_of, columns=used)
    elif name == "leads":
        t = cohorts.leads(tables, ctx, as_of=query.as_of)
    else:
        t = cohorts.quotas(tables, ctx)
    for text in metric.where:
        t = t.filter(_expr(t, text, ctx, query.params))
    return t


def _windowed(t: Table, date_col: str, query: Query) -> Table:
    window = query.window
    if window.start is not None:
        t = t.filter(t[date_col] >= window.start)
    if window.end is not None:
        t = t.filter(t[date_col] < window.end)
    if query.grain:
        t = t.mutate(period=t[date_col].truncate(GRAIN_UNITS[query.grain]).cast("date"))
    return t


def _quota_periods(t: Table, query: Query) -> Table:
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


def _agg(t: Table, measure: Measure, ctx: Context, params: Mapping[str, Any]) -> Value:
    value = _expr(t, measure.expr, ctx, params)
    cond = None
    for text in measure.where:
        c = _expr(t, text, ctx, params)
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


def _group(t: Table, query: Query, **aggs: Value) -> Table:
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
    keys = [c for d in (*query.by, *query.filters) for c in DIMENSION_COLUMNS.get(d, ())]
    t = fact_table(metric, tables, ctx, query, [*extra, *keys])
    if metric.fact == "quotas":
        t = _quota_periods(t, query)
        on_date = "q_date"
    else:
        assert metric.date is not None
        t = _windowed(t, metric.date, query)
        on_date = metric.date
    dims = [*query.by, *query.filters]
    t = add_dimensions(t, dims, tables, ctx, on_date=on_date, team_leaf=team_leaf)
    filters = {d: v for d, v in query.filters.items() if not (team_leaf and d == "team")}
    return apply_filters(t, filters)


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
        **{f"part_{k}": _agg(t, m, ctx, query.params) for k, m in measures.items()}
    )
    rolled = roll_up_teams(partial, ctx)
    if "team" in query.filters:
        rolled = apply_filters(rolled, {"team": query.filters["team"]})
    sums = {k: rolled[f"part_{k}"].sum() for k in measures}
    if metric.kind == "aggregate":
        null = ibis.null(dt.float64)
        return _group(rolled, query, value=sums["value"], numerator=null, denominator=null)
    out = _group(rolled, query, numerator=sums["numerator"], denominator=sums["denominator"])
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
        value = _agg(t, metric.measure, ctx, query.params)
        null = ibis.null(dt.float64)
        return _group(t, query, value=value, numerator=null, denominator=null)
    assert metric.numerator is not None
    assert metric.denominator is not None
    num = _agg(t, metric.numerator, ctx, query.params)
    den = _agg(t, metric.denominator, ctx, query.params)
    out = _group(t, query, numerator=num, denominator=den)
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


_WON = ("is_won", "closed_on", "amount_rc", "owner_id")


def _month_index(value: Value) -> Value:
    return value.year().cast("int64") * 12 + value.month().cast("int64")


def _ramp_time(tables: Tables, ctx: Context, query: Query) -> Table:
    """Months from each rep's hire month to the first month they booked X% of full quota."""
    threshold = float(query.params.get("attainment_threshold", 1.0))
    reps = tables["reps"]
    r = reps.filter(reps.hire_date.notnull()).select(
        owner_id=reps.id.cast("int64"), hire_date=reps.hire_date.cast("date")
    )
    months: Table | None = None
    if ctx.quota_range is not None:
        q = cohorts.quotas(tables, ctx).mutate(amount_rc=lambda t: t.full_amount_rc.cast(MONEY))
        start, end = ctx.quota_range
        monthly = _quota_periods(
            q, Query(grain="month", window=Window(periods.truncate(start, "month"), end))
        )
        quota = monthly.group_by(q_owner="owner_id", q_month="period").aggregate(
            quota=monthly.amount_rc.cast(dt.float64).sum()
        )
        won = facts.opportunities(tables, ctx, as_of=query.as_of, columns=_WON)
        won = won.filter(won.is_won)
        won = won.mutate(month=won.closed_on.truncate("M").cast("date"))
        booked = won.group_by(b_owner="owner_id", b_month="month").aggregate(
            booked=won.amount_rc.cast(dt.float64).sum()
        )
        j = quota.left_join(
            booked, [quota.q_owner == booked.b_owner, quota.q_month == booked.b_month]
        )
        hits = j.filter((j.quota > 0) & (j.booked.fill_null(0.0) >= j.quota * threshold))
        months = hits.group_by(f_owner="q_owner").aggregate(first_month=hits.q_month.min())
    if months is None:
        t = r.mutate(ramp_months=ibis.null(dt.int64))
    else:
        t = r.left_join(months, r.owner_id == months.f_owner)
        later = t.first_month >= t.hire_date.truncate("M").cast("date")
        t = t.mutate(
            ramp_months=ibis.ifelse(
                later, _month_index(t.first_month) - _month_index(t.hire_date), ibis.null(dt.int64)
            )
        ).drop("f_owner", "first_month")
    t = _windowed(t, "hire_date", query)
    t = add_dimensions(t, [*query.by, *query.filters], tables, ctx, on_date="hire_date")
    t = apply_filters(t, dict(query.filters))
    return _group(
        t,
        query,
        value=t.ramp_months.cast(dt.float64).median(),
        numerator=t.ramp_months.count(),
        denominator=t.owner_id.count(),
    )


def _retention(metric: MetricDefinition, tables: Tables, ctx: Context, query: Query) -> Table:
    """Account revenue at each period's start and end, from the contracts active those days."""
    grid = periods.periods(query.window, query.grain)
    g = ibis.memtable(
        {
            "g_start": [s for s, _ in grid],
            "g_end": [e for _, e in grid],
            "g_label": [periods.truncate(s, query.grain) if query.grain else s for s, _ in grid],
        },
        schema=ibis.schema({"g_start": "date", "g_end": "date", "g_label": "date"}),
    )
    c = cohorts.contracts(tables, ctx)
    j = c.cross_join(g)
    at_start = (j.start_date <= j.g_start) & (j.g_start <= j.end_date)
    at_end = (j.start_date <= j.g_end) & (j.g_end <= j.end_date)
    zero = ibis.literal(0, type=MONEY)
    j = j.mutate(
        s_value=ibis.ifelse(at_start, j.value_rc, zero),
        e_value=ibis.ifelse(at_end, j.value_rc, zero),
    )
    acc = j.group_by(["account_id", "g_label", "g_start"]).aggregate(
        start_arr=j.s_value.sum(), end_arr=j.e_value.sum()
    )
    acc = acc.filter(acc.start_arr > 0)
    if query.grain:
        acc = acc.mutate(period=acc.g_label)
    acc = add_dimensions(acc, [*query.by, *query.filters], tables, ctx, on_date="g_start")
    acc = apply_filters(acc, dict(query.filters))
    start = acc.start_arr.sum()
    if metric.variant == "gross":
        num = ibis.least(acc.start_arr, acc.end_arr).sum()
        return _ratio_out(_group(acc, query, numerator=num, denominator=start))
    if metric.variant == "net":
        return _ratio_out(_group(acc, query, numerator=acc.end_arr.sum(), denominator=start))
    if metric.variant == "revenue_churn":
        lost = (acc.start_arr - ibis.least(acc.start_arr, acc.end_arr)).sum()
        return _ratio_out(_group(acc, query, numerator=lost, denominator=start))
    churned = acc.account_id.count(where=acc.end_arr == 0)
    return _ratio_out(_group(acc, query, numerator=churned, denominator=acc.account_id.count()))


def _ratio_out(out: Table) -> Table:
    return out.mutate(
        value=out.numerator.cast(dt.float64) / out.denominator.cast(dt.float64).nullif(0)
    )


def _forecast_accuracy(
    metric: MetricDefinition, tables: Tables, ctx: Context, query: Query
) -> Table:
    """Stored forecast lines against actual bookings of the same scope and period."""
    if "forecast_lines" not in ctx.available:
        raise ValidationFailed(
            "forecast accuracy needs the forecast_runs and forecast_lines tables"
        )
    lines, runs = tables["forecast_lines"], tables["forecast_runs"]
    point = str(query.params.get("point", "expected"))
    if point not in ("expected", "p50"):
        raise ValidationFailed(f"point must be expected or p50 (got {point!r})")
    r = runs.select(r_id=runs.id, method=runs.method, run_kind=runs.kind, run_as_of=runs.as_of)
    t = lines.join(r, lines.run_id == r.r_id)
    t = t.select(
        id=t.id.cast("int64"),
        team_id=t.team_id.cast("int64"),
        method=t.method,
        run_kind=t.run_kind,
        horizon=t.horizon.cast("int64"),
        period_start=t.period_start.cast("date"),
        period_end=t.period_end.cast("date"),
        forecast=t[point].cast(MONEY),
        stored_actual=t.actual.cast(MONEY),
    )
    # A filter closes the join chain, so the joins below start new ones (PostgreSQL needs it).
    t = t.filter(t.id.notnull())
    for name in ("method", "run_kind", "horizon"):
        wanted = query.params.get(name)
        if wanted is not None:
            t = t.filter(t[name] == wanted)
    actual = _actual_bookings(t, tables, ctx, query)
    t = t.left_join(actual, [("id", "a_id")]).select(*t.columns, "booked")
    now = (query.as_of or ctx.now).date()
    a = t.stored_actual.fill_null(
        ibis.ifelse(t.period_end < now, t.booked.fill_null(0), ibis.null(MONEY))
    )
    t = t.mutate(actual=a).filter(lambda x: x.actual.notnull())
    t = _windowed(t, "period_start", query)
    t = add_dimensions(t, [*query.by, *query.filters], tables, ctx, on_date="period_start")
    t = apply_filters(t, dict(query.filters))
    err = (t.forecast - t.actual).cast(dt.float64)
    act = t.actual.cast(dt.float64)
    if metric.variant == "bias":
        return _ratio_out(_group(t, query, numerator=err.sum(), denominator=act.sum()))
    if metric.variant == "mape":
        ape = err.abs() / act.abs()
        return _group(
            t,
            query,
            value=ape.mean(where=act != 0),
            numerator=ibis.null(dt.float64),
            denominator=ibis.null(dt.float64),
        )
    out = _ratio_out(_group(t, query, numerator=err.abs().sum(), denominator=act.abs().sum()))
    if metric.variant == "accuracy":
        return out.mutate(value=1 - out.value)
    return out


def _actual_bookings(lines: Table, tables: Tables, ctx: Context, query: Query) -> Table:
    """Won value per forecast line: company lines count every deal, team lines their team's."""
    won = facts.opportunities(tables, ctx, as_of=query.as_of, columns=_WON)
    won = won.filter(won.is_won).select("owner_id", "closed_on", "amount_rc")
    teams = tables["teams"]
    names = teams.select(tn_id=teams.id.cast("int64"), a_team=teams.name)
    joined = lines.left_join(names, lines.team_id == names.tn_id)
    ls = joined.select(
        a_id=joined.id, a_start=joined.period_start, a_end=joined.period_end, a_team=joined.a_team
    )
    company = ls.filter(ls.a_team.isnull())
    cj = company.join(won, [won.closed_on >= company.a_start, won.closed_on <= company.a_end])
    company_sum = cj.group_by("a_id").aggregate(booked=cj.amount_rc.sum())
    by_team = add_dimensions(won, ["team"], tables, ctx, on_date="closed_on")
    teams = ls.filter(ls.a_team.notnull())
    tj = teams.join(
        by_team,
        [
            by_team.closed_on >= teams.a_start,
            by_team.closed_on <= teams.a_end,
            by_team[label_column("team")] == teams.a_team,
        ],
    )
    team_sum = tj.group_by("a_id").aggregate(booked=tj.amount_rc.sum())
    return company_sum.union(team_sum)


def funnel(tables: Tables, ctx: Context, query: Query) -> Table:
    """Per stage: deals that entered it in the window, went further, and were won."""
    t = cohorts.stage_entries(tables, ctx, as_of=query.as_of)
    t = _windowed(t, "entered_on", replace(query, grain=None))
    t = add_dimensions(t, list(query.filters), tables, ctx, on_date="entered_on")
    t = apply_filters(t, dict(query.filters))
    return t.group_by(stage="entered_stage", rank="entered_rank").aggregate(
        entered=t.id.count(),
        advanced=t.id.count(where=t.advanced),
        won=t.id.count(where=t.is_won),
    )


def today(ctx: Context) -> date:
    return ctx.now.date()
