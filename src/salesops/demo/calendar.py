"""Vectorised calendar arithmetic on int64 seconds (and days) since the Unix epoch, UTC."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt

DAY = 86_400
HOUR = 3_600
I64 = npt.NDArray[np.int64]


def day_number(value: date) -> int:
    """Days since 1970-01-01."""
    return (value - date(1970, 1, 1)).days


def seconds(value: date) -> int:
    """Seconds since the epoch at midnight UTC of `value`."""
    return day_number(value) * DAY


def months(ts: npt.NDArray[Any]) -> I64:
    """Months since January 1970 of each timestamp."""
    return ts.astype("datetime64[s]").astype("datetime64[M]").astype(np.int64)


def month_start_day(month: npt.NDArray[Any]) -> I64:
    """The day number of the first day of each month index."""
    return month.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)


def quarters(ts: npt.NDArray[Any]) -> I64:
    """Quarters since 1970-Q1 of each timestamp."""
    return months(ts) // 3


def quarter_start_day(quarter: npt.NDArray[Any]) -> I64:
    return month_start_day(quarter * 3)


def quarter_end_day(quarter: npt.NDArray[Any]) -> I64:
    """The last day of each quarter."""
    return month_start_day(quarter * 3 + 3) - 1


def month_end_day(ts: npt.NDArray[Any]) -> I64:
    return month_start_day(months(ts) + 1) - 1


def add_months_days(day: npt.NDArray[Any], count: npt.NDArray[Any]) -> I64:
    """`day` moved by whole calendar months (clamped to the month's last day)."""
    d = day.astype("datetime64[D]")
    month = d.astype("datetime64[M]")
    offset = (d - month.astype("datetime64[D]")).astype(np.int64)
    target = month + count.astype(np.int64)
    length = ((target + 1).astype("datetime64[D]") - target.astype("datetime64[D]")).astype(
        np.int64
    )
    return target.astype("datetime64[D]").astype(np.int64) + np.minimum(offset, length - 1)  # type: ignore[no-any-return]


def weekday(ts: npt.NDArray[Any]) -> I64:
    """0 for Monday .. 6 for Sunday."""
    return (ts // DAY + 3) % 7


def to_workday(ts: I64) -> I64:
    """Move weekend timestamps to the following Monday, same time of day."""
    wd = weekday(ts)
    return ts + np.where(wd >= 5, (7 - wd) * DAY, 0)  # type: ignore[no-any-return]
