"""Cohorts followed over their tenure: accounts from their first contract, reps from their hire.

Two metric kinds (`cohort_retention`, `ramp_curve`) and the records behind them. Each answers
one point of a curve: the `months_after` / `tenure_month` parameter says which; a grain slices
the cohorts (accounts by the period of their first contract, reps by the period they were
hired). A point is only measured once it has happened (`months_after` months have passed, the
tenure month is over), so a young cohort's curve stops at today instead of dropping to zero.
"""

from __future__ import annotations

import ibis
import ibis.expr.datatypes as dt
from ibis.expr.types import Table, Value

from salesops.errors import Problem, ValidationFailed
from salesops.metrics import cohorts, kinds, opportunity_fact
from salesops.metrics.definitions import MetricDefinition
from salesops.metrics.dimensions import add_dimensions, apply_filters
from salesops.metrics.facts import MONEY, Context, Tables
from salesops.metrics.query_check import Query
from salesops.metrics.steps import group, ratio_out, windowed


def _months(query: Query, name: str, default: int) -> int:
    raw = query.params.get(name, default)
    try:
        value = int(raw)
    except (TypeError, ValueError):
        value = -1
    if value < 0:
        raise ValidationFailed(
            "invalid metric parameter",
            [Problem(f"{name} must be a whole number of months, 0 or more (got {raw!r})", name)],
        )
    return value


def _plus_months(day: Value, months: int) -> Value:
    return (day + ibis.interval(months=months)).cast("date")


def _today(ctx: Context, query: Query) -> Value:
    return ibis.literal((query.as_of or ctx.now).date(), type=dt.date)


def cohort_accounts(tables: Tables, ctx: Context, query: Query) -> Table:
    """Accounts by first contract: value on that day (`start_arr`) and `months_after` later."""
    months = _months(query, "months_after", 12)
    c = cohorts.contracts(tables, ctx)
    first = c.group_by(f_account="account_id").aggregate(first_start=c.start_date.min())
    first = first.mutate(mark=_plus_months(first.first_start, months))
    first = first.filter(first.mark <= _today(ctx, query))
    j = c.join(first, c.account_id == first.f_account)
    zero = ibis.literal(0, type=MONEY)
    at_start = (j.start_date <= j.first_start) & (j.first_start <= j.end_date)
    at_mark = (j.start_date <= j.mark) & (j.mark <= j.end_date)
    j = j.mutate(
        s_value=ibis.ifelse(at_start, j.value_rc, zero),
        e_value=ibis.ifelse(at_mark, j.value_rc, zero),
    )
    acc = j.group_by(["account_id", "first_start", "mark"]).aggregate(
        start_arr=j.s_value.sum(), end_arr=j.e_value.sum()
    )
    acc = windowed(acc.filter(acc.start_arr > 0), "first_start", query)
    acc = add_dimensions(acc, [*query.by, *query.filters], tables, ctx, on_date="first_start")
    return apply_filters(acc, dict(query.filters))


def cohort_retention(metric: MetricDefinition, tables: Tables, ctx: Context, query: Query) -> Table:
    """Share of a cohort's starting contract value (or accounts) still there N months on."""
    acc = cohort_accounts(tables, ctx, query)
    start = acc.start_arr.sum()
    if metric.variant == "gross":
        kept = ibis.least(acc.start_arr, acc.end_arr).sum()
        return ratio_out(group(acc, query, numerator=kept, denominator=start))
    if metric.variant == "logo":
        alive = acc.account_id.count(where=acc.end_arr > 0)
        return ratio_out(group(acc, query, numerator=alive, denominator=acc.account_id.count()))
    return ratio_out(group(acc, query, numerator=acc.end_arr.sum(), denominator=start))


_WON = ("id", "name", "is_won", "closed_on", "amount_rc", "owner_id", "account_id")


def ramp_reps(tables: Tables, ctx: Context, query: Query) -> Table:
    """Quota-carrying reps in their `tenure_month`-th month (0 = the hire month), with the
    month's bounds (`m_start`, `m_end` exclusive), once that month is over."""
    k = _months(query, "tenure_month", 0)
    reps = tables["reps"]
    r = reps.filter(reps.hire_date.notnull()).select(
        owner_id=reps.id.cast("int64"),
        hire_date=reps.hire_date.cast("date"),
        left_on=reps.termination_date.cast("date"),
    )
    r = r.mutate(m_start=_plus_months(r.hire_date.truncate("M").cast("date"), k))
    r = r.mutate(m_end=_plus_months(r.m_start, 1))
    # Still employed through the whole month: a leaver's last month is not a full month's work.
    r = r.filter((r.m_end <= _today(ctx, query)) & (r.left_on.isnull() | (r.left_on >= r.m_end)))
    q = cohorts.quotas(tables, ctx)
    q = q.filter(q.amount_rc > 0).select(
        q_owner="owner_id", q_from="period_start", q_to="period_end"
    )
    r = r.semi_join(q, [r.owner_id == q.q_owner, q.q_from < r.m_end, q.q_to >= r.m_start])
    return windowed(r.drop("left_on"), "hire_date", query)


def ramp_deals(tables: Tables, ctx: Context, query: Query) -> Table:
    """The deals the reps of `ramp_reps` won in their tenure month."""
    r = ramp_reps(tables, ctx, query)
    r = add_dimensions(r, list(query.filters), tables, ctx, on_date="hire_date")
    r = apply_filters(r, dict(query.filters)).select(
        w_owner="owner_id", w_start="m_start", w_end="m_end"
    )
    won = opportunity_fact.opportunities(tables, ctx, as_of=query.as_of, columns=_WON)
    won = won.filter(won.is_won)
    j = won.join(
        r,
        [won.owner_id == r.w_owner, won.closed_on >= r.w_start, won.closed_on < r.w_end],
    )
    return j.select("id", "name", "owner_id", "account_id", "closed_on", "amount_rc")


def ramp_curve(metric: MetricDefinition, tables: Tables, ctx: Context, query: Query) -> Table:
    """Mean bookings per quota-carrying rep in a month of tenure, per hire cohort."""
    r = ramp_reps(tables, ctx, query)
    won = opportunity_fact.opportunities(tables, ctx, as_of=query.as_of, columns=_WON)
    won = won.filter(won.is_won)
    months = r.select(b_owner="owner_id", b_start="m_start", b_end="m_end")
    j = won.join(
        months,
        [
            won.owner_id == months.b_owner,
            won.closed_on >= months.b_start,
            won.closed_on < months.b_end,
        ],
    )
    booked = j.group_by(s_owner="b_owner").aggregate(booked=j.amount_rc.sum())
    t = r.left_join(booked, r.owner_id == booked.s_owner).drop("s_owner")
    t = t.mutate(booked=t.booked.fill_null(ibis.literal(0, type=MONEY)))
    t = add_dimensions(t, [*query.by, *query.filters], tables, ctx, on_date="hire_date")
    t = apply_filters(t, dict(query.filters))
    return ratio_out(group(t, query, numerator=t.booked.sum(), denominator=t.owner_id.count()))


def records(metric: MetricDefinition, tables: Tables, ctx: Context, query: Query) -> Table:
    """The accounts (retention kinds) or deals (ramp curve) behind a figure of these kinds."""
    if metric.kind == "retention":
        acc = kinds.account_values(tables, ctx, query)
        return acc.select(
            "account_id", period_start="g_start", start_value="start_arr", end_value="end_arr"
        ).order_by("account_id")
    if metric.kind == "cohort_retention":
        acc = cohort_accounts(tables, ctx, query)
        return acc.select(
            "account_id",
            period_start="first_start",
            measured_on="mark",
            start_value="start_arr",
            end_value="end_arr",
        ).order_by("account_id")
    return ramp_deals(tables, ctx, query).order_by("id")
