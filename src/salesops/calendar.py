"""Calendar periods (weeks, months, quarters, years) as half-open [start, next start) ranges.

One definition shared by metrics and forecasting. It imports nothing from either package:
importing `salesops.metrics` pulls in Ibis, which forecasting must not pay for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal

Grain = Literal["week", "month", "quarter", "year"]
GRAINS: tuple[Grain, ...] = ("week", "month", "quarter", "year")

# Months per period for the month-based grains; weeks are counted in days instead.
MONTHS: dict[str, int] = {"month": 1, "quarter": 3, "year": 12}


def add_months(day: date, months: int) -> date:
    """`day` moved by whole months, clamped to the end of shorter months."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    for candidate in (day.day, 30, 29, 28):
        try:
            return date(year, month + 1, min(day.day, candidate))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def period_start(day: date, grain: str) -> date:
    """The first day of the `grain` period containing `day` (weeks start on Monday)."""
    if grain == "week":
        return day - timedelta(days=day.weekday())
    if grain == "month":
        return date(day.year, day.month, 1)
    if grain == "quarter":
        return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    if grain == "year":
        return date(day.year, 1, 1)
    raise ValueError(f"unknown grain {grain!r}")


def shift(day: date, periods: int, grain: str) -> date:
    """The start of the period `periods` after (before, if negative) the one containing `day`."""
    start = period_start(day, grain)
    if grain == "week":
        return start + timedelta(days=7 * periods)
    return add_months(start, periods * MONTHS[grain])


def next_period(day: date, grain: str) -> date:
    """The first day of the period after the one containing `day`."""
    return shift(day, 1, grain)


@dataclass(frozen=True, slots=True)
class Period:
    """One calendar period: [start, end) with `end` the next period's first day."""

    start: date
    end: date
    grain: Grain

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    @property
    def label(self) -> str:
        """`2025-W03` (ISO week), `2025-01`, `2025-Q1` or `2025`."""
        if self.grain == "week":
            year, week, _ = self.start.isocalendar()
            return f"{year}-W{week:02d}"
        if self.grain == "month":
            return f"{self.start.year}-{self.start.month:02d}"
        if self.grain == "quarter":
            return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
        return str(self.start.year)

    @property
    def start_at(self) -> datetime:
        """The first instant of the period, UTC."""
        return datetime(self.start.year, self.start.month, self.start.day, tzinfo=UTC)

    @property
    def end_at(self) -> datetime:
        """The first instant after the period, UTC."""
        return datetime(self.end.year, self.end.month, self.end.day, tzinfo=UTC)


def period_of(day: date, grain: Grain) -> Period:
    """The period containing `day`."""
    start = period_start(day, grain)
    return Period(start, shift(start, 1, grain), grain)


def periods_between(first: date, last: date, grain: Grain) -> list[Period]:
    """Every period from the one containing `first` through the one containing `last`."""
    start = period_start(first, grain)
    stop = period_start(last, grain)
    out: list[Period] = []
    while start <= stop:
        out.append(period_of(start, grain))
        start = shift(start, 1, grain)
    return out


def following(day: date, count: int, grain: Grain) -> list[Period]:
    """`count` consecutive periods starting with the one that contains `day`."""
    return [period_of(shift(day, i, grain), grain) for i in range(count)]


def quarter_label(day: date) -> str:
    """`2025-Q3` for any day of that quarter."""
    return period_of(day, "quarter").label
