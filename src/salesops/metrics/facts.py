"""The semantic layer: wide fact tables built as Ibis expressions over the canonical tables.

Every engine sees the same facts, whatever the backend stores: timestamps become naive UTC,
money becomes decimal(18, 2) in the reporting currency, stages carry their category, order and
funnel rank. Point in time (`as_of`) rewinds opportunities with the same rule as
`salesops.pipeline.history`: the value of a field at T is the old value of the first event after
T, else the current value; events exactly at T count as applied.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import ibis
import ibis.expr.datatypes as dt
from ibis.expr.types import Table, Value

MONEY = dt.Decimal(18, 2)
RATIO = dt.Decimal(7, 4)
RATE = dt.Decimal(18, 8)
FAR_PAST = date(1900, 1, 1)
FAR_FUTURE = date(9999, 12, 31)
NONE_LABEL = "(none)"

Tables = Mapping[str, Table]

_DIM_KEYS = ("owner_id", "account_id", "product_id", "territory_id")
_OPP_ATTRS = ("type", "lead_source", "competitor", "amount_rc", "stage", "forecast_category")

FACT_COLUMNS: dict[str, tuple[str, ...]] = {
    "opportunities": (
        "id",
        "name",
        *_DIM_KEYS,
        "currency",
        "amount",
        "amount_rc",
        "stage",
        "stage_order",
        "stage_rank",
        "stage_category",
        "is_open",
        "is_won",
        "is_lost",
        "is_closed",
        "stage_probability",
        "rep_probability",
        "probability",
        "forecast_category",
        "close_date",
        "type",
        "lead_source",
        "competitor",
        "loss_reason",
        "created_at",
        "created_on",
        "engaged_at",
        "closed_at",
        "closed_on",
        "cycle_days",
        "cycle_days_from_creation",
        "last_event_at",
        "days_since_last_event",
        "max_rank_reached",
    ),
    "stage_entries": (
        "id",
        "opportunity_id",
        *_DIM_KEYS,
        *_OPP_ATTRS,
        "entered_stage",
        "entered_rank",
        "entered_at",
        "entered_on",
        "exited_at",
        "days_in_stage",
        "advanced",
        "is_won",
        "is_open_stage",
    ),
    "leads": (
        "id",
        "owner_id",
        "lead_source",
        "campaign",
        "status",
        "created_at",
        "created_on",
        "converted_at",
        "is_converted",
        "converted_opportunity_id",
        "is_won",
    ),
    "quotas": ("id", "owner_id", "period_start", "period_end", "amount_rc", "full_amount_rc"),
}
FACT_DATES: dict[str, tuple[str, ...]] = {
    "opportunities": ("created_on", "closed_on", "close_date"),
    "stage_entries": ("entered_on",),
    "leads": ("created_on",),
    "quotas": ("period",),
}
# Columns that cost a join over the event log: only built when a metric uses them.
EVENT_COLUMNS = frozenset({"last_event_at", "days_since_last_event", "max_rank_reached"})


@dataclass(frozen=True)
class StageInfo:
    """A pipeline stage as the compiler needs it (plain data, read once per query)."""

    id: int
    name: str
    sort_order: int
    category: str
    probability: Decimal


@dataclass(frozen=True)
class Context:
    """What the compiler needs to know about the data besides the tables themselves."""

    reporting_currency: str
    stages: tuple[StageInfo, ...]
    now: datetime
    currencies: frozenset[str] = frozenset()
    team_parents: tuple[tuple[int, int | None, str], ...] = ()
    available: frozenset[str] = frozenset()
    # First and last day covered by quotas: the calendar ramp analysis runs over.
    quota_range: tuple[date, date] | None = None
    # The backend has a fast ordered `first` aggregate (DuckDB): a deal's first event after a
    # date is then one hash aggregate instead of a window sorted over the later events.
    ordered_first: bool = False

    def rank(self, stage: str) -> int:
        """A stage's place in the funnel: open stages by order, won after all of them."""
        for info in self.stages:
            if info.name.lower() == stage.lower():
                ranks = self.ranks()
                if info.name in ranks:
                    return ranks[info.name]
        from salesops.errors import ValidationFailed

        known = ", ".join(s.name for s in self.stages)
        raise ValidationFailed(f"unknown or lost stage {stage!r} (stages: {known})")

    def ranks(self) -> dict[str, int]:
        """Funnel rank per stage name; lost stages have none (losing is not progress)."""
        open_stages = sorted(
            (s for s in self.stages if s.category == "open"), key=lambda s: s.sort_order
        )
        ranks = {s.name: i + 1 for i, s in enumerate(open_stages)}
        for s in self.stages:
            if s.category == "won":
                ranks[s.name] = len(open_stages) + 1
        return ranks

    @property
    def needs_fx(self) -> bool:
        return bool(self.currencies - {self.reporting_currency})


def ts(value: Value) -> Value:
    """A timestamp as naive UTC (engines that store time zones are in a UTC session)."""
    kind = value.type()
    if kind.is_timestamp() and kind.timezone is None:
        return value  # already naive UTC: a cast would cost a time-zone conversion per row
    return value.cast(dt.Timestamp())


def _map(value: Value, mapping: Mapping[Any, Any], out: dt.DataType) -> Value:
    if not mapping:
        return ibis.null(out)
    return ibis.cases(
        *[(value == key, ibis.literal(val, type=out)) for key, val in mapping.items()],
        else_=ibis.null(out),
    )


def day_diff(later: Value, earlier: Value) -> Value:
    """Whole days from `earlier` to `later` (both dates)."""
    return later.delta(earlier, unit="day").cast("int64")


def fx_ranges(tables: Tables) -> Table:
    """FX rates with the date range each is valid for: from its date to the next rate's date."""
    fx = tables["fx_rates"]
    fx = fx.select(
        fx_currency=fx.currency, rate_date=fx.rate_date.cast("date"), rate=fx.rate.cast(RATE)
    )
    window = ibis.window(group_by=fx.fx_currency, order_by=fx.rate_date)
    fx = fx.mutate(
        valid_to=fx.rate_date.lead().over(window),
        first=ibis.row_number().over(window) == 0,
    )
    return fx.mutate(
        valid_from=ibis.ifelse(fx.first, ibis.literal(FAR_PAST), fx.rate_date),
        valid_to=fx.valid_to.fill_null(ibis.literal(FAR_FUTURE)),
    )


def convert(table: Table, ctx: Context, tables: Tables, amount: str, on: str, out: str) -> Table:
    """Add `out`: `amount` in the reporting currency at the rate valid on date column `on`.

    Each amount is multiplied by the rate valid that day (the latest rate on or before it, the
    earliest rate for older dates) and rounded to the cent, so sums stay exact decimals.
    """
    if not ctx.needs_fx:
        return table.mutate(**{out: table[amount].cast(MONEY)})
    fx = fx_ranges(tables)
    joined = table.left_join(
        fx,
        [
            table.currency == fx.fx_currency,
            fx.valid_from <= table[on],
            table[on] < fx.valid_to,
        ],
    )
    converted = ibis.ifelse(
        joined.currency == ctx.reporting_currency,
        joined[amount].cast(MONEY),
        (joined[amount].cast(MONEY) * joined.rate).round(2).cast(MONEY),
    )
    return joined.mutate(**{out: converted}).drop(
        "fx_currency", "rate_date", "rate", "valid_to", "first", "valid_from"
    )


REWINDABLE = ("stage", "amount", "close_date", "forecast_category", "owner")


def _rewind(
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
        category = _map(stage, categories, dt.string).fill_null("open")
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


# Derived columns of the opportunities fact and the derived columns each one is built from.
_DERIVED: dict[str, tuple[str, ...]] = {
    "stage_category": (),
    "stage_order": (),
    "stage_rank": (),
    "stage_probability": (),
    "is_open": ("stage_category",),
    "is_won": ("stage_category",),
    "is_lost": ("stage_category",),
    "is_closed": ("stage_category",),
    "created_on": (),
    "rep_probability": ("stage_probability",),
    "closed_on": ("is_closed",),
    "cycle_days": ("closed_on", "created_on"),
    "cycle_days_from_creation": ("closed_on", "created_on"),
    "amount_rc": ("closed_on", "created_on"),
    "last_event_at": ("created_on", "stage_rank"),
    "days_since_last_event": ("created_on", "stage_rank"),
    "max_rank_reached": ("stage_rank",),
}


def _needed(columns: Collection[str] | None, ctx: Context) -> set[str]:
    """The derived columns to build for `columns` (all of them when None)."""
    if columns is None:
        return set(_DERIVED) - EVENT_COLUMNS
    todo = [c for c in columns if c in _DERIVED]
    result: set[str] = set()
    while todo:
        name = todo.pop()
        if name in result:
            continue
        result.add(name)
        deps = _DERIVED[name]
        if name == "amount_rc" and not ctx.needs_fx:
            deps = ()  # no conversion: the amount needs no date
        todo.extend(deps)
    return result


def _rewound(columns: Collection[str] | None, need: set[str]) -> set[str]:
    """The event-sourced fields a caller's columns depend on (every one when None)."""
    if columns is None:
        return set(REWINDABLE)
    wanted = set(columns) | need
    fields = set()
    if wanted & {"amount", "amount_rc"}:
        fields.add("amount")
    if wanted & {"close_date", "closed_on", "fx_on"} or (
        "amount_rc" in wanted and "closed_on" in need
    ):
        fields.add("close_date")
    if "forecast_category" in wanted:
        fields.add("forecast_category")
    if "owner_id" in wanted:
        fields.add("owner")
    return fields


def opportunities(
    tables: Tables,
    ctx: Context,
    *,
    as_of: datetime | None = None,
    columns: Collection[str] | None = None,
) -> Table:
    """The opportunities fact, as of `as_of` when given (else as it is now).

    `columns` names the derived columns the caller uses (None: every one but the event-log
    columns); the plain columns are always there. Building only what is used keeps the
    compiled SQL small.
    """
    need = _needed(columns, ctx)
    o = tables["opportunities"]
    st = tables["pipeline_stages"]
    # Stage attributes come from joins, not CASE expressions: DuckDB 1.4.2 can split one
    # group in two when grouping by a string made by CASE (seen at 2M rows).
    attrs = st.select(
        sa_name=st.name,
        sa_category=st.category,
        sa_order=st.sort_order.cast("int64"),
        sa_probability=st.default_probability.cast(RATIO),
    )
    by_id = st.select(
        st_id=st.id.cast("int64"),
        stage=st.name,
        sa_category=st.category,
        sa_order=st.sort_order.cast("int64"),
        sa_probability=st.default_probability.cast(RATIO),
    )
    # An inner join (stage_id is a required foreign key): DuckDB then pushes a filter on the
    # stage's category into the 7-row stage table and from there into the scan of the deals,
    # which a left join would not (pipeline_value on 1M deals: 0.10 s -> 0.02 s).
    o = o.join(by_id, o.stage_id.cast("int64") == by_id.st_id)
    base = o.select(
        id=o.id.cast("int64"),
        name=o.name,
        owner_id=o.owner_id.cast("int64"),
        account_id=o.account_id.cast("int64"),
        product_id=o.product_id.cast("int64"),
        territory_id=o.territory_id.cast("int64"),
        currency=o.currency,
        amount=o.amount.cast(MONEY),
        stage=o.stage,
        forecast_category=o.forecast_category,
        close_date=o.close_date.cast("date"),
        type=o.type,
        lead_source=o.lead_source,
        competitor=o.competitor,
        loss_reason=o.loss_reason,
        probability=o.probability.cast(RATIO),
        created_at=ts(o.created_at),
        engaged_at=ts(o.engaged_at),
        closed_at=ts(o.closed_at),
        sa_category=o.sa_category,
        sa_order=o.sa_order,
        sa_probability=o.sa_probability,
    )
    if as_of is not None:
        base = _rewind(
            base, tables, ctx, as_of, closed_at="closed_on" in need, fields=_rewound(columns, need)
        )
    if as_of is not None:
        # The stage may have been rewound: its attributes follow its name.
        base = base.drop("sa_category", "sa_order", "sa_probability")
        base = base.left_join(attrs, base.stage == attrs.sa_name).drop("sa_name")
    first: dict[str, Value] = {}
    if "stage_category" in need:
        first["stage_category"] = base.sa_category.fill_null("open")
    if "stage_order" in need:
        first["stage_order"] = base.sa_order
    if "stage_rank" in need:
        first["stage_rank"] = _map(base.stage, ctx.ranks(), dt.int64)
    if "stage_probability" in need:
        first["stage_probability"] = base.sa_probability.fill_null(
            ibis.literal(Decimal(0), type=RATIO)
        )
    if "created_on" in need:
        first["created_on"] = base.created_at.date()
    t = base.mutate(**first) if first else base
    t = t.drop("sa_category", "sa_order", "sa_probability")
    second: dict[str, Value] = {}
    if "stage_category" in need:
        category = t.stage_category
        second.update(
            is_open=category == "open",
            is_won=category == "won",
            is_lost=category == "lost",
            is_closed=category != "open",
        )
    if "rep_probability" in need:
        second["rep_probability"] = t.probability.fill_null(t.stage_probability)
    t = t.mutate(**second) if second else t
    if "closed_on" in need:
        t = t.mutate(
            closed_on=ibis.ifelse(
                t.is_closed, t.closed_at.date().fill_null(t.close_date), ibis.null(dt.date)
            )
        )
    third: dict[str, Value] = {}
    if "cycle_days" in need:
        third["cycle_days"] = day_diff(t.closed_on, t.engaged_at.date().fill_null(t.created_on))
    if "cycle_days_from_creation" in need:
        third["cycle_days_from_creation"] = day_diff(t.closed_on, t.created_on)
    if "amount_rc" in need and ctx.needs_fx:
        third["fx_on"] = t.closed_on.fill_null(t.close_date).fill_null(t.created_on)
    t = t.mutate(**third) if third else t
    if "amount_rc" in need:
        t = convert(t, ctx, tables, "amount", "fx_on", "amount_rc")
        if ctx.needs_fx:
            t = t.drop("fx_on")
    if need & EVENT_COLUMNS:
        t = _with_event_columns(t, tables, ctx, as_of)
    return t


def _events_until(tables: Tables, as_of: datetime | None) -> Table:
    events = tables["opportunity_events"]
    ev = events.select(
        opportunity_id=events.opportunity_id.cast("int64"),
        field=events.field,
        new_value=events.new_value,
        at=ts(events.at),
        eid=events.id,
    )
    return ev.filter(ev.at <= as_of) if as_of is not None else ev


def _with_event_columns(t: Table, tables: Tables, ctx: Context, as_of: datetime | None) -> Table:
    ev = _events_until(tables, as_of)
    rank = _map(ev.new_value, ctx.ranks(), dt.int64)
    moves = ev.field.isin(["created", "stage"])
    summary = ev.group_by(ev_id=ev.opportunity_id).aggregate(
        last_event_at=ev.at.max(),
        ev_rank=rank.max(where=moves),
    )
    now = as_of or ctx.now
    j = t.left_join(summary, t.id == summary.ev_id)
    last = j.last_event_at.fill_null(j.created_at)
    return j.mutate(
        last_event_at=last,
        days_since_last_event=day_diff(ibis.literal(now.date()), last.date()),
        max_rank_reached=ibis.greatest(j.ev_rank.fill_null(0), j.stage_rank.fill_null(0)),
    ).drop("ev_id", "ev_rank")
