"""Period-over-period comparison: the one definition of a change, and rows matched to theirs.

Each row meets the row of the same slice in the comparison period (the previous period or the
same period a year before), so every screen, API and export shows the same deltas.

A period still in progress is compared period-to-date, like the dashboard's cards: 34 days
into a quarter, with the first 34 days of the quarter before (never the whole of it, which
reads as "bookings down 69%" a month in). `salesops.metrics.periods.cut` finds that point.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from salesops.metrics import periods
from salesops.metrics.periods import Window
from salesops.metrics.query_check import Query
from salesops.metrics.schemas import MetricRow

Run = Callable[[Query], list[MetricRow]]
DAY = timedelta(days=1)


def change(value: Any, previous: Any) -> tuple[Any, float | None]:
    """The one definition of a period-over-period change: (delta, delta / |previous|)."""
    if previous is None or value is None:
        return None, None
    delta = value - previous
    return delta, (float(delta) / abs(float(previous)) if previous else None)


def compare_rows(
    rows: list[MetricRow],
    previous: list[MetricRow],
    query: Query,
    compare: str,
    zero: Any = None,
) -> list[MetricRow]:
    """Attach the comparison period's value; `zero` stands in for a missing row of a sum."""

    def key(row: MetricRow, shifted: bool) -> tuple[Any, ...]:
        period = row.period
        if shifted and period is not None:
            period = periods.shift(period, compare, query.grain, query.window)
        return (*(row.dimensions[d] for d in query.by), period)

    before = {key(r, False): r.value for r in previous}
    result = []
    for row in rows:
        prev = before.get(key(row, True), zero)
        delta, pct = change(row.value, prev)
        result.append(replace(row, previous=prev, delta=delta, pct_change=pct))
    return result


def today() -> date:
    """Today for comparisons (UTC; one place, so tests can pin it)."""
    return datetime.now(UTC).date()


def in_progress(query: Query, today: date) -> tuple[date, date] | None:
    """First and last day of the part of the window (its period of `today`, with a grain)
    that is still in progress on `today`, or None when `today` is outside the window."""
    window = query.window
    if window.start is None or window.end is None or not window.start <= today < window.end:
        return None
    if query.grain is None:
        return window.start, window.end - DAY
    start = periods.truncate(today, query.grain)
    end = periods.next_period(start, query.grain)
    return max(start, window.start), min(end, window.end) - DAY


def compared(
    rows: list[MetricRow],
    query: Query,
    compare: str,
    zero: Any,
    run: Run,
    *,
    point_in_time: bool,
    today: date,
) -> tuple[list[MetricRow], str]:
    """`rows` with their comparison values, and what they were compared with, in words.

    The part of the window in progress on `today` is compared with the same elapsed part of
    its comparison period: a metric that can be rebuilt as of a past moment reads the whole
    comparison period as it stood at the matching moment (deals won by then), any other is
    computed over the matching days only.
    """
    earlier = periods.comparison_window(query.window, compare, query.grain)
    result = compare_rows(rows, run(replace(query, window=earlier)), query, compare, zero)
    unit = query.grain or "period"
    other = f"the same {unit} a year before" if compare == "year" else f"the {unit} before"
    current = in_progress(query, today)
    if current is None:
        if query.grain is not None:
            return result, f"each {query.grain} with {other}"
        assert earlier.start is not None
        assert earlier.end is not None
        return result, f"{other}: {earlier.start} to {earlier.end - DAY}"
    first, last = current
    shift = periods.shift
    start = shift(first, compare, query.grain, query.window)
    end = shift(last + DAY, compare, query.grain, query.window) - DAY
    at = periods.cut(first, last, start, end, today)
    assert at.days is not None
    assert at.moment is not None
    as_of: datetime | None = query.as_of
    if point_in_time:
        window, as_of = Window(start, end + DAY), datetime.combine(at.moment, time.max)
    else:
        window = Window(start, at.moment + DAY)
    partial = run(replace(query, window=window, as_of=as_of))
    now = [r for r in result if _within(r, first, query.grain)]
    matched = iter(compare_rows(now, partial, query, compare, zero))
    result = [next(matched) if _within(r, first, query.grain) else r for r in result]
    text = (
        f"period to date: {first} to {today} ({at.days} days) with the same days of {other},"
        f" {start} to {at.moment}"
    )
    if query.grain is not None:
        text += f"; earlier {query.grain}s whole with {other}"
    return result, text


def _within(row: MetricRow, first: date, grain: str | None) -> bool:
    """Whether `row` is the period in progress (every row, without a grain)."""
    if row.period is None or grain is None:
        return True
    return periods.truncate(row.period, grain) == periods.truncate(first, grain)
