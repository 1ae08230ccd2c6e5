"""The metric kinds with a computation of their own: ramp time, retention, forecast accuracy.

Aggregates, ratios, formulas and shares are built from the same few steps (`compiler`); these
three each join their own inputs (quotas against bookings, contracts against a period grid,
stored forecast lines against actual bookings) before the shared grouping.
"""

from __future__ import annotations

import ibis
import ibis.expr.datatypes as dt
from ibis.expr.types import Table, Value

from salesops.errors import ValidationFailed
from salesops.metrics import cohorts, opportunity_fact, periods
from salesops.metrics.definitions import MetricDefinition
from salesops.metrics.dimensions import add_dimensions, apply_filters, label_column
from salesops.metrics.facts import MONEY, Context, Tables
from salesops.metrics.periods import Window
from salesops.metrics.query_check import Query
from salesops.metrics.steps import group, quota_periods, ratio_out, windowed

_WON = ("is_won", "closed_on", "amount_rc", "owner_id")


def _month_index(value: Value) -> Value:
    return value.year().cast("int64") * 12 + value.month().cast("int64")


def ramp_time(tables: Tables, ctx: Context, query: Query) -> Table:
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
        monthly = quota_periods(
            q, Query(grain="month", window=Window(periods.truncate(start, "month"), end))
        )
        quota = monthly.group_by(q_owner="owner_id", q_month="period").aggregate(
            quota=monthly.amount_rc.cast(dt.float64).sum()
        )
        won = opportunity_fact.opportunities(tables, ctx, as_of=query.as_of, columns=_WON)
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
    t = windowed(t, "hire_date", query)
    t = add_dimensions(t, [*query.by, *query.filters], tables, ctx, on_date="hire_date")
    t = apply_filters(t, dict(query.filters))
    return group(
        t,
        query,
        value=t.ramp_months.cast(dt.float64).median(),
        numerator=t.ramp_months.count(),
        denominator=t.owner_id.count(),
    )


def retention(metric: MetricDefinition, tables: Tables, ctx: Context, query: Query) -> Table:
    """Account revenue at each period's start and end, from the contracts active those days."""
    acc = account_values(tables, ctx, query)
    start = acc.start_arr.sum()
    if metric.variant == "gross":
        num = ibis.least(acc.start_arr, acc.end_arr).sum()
        return ratio_out(group(acc, query, numerator=num, denominator=start))
    if metric.variant == "net":
        return ratio_out(group(acc, query, numerator=acc.end_arr.sum(), denominator=start))
    if metric.variant == "revenue_churn":
        lost = (acc.start_arr - ibis.least(acc.start_arr, acc.end_arr)).sum()
        return ratio_out(group(acc, query, numerator=lost, denominator=start))
    churned = acc.account_id.count(where=acc.end_arr == 0)
    return ratio_out(group(acc, query, numerator=churned, denominator=acc.account_id.count()))


def account_values(tables: Tables, ctx: Context, query: Query) -> Table:
    """Per account and period: annual contract value on the period's first day (`start_arr`,
    only accounts where it is positive) and on the day after its last day (`end_arr`)."""
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
    return apply_filters(acc, dict(query.filters))


def forecast_accuracy(
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
    t = windowed(t, "period_start", query)
    t = add_dimensions(t, [*query.by, *query.filters], tables, ctx, on_date="period_start")
    t = apply_filters(t, dict(query.filters))
    err = (t.forecast - t.actual).cast(dt.float64)
    act = t.actual.cast(dt.float64)
    if metric.variant == "bias":
        return ratio_out(group(t, query, numerator=err.sum(), denominator=act.sum()))
    if metric.variant == "mape":
        ape = err.abs() / act.abs()
        return group(
            t,
            query,
            value=ape.mean(where=act != 0),
            numerator=ibis.null(dt.float64),
            denominator=ibis.null(dt.float64),
        )
    out = ratio_out(group(t, query, numerator=err.abs().sum(), denominator=act.abs().sum()))
    if metric.variant == "accuracy":
        return out.mutate(value=1 - out.value)
    return out


def _actual_bookings(lines: Table, tables: Tables, ctx: Context, query: Query) -> Table:
    """Won value per forecast line: company lines count every deal, team lines their team's."""
    won = opportunity_fact.opportunities(tables, ctx, as_of=query.as_of, columns=_WON)
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
