"""Period-over-period comparison: the one definition of a change, and rows matched to theirs.

Each row meets the row of the same slice in the comparison period (the previous period or the
same period a year before), so every screen, API and export shows the same deltas.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from salesops.metrics import periods
from salesops.metrics.query_check import Query
from salesops.metrics.schemas import MetricRow


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
