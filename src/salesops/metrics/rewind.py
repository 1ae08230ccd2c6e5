"""Point in time over the event log: opportunities as they were at a past moment.

The rule is the one of `salesops.pipeline.history`: the value of a field at T is the old value
of the first event after T, else the current value; events exactly at T count as applied. Kept
apart from the facts because each rewound field costs a pass over the event log, and the facts
only ask for the fields a metric reads.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

import ibis
import ibis.expr.datatypes as dt
from ibis.expr.types import Table, Value

from salesops.metrics.facts import MONEY, Context, Tables, map_values, ts

REWINDABLE = ("stage", "amount", "close_date", "forecast_category", "owner")


def rewind(
    base: Table,
    tables: Tables,
    ctx: Context,
    as_of: datetime,
    *,
    closed_at: bool = True,
    fields: Collection[str] = REWINDABLE,
) -> Table:
    """`fields` as they were at `as_of`; `closed_at` also rewinds the closing time.

    Only the events of the fields asked for are read: each costs a pass over the event log.
    """
    wanted = ["stage", *(f for f in REWINDABLE if f in fields and f != "stage")]
    events = tables["opportunity_events"]
    ev = events.select(
        eid=events.id,
        opportunity_id=events.opportunity_id,
        field=events.field,
        old_value=events.old_value,
        new_value=events.new_value,
        at=ts(events.at),
    )
    later = ev.filter((ev.at > as_of) & ev.field.isin(wanted))
    if ctx.ordered_first:
        rows, order = later, [later.at, later.eid]
        aggs: dict[str, Value] = {
            f"old_{name}": rows.old_value.first(
                where=rows.field == name, order_by=order, include_null=True
            )
            for name in wanted
        }
    else:
        window = ibis.window(
            group_by=[later.opportunity_id, later.field], order_by=[later.at, later.eid]
        )
        rows = later.mutate(rn=ibis.row_number().over(window)).filter(lambda t: t.rn == 0)
        aggs = {f"old_{name}": rows.old_value.max(where=rows.field == name) for name in wanted}
    if "close_date" in wanted:
        aggs["has_close"] = rows.field.count(where=rows.field == "close_date")
    rewound = rows.group_by(rw_id=rows.opportunity_id).aggregate(**aggs)
    t = base.filter(base.created_at <= as_of)
    t = t.left_join(rewound, t.id == rewound.rw_id).drop("rw_id")
    stage = t.old_stage.fill_null(t.stage)
    changes: dict[str, Value] = {"stage": stage}
    if closed_at:
        closed_names = [s.name for s in ctx.stages if s.category != "open"]
        closes = ev.filter(
            (ev.field == "stage") & ev.new_value.isin(closed_names) & (ev.at <= as_of)
        )
        closes = closes.group_by(cl_id=closes.opportunity_id).aggregate(last_close=closes.at.max())
        t = t.left_join(closes, t.id == closes.cl_id).drop("cl_id")
        stage = t.old_stage.fill_null(t.stage)
        categories = {s.name: s.category for s in ctx.stages}
        category = map_values(stage, categories, dt.string).fill_null("open")
        changes["stage"] = stage
        changes["closed_at"] = ibis.cases(
            (category == "open", ibis.null(dt.Timestamp())),
            (t.closed_at <= as_of, t.closed_at),
            else_=t.last_close.fill_null(t.closed_at),
        )
    if "amount" in wanted:
        changes["amount"] = t.old_amount.cast(MONEY).fill_null(t.amount)
    if "close_date" in wanted:
        changes["close_date"] = ibis.ifelse(
            t.has_close.fill_null(0) > 0, t.old_close_date.cast("date"), t.close_date
        )
    if "forecast_category" in wanted:
        changes["forecast_category"] = t.old_forecast_category.fill_null(t.forecast_category)
    if "owner" in wanted:
        changes["owner_id"] = t.old_owner.cast("int64").fill_null(t.owner_id)
    t = t.mutate(**changes)
    helpers = [*aggs, *(["last_close"] if closed_at else [])]
    return t.drop(*helpers)


def events_until(tables: Tables, as_of: datetime | None) -> Table:
    """The event log up to `as_of` (all of it when None), for what a deal had reached by then."""
    events = tables["opportunity_events"]
    ev = events.select(
        opportunity_id=events.opportunity_id.cast("int64"),
        field=events.field,
        new_value=events.new_value,
        at=ts(events.at),
        eid=events.id,
    )
    return ev.filter(ev.at <= as_of) if as_of is not None else ev
