"""Forecasting periods: the months and quarters salesops forecasts at.

The calendar arithmetic lives in `salesops.calendar`, shared with metrics; this module keeps
the names forecasting code imports and the grains it accepts.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from salesops.calendar import Period as Period
from salesops.calendar import following as following
from salesops.calendar import period_of as period_of
from salesops.calendar import period_start as period_start
from salesops.calendar import periods_between as periods_between
from salesops.calendar import shift as shift
from salesops.errors import ValidationFailed

Grain = Literal["month", "quarter"]
GRAINS: tuple[str, ...] = ("month", "quarter")


def check_grain(grain: str) -> Grain:
    """`grain` if it is one salesops forecasts at."""
    if grain not in GRAINS:
        raise ValidationFailed(f"unknown grain {grain!r} (use one of: {', '.join(GRAINS)})")
    return grain  # type: ignore[return-value]


def position_in_quarter(start: date) -> int:
    """0, 1 or 2 for the first, second or third month of its quarter."""
    return (start.month - 1) % 3
