"""What a dashboard period is compared with: the period before it, cut at the same point.

A period in progress is compared period-to-date: 34 days into a quarter, the first 34 days of
the previous quarter, never the whole of it (that reads as "bookings down 69%" a month in). A
finished period is compared with the whole previous period; its open pipeline is the one it
started with (the deals still open today are no longer that period's pipeline).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from salesops.calendar import add_months
from salesops.metrics import periods as metric_periods
from salesops.metrics.periods import State
from salesops.web.filters import Filters, period_label

PERIOD_MONTHS = {"quarter": 3, "month": 1, "year": 12}


@dataclass(frozen=True)
class Comparison:
    """The selected period's state and the slice of the previous period it is compared with."""

    state: State
    start: date  # the previous period's first day
    end: date  # and its last
    label: str  # the previous period, e.g. "Q2 2026"
    days: int | None  # days of the selected period elapsed, today included (in progress)
    moment: date | None  # the day in the previous period that matches today

    @property
    def flow_text(self) -> str:
        """How bookings-like figures are compared, as the card says it."""
        if self.state == "current":
            return f"same {self.days} days of {self.label}"
        return "" if self.state == "future" else self.label

    @property
    def snapshot_text(self) -> str:
        """How open-pipeline figures are compared, as the card says it."""
        if self.state == "past":
            return f"start of {self.label}"
        if self.state == "current":
            return f"day {self.days} of {self.label}"
        assert self.moment is not None
        return f"{self.label}, {(self.start - self.moment).days} days before it began"


def today() -> date:
    """The dashboard's today (one place, so tests can pin it)."""
    return date.today()


def state_of(f: Filters, today: date) -> State:
    if today > f.end:
        return "past"
    return "current" if today >= f.start else "future"


def comparison(f: Filters, today: date) -> Comparison:
    """The previous period of `f` and the point in it that matches `today`."""
    months = PERIOD_MONTHS[f.kind]
    start = add_months(f.start, -months)
    end = f.start - timedelta(days=1)
    at = metric_periods.cut(f.start, f.end, start, end, today)
    return Comparison(at.state, start, end, period_label(f.kind, start), at.days, at.moment)
