"""The semantic layer: wide fact tables built as Ibis expressions over the canonical tables.

Every engine sees the same facts, whatever the backend stores: timestamps become naive UTC,
money becomes decimal(18, 2) in the reporting currency, stages carry their category, order and
funnel rank. This module holds what every fact shares (column lists, the data's context, types,
currency conversion); the opportunities fact is `opportunity_fact`, the facts built on it are
`cohorts`, and point in time (`as_of`) is `rewind`.
"""

from __future__ import annotations

from collections.abc import Mapping
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
        "owner_has_quota",
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
        "won_amount_rc",
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


def map_values(value: Value, mapping: Mapping[Any, Any], out: dt.DataType) -> Value:
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
