"""Facts built on the opportunities: stage entries from the event log, leads, quotas, contracts.

Same conventions as `salesops.metrics.facts`: naive UTC timestamps, money as decimal(18, 2) in
the reporting currency, and point in time through `as_of` where the data is event-sourced.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

import ibis
import ibis.expr.datatypes as dt
from ibis.expr.types import Table, Value

from salesops.metrics.facts import (
    _DIM_KEYS,
    _OPP_ATTRS,
    MONEY,
    RATIO,
    Context,
    Tables,
    convert,
    map_values,
    ts,
)
from salesops.metrics.opportunity_fact import opportunities
from salesops.metrics.rewind import events_until

# The DuckDB engines keep the entries computed from the whole event log as a table of this name
# (see `salesops.metrics.engines.materialized`), so the funnel need not rerun three windows over
# every event for each query. The compiler reads it only when it is in `tables`.
MATERIALIZED_ENTRIES = "derived_stage_entries"

# Contracts not signed yet are no revenue (contracts/lifecycle.py has the whole lifecycle).
UNSIGNED_CONTRACT_STATUSES = ("draft", "in_review", "approved", "sent")


def entry_events(tables: Tables, ctx: Context, *, as_of: datetime | None = None) -> Table:
    """The first entry of each opportunity into each funnel stage, from the event log alone.

    `rank_after` is the highest funnel rank the deal entered after this entry; `exited_at` is
    the time of its next stage change (null while it is still in the stage).
    """
    ev = events_until(tables, as_of)
    ev = ev.filter(ev.field.isin(["created", "stage"]))
    ranks = ctx.ranks()
    ev = ev.mutate(entered_rank=map_values(ev.new_value, ranks, dt.int64))
    by_time = ibis.window(group_by=ev.opportunity_id, order_by=[ev.at, ev.eid])
    after = ibis.window(group_by=ev.opportunity_id, order_by=[ev.at, ev.eid], rows=(1, None))
    ev = ev.mutate(
        exited_at=ev.at.lead().over(by_time),
        rank_after=ev.entered_rank.max().over(after),
    )
    ev = ev.filter(ev.entered_rank.notnull())
    first = ibis.window(group_by=[ev.opportunity_id, ev.new_value], order_by=[ev.at, ev.eid])
    ev = ev.mutate(entry_no=ibis.row_number().over(first)).filter(lambda e: e.entry_no == 0)
    return ev.select(
        "eid", "opportunity_id", "new_value", "entered_rank", "at", "exited_at", "rank_after"
    )


def stage_entries(
    tables: Tables,
    ctx: Context,
    *,
    as_of: datetime | None = None,
    columns: Collection[str] | None = None,
) -> Table:
    """One row per opportunity and funnel stage it entered (first entry), from the event log.

    `advanced` is true when the deal later entered a stage further down the funnel (a later
    open stage or a won stage), however many stages it skipped; `days_in_stage` is the time to
    the next stage change (null while the deal is still in the stage).
    """
    if as_of is None and MATERIALIZED_ENTRIES in tables:
        ev = tables[MATERIALIZED_ENTRIES]
    else:
        ev = entry_events(tables, ctx, as_of=as_of)
    open_count = sum(1 for s in ctx.stages if s.category == "open")
    deal_columns = (*_DIM_KEYS, *_OPP_ATTRS, "is_won")
    # The deal's own columns cost a join with the whole opportunities fact: only when used
    # (the `stage` dimension of an entry is the stage entered, not the deal's stage now).
    if columns is None or set(columns) & (set(deal_columns) - {"stage"}):
        opp = opportunities(
            tables,
            ctx,
            as_of=as_of,
            columns=("is_won", "amount_rc", "owner_id", "forecast_category"),
        )
        opp = opp.select("id", *deal_columns)
        j = ev.join(opp, ev.opportunity_id == opp.id)
        deal: dict[str, Value] = {k: j[k] for k in deal_columns}
    else:
        j = ev
        deal = {}
    return j.select(
        id=j.eid,
        opportunity_id=j.opportunity_id,
        **deal,
        entered_stage=j.new_value,
        entered_rank=j.entered_rank,
        entered_at=j.at,
        entered_on=j.at.date(),
        exited_at=j.exited_at,
        days_in_stage=(j.exited_at.epoch_seconds() - j.at.epoch_seconds()) / 86400.0,
        advanced=(j.rank_after.fill_null(0) > j.entered_rank),
        is_open_stage=j.entered_rank <= open_count,
    )


def leads(tables: Tables, ctx: Context, *, as_of: datetime | None = None) -> Table:
    """Leads, whether they converted into an opportunity and whether that deal was won."""
    lead = tables["leads"]
    t = lead.select(
        id=lead.id.cast("int64"),
        owner_id=lead.owner_id.cast("int64"),
        lead_source=lead.source,
        campaign=lead.campaign,
        status=lead.status,
        created_at=ts(lead.created_at),
        converted_at=ts(lead.converted_at),
        converted_opportunity_id=lead.converted_opportunity_id.cast("int64"),
    )
    if as_of is not None:
        t = t.filter(t.created_at <= as_of)
        t = t.mutate(
            converted_at=ibis.ifelse(
                t.converted_at <= as_of, t.converted_at, ibis.null(dt.Timestamp())
            )
        )
    opp = opportunities(tables, ctx, as_of=as_of, columns=("is_won", "amount_rc"))
    opp = opp.select(won_id="id", opp_won="is_won", opp_amount="amount_rc")
    j = t.left_join(opp, t.converted_opportunity_id == opp.won_id)
    converted = j.converted_opportunity_id.notnull() & (
        j.converted_at.notnull() if as_of is not None else ibis.literal(True)
    )
    won = converted & j.opp_won.fill_null(False)
    return j.mutate(
        created_on=j.created_at.date(),
        is_converted=converted,
        is_won=won,
        # What the lead brought in: its converted deal's value once that deal is won.
        won_amount_rc=ibis.ifelse(won, j.opp_amount, ibis.literal(0, type=MONEY)),
    ).drop("won_id", "opp_won", "opp_amount")


def quotas(tables: Tables, ctx: Context) -> Table:
    """Rep quotas in the reporting currency; `full_amount_rc` is the quota before ramping."""
    q = tables["quotas"]
    q = q.filter(q.rep_id.notnull())
    t = q.select(
        id=q.id.cast("int64"),
        owner_id=q.rep_id.cast("int64"),
        period_start=q.period_start.cast("date"),
        period_end=q.period_end.cast("date"),
        amount=q.amount.cast(MONEY),
        ramp_factor=q.ramp_factor.cast(RATIO),
        currency=q.currency,
    )
    t = convert(t, ctx, tables, "amount", "period_start", "amount_rc")
    return t.mutate(
        full_amount_rc=ibis.ifelse(
            t.ramp_factor > 0, t.amount_rc / t.ramp_factor, t.amount_rc
        ).cast(dt.float64)
    )


def contracts(tables: Tables, ctx: Context) -> Table:
    """Signed contracts (drafts and contracts still in review, approved or sent excluded) with
    their annual value in the reporting currency."""
    c = tables["contracts"]
    c = c.filter(c.status.notin(list(UNSIGNED_CONTRACT_STATUSES)))
    t = c.select(
        id=c.id.cast("int64"),
        account_id=c.account_id.cast("int64"),
        start_date=c.start_date.cast("date"),
        end_date=c.end_date.cast("date"),
        value=c.value.cast(MONEY),
        currency=c.currency,
        status=c.status,
    )
    return convert(t, ctx, tables, "value", "start_date", "value_rc")
