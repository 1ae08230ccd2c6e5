"""What the metrics service returns: typed, frozen, easy to turn into JSON, CSV or a frame."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from salesops.metrics.definitions import MetricDefinition

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

Number = Decimal | float | int


@dataclass(frozen=True)
class MetricRow:
    """One figure: its dimension labels, its period (with a grain) and its value.

    With a comparison, `previous` is the value of the comparison period (the period before,
    or the same period a year earlier), `delta` is value - previous and `pct_change` is
    delta / |previous| (None when there is no previous value or it is zero).
    """

    dimensions: Mapping[str, str]
    value: Number | None
    period: date | None = None
    numerator: Number | None = None
    denominator: Number | None = None
    previous: Number | None = None
    delta: Number | None = None
    pct_change: float | None = None

    def record(self, metric: str, *, compare: bool = False) -> dict[str, Any]:
        """This row as a flat dict keyed by dimension names, `period` and the metric name."""
        out: dict[str, Any] = dict(self.dimensions)
        if self.period is not None:
            out["period"] = self.period
        out[metric] = self.value
        if compare:
            out["previous"] = self.previous
            out["delta"] = self.delta
            out["pct_change"] = self.pct_change
        return out


@dataclass(frozen=True)
class MetricResult:
    """The rows of one metric query, with the definition and the query that produced them."""

    metric: MetricDefinition
    rows: tuple[MetricRow, ...]
    by: tuple[str, ...] = ()
    grain: str | None = None
    start: date | None = None
    end: date | None = None
    as_of: datetime | None = None
    compare: str | None = None
    # What the rows were compared with, in words with dates ("period to date: ...").
    compared_with: str | None = None
    filters: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    engine: str = "duckdb"
    currency: str = "USD"
    sql: str = ""

    @property
    def name(self) -> str:
        return self.metric.name

    @property
    def total(self) -> Number | None:
        """The value of a query without dimensions or grain (None otherwise or if empty)."""
        if self.by or self.grain or len(self.rows) != 1:
            return None
        return self.rows[0].value

    def to_records(self) -> list[dict[str, Any]]:
        """One dict per row: dimension labels, `period` (with a grain), the value by name."""
        return [r.record(self.metric.name, compare=self.compare is not None) for r in self.rows]

    def columns(self) -> list[str]:
        cols = [*self.by]
        if self.grain:
            cols.append("period")
        cols.append(self.metric.name)
        if self.compare:
            cols += ["previous", "delta", "pct_change"]
        return cols

    def to_pandas(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(self.to_records(), columns=self.columns())

    def to_arrow(self) -> pa.Table:
        import pyarrow as pa

        records = self.to_records()
        return (
            pa.Table.from_pylist(records)
            if records
            else pa.table({c: pa.array([], pa.null()) for c in self.columns()})
        )


@dataclass(frozen=True)
class WaterfallStep:
    label: str
    amount: Decimal
    deals: int


@dataclass(frozen=True)
class Waterfall:
    """How the open pipeline moved from `start` to `end`; `reconciles` is checked exactly.

    start + new + increased - decreased + pulled_in - pushed_out - won - lost = end.
    """

    start: datetime
    end: datetime
    close_from: date | None
    close_to: date | None
    currency: str
    steps: tuple[WaterfallStep, ...]
    dimensions: Mapping[str, str] = field(default_factory=dict)

    def amount(self, label: str) -> Decimal:
        return next(s.amount for s in self.steps if s.label == label)

    @property
    def reconciles(self) -> bool:
        a = self.amount
        flows = (
            a("starting")
            + a("new")
            + a("increased")
            - a("decreased")
            + a("pulled_in")
            - a("pushed_out")
            - a("won")
            - a("lost")
        )
        return flows == a("ending")

    def to_records(self) -> list[dict[str, Any]]:
        return [
            {**self.dimensions, "step": s.label, "amount": s.amount, "deals": s.deals}
            for s in self.steps
        ]


@dataclass(frozen=True)
class FunnelStage:
    """One stage of the cohort funnel: deals that entered it and how many went further."""

    stage: str
    entered: int
    advanced: int
    won: int

    @property
    def conversion(self) -> float | None:
        return self.advanced / self.entered if self.entered else None

    @property
    def win_rate(self) -> float | None:
        return self.won / self.entered if self.entered else None

    @property
    def dropped(self) -> int:
        """Deals of the cohort that went no further (lost, or still in the stage)."""
        return self.entered - self.advanced

    @property
    def drop_off(self) -> float | None:
        return self.dropped / self.entered if self.entered else None


@dataclass(frozen=True)
class MetricInfo:
    """A catalog entry as listed by `salesops metrics list` and the API."""

    name: str
    label: str
    unit: str
    kind: str
    description: str
    dimensions: tuple[str, ...]
    grains: tuple[str, ...]
    extra: dict[str, Any] = field(default_factory=dict)
