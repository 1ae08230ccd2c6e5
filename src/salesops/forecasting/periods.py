"""Calendar periods (months and quarters) as half-open [start, next start) date ranges."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from salesops.errors import ValidationFailed

Grain = Literal["month", "quarter"]
GRAINS: tuple[str, ...] = ("month", "quarter")


def check_grain(grain: str) -> Grain:
    """`grain` if it is one salesops forecasts at."""
    if grain not in GRAINS:
        raise ValidationFailed(f"unknown grain {grain!r} (use one of: {', '.join(GRAINS)})")
    return grain  # type: ignore[return-value]


def period_start(day: date, grain: Grain) -> date:
    """The first day of the period that contains `day`."""
    if grain == "month":
        return date(day.year, day.month, 1)
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def shift(start: date, periods: int, grain: Grain) -> date:
    """The start of the period `periods` after (or before, if negative) the one at `start`."""
    months = periods * (1 if grain == "month" else 3)
    index = start.year * 12 + start.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True, slots=True)
class Period:
    """A month or a quarter: [start, end) with `end` the next period's first day."""

    start: date
    end: date
    grain: Grain

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    @property
    def label(self) -> str:
        if self.grain == "month":
            return f"{self.start.year}-{self.start.month:02d}"
        return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"

    @property
    def start_at(self) -> datetime:
        """The first instant of the period, UTC."""
        return datetime(self.start.year, self.start.month, self.start.day, tzinfo=UTC)

    @property
    def end_at(self) -> datetime:
        return datetime(self.end.year, self.end.month, self.end.day, tzinfo=UTC)


def period_of(day: date, grain: Grain) -> Period:
    """The period containing `day`."""
    start = period_start(day, grain)
    return Period(start, shift(start, 1, grain), grain)


def periods_between(first: date, last: date, grain: Grain) -> list[Period]:
    """Every period whose start lies in [period of `first`, period of `last`]."""
    start = period_start(first, grain)
    stop = period_start(last, grain)
    out: list[Period] = []
    while start <= stop:
        out.append(period_of(start, grain))
        start = shift(start, 1, grain)
    return out


def following(start: date, count: int, grain: Grain) -> list[Period]:
    """`count` consecutive periods starting with the one that contains `start`."""
    first = period_start(start, grain)
    return [period_of(shift(first, i, grain), grain) for i in range(count)]


def position_in_quarter(start: date) -> int:
    """0, 1 or 2 for the first, second or third month of its quarter."""
    return (start.month - 1) % 3
