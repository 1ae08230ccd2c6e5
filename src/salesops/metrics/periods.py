"""Metric windows, grains and the shifts used for period-over-period comparison.

The calendar arithmetic (period starts, month shifts) lives in `salesops.calendar`, shared with
forecasting; `add_months`, `next_period` and `truncate` are re-exported for existing callers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from salesops.calendar import MONTHS, period_start
from salesops.calendar import add_months as add_months
from salesops.calendar import next_period as next_period
from salesops.errors import ValidationFailed

# The metrics code calls a period start a truncation (as SQL date_trunc does).
truncate = period_start

GRAIN_UNITS = {"week": "W", "month": "M", "quarter": "Q", "year": "Y"}


@dataclass(frozen=True)
class Window:
    """Dates from `start` (inclusive) to `end` (exclusive); either side may be open."""

    start: date | None = None
    end: date | None = None

    @classmethod
    def inclusive(cls, start: date | None, last: date | None) -> Window:
        """The window from `start` through `last`, both days included."""
        if start and last and last < start:
            raise ValidationFailed(f"the window ends ({last}) before it starts ({start})")
        return cls(start, last + timedelta(days=1) if last else None)

    @property
    def bounded(self) -> bool:
        return self.start is not None and self.end is not None


def check_grain(grain: str | None) -> str | None:
    if grain is not None and grain not in GRAIN_UNITS:
        raise ValidationFailed(f"unknown grain {grain!r} (use {', '.join(GRAIN_UNITS)})")
    return grain


def periods(window: Window, grain: str | None) -> list[tuple[date, date]]:
    """The [start, end) periods of `grain` covering a bounded window (one period if no grain)."""
    if window.start is None or window.end is None:
        raise ValidationFailed("this metric needs a bounded window (--from and --to)")
    if grain is None:
        return [(window.start, window.end)]
    result = []
    current = truncate(window.start, grain)
    while current < window.end:
        following = next_period(current, grain)
        result.append((max(current, window.start), min(following, window.end)))
        current = following
    return result


def shift(day: date, compare: str, grain: str | None, window: Window) -> date:
    """`day` moved back to the comparison period (`previous` or `year`)."""
    if compare == "year":
        return day - timedelta(weeks=52) if grain == "week" else add_months(day, -12)
    if grain is not None:
        if grain == "week":
            return day - timedelta(days=7)
        return add_months(day, -MONTHS[grain])
    if window.start is None or window.end is None:
        raise ValidationFailed("--compare previous needs --from and --to (or a grain)")
    return day - (window.end - window.start)


def comparison_window(window: Window, compare: str, grain: str | None) -> Window:
    """The window to compute so that every current row finds its comparison period."""
    if compare not in ("previous", "year"):
        raise ValidationFailed(f"unknown comparison {compare!r} (use previous or year)")
    if window.start is None or window.end is None:
        raise ValidationFailed("a comparison needs a bounded window (--from and --to)")
    if compare == "year" or grain is None:
        return Window(
            shift(window.start, compare, grain, window), shift(window.end, compare, grain, window)
        )
    return Window(shift(truncate(window.start, grain), compare, grain, window), window.end)


State = Literal["past", "current", "future"]


@dataclass(frozen=True)
class Cut:
    """Where a period stands on `today`, and the point of the period it is compared with that
    matches today (shared by the dashboard's cards and the metrics service's `compare`)."""

    state: State
    days: int | None  # days of the period elapsed, today included (in progress only)
    moment: date | None  # the day of the earlier period that matches today (None when past)


def cut(start: date, last: date, earlier_start: date, earlier_last: date, today: date) -> Cut:
    """Period `start`..`last` (inclusive) on `today`, against `earlier_start`..`earlier_last`.

    In progress, 34 days in, the earlier period is cut at its 34th day (never past its end: a
    31-day month after a 30-day one); a period not begun matches a day as far before the
    earlier one's start; a finished period is compared whole.
    """
    if today > last:
        return Cut("past", None, None)
    if today < start:
        return Cut("future", None, earlier_start - (start - today))
    days = (today - start).days + 1
    return Cut("current", days, min(earlier_start + timedelta(days=days - 1), earlier_last))
