"""Calendar periods shared by metrics and forecasting: weeks from Monday, quarters by
calendar month, shifts that wrap across years, half-open bounds."""

from __future__ import annotations

from datetime import UTC, date, datetime
from itertools import pairwise

import pytest

from salesops.calendar import (
    add_months,
    following,
    next_period,
    period_of,
    period_start,
    periods_between,
    quarter_label,
    shift,
)


def test_weeks_start_on_monday_even_across_a_year_end() -> None:
    assert period_start(date(2025, 1, 1), "week") == date(2024, 12, 30)  # a Wednesday
    assert period_start(date(2024, 12, 30), "week") == date(2024, 12, 30)  # the Monday itself
    assert period_start(date(2025, 1, 5), "week") == date(2024, 12, 30)  # the Sunday after
    assert period_start(date(2025, 1, 6), "week") == date(2025, 1, 6)


def test_quarter_boundaries_are_calendar_quarters() -> None:
    assert period_start(date(2025, 3, 31), "quarter") == date(2025, 1, 1)
    assert period_start(date(2025, 4, 1), "quarter") == date(2025, 4, 1)
    assert period_start(date(2025, 12, 31), "quarter") == date(2025, 10, 1)
    q4 = period_of(date(2025, 11, 15), "quarter")
    assert (q4.start, q4.end, q4.last_day) == (
        date(2025, 10, 1),
        date(2026, 1, 1),
        date(2025, 12, 31),
    )
    assert q4.label == "2025-Q4"
    assert quarter_label(date(2025, 7, 1)) == "2025-Q3"


def test_shifts_wrap_across_the_year() -> None:
    assert shift(date(2024, 11, 1), 3, "month") == date(2025, 2, 1)
    assert shift(date(2024, 1, 1), -1, "quarter") == date(2023, 10, 1)
    assert shift(date(2024, 12, 30), 1, "week") == date(2025, 1, 6)
    assert shift(date(2024, 6, 1), -2, "year") == date(2022, 1, 1)
    # a day inside a period shifts from that period's start
    assert shift(date(2025, 2, 20), 1, "quarter") == date(2025, 4, 1)
    assert next_period(date(2025, 12, 1), "month") == date(2026, 1, 1)
    assert next_period(date(2025, 1, 1), "year") == date(2026, 1, 1)


def test_adding_months_clamps_to_shorter_months() -> None:
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2025, 1, 31), 1) == date(2025, 2, 28)
    assert add_months(date(2025, 3, 31), -1) == date(2025, 2, 28)
    assert add_months(date(2025, 5, 31), 1) == date(2025, 6, 30)
    assert add_months(date(2025, 12, 15), 1) == date(2026, 1, 15)
    assert add_months(date(2025, 1, 15), -13) == date(2023, 12, 15)


def test_periods_between_include_both_ends_and_cross_years() -> None:
    months = periods_between(date(2024, 11, 20), date(2025, 2, 3), "month")
    assert [p.label for p in months] == ["2024-11", "2024-12", "2025-01", "2025-02"]
    assert all(a.end == b.start for a, b in pairwise(months))
    assert len(periods_between(date(2023, 1, 1), date(2024, 12, 1), "month")) == 24
    weeks = periods_between(date(2024, 12, 25), date(2025, 1, 8), "week")
    assert [p.label for p in weeks] == ["2024-W52", "2025-W01", "2025-W02"]
    assert periods_between(date(2025, 2, 1), date(2025, 1, 1), "month") == []


def test_following_starts_at_the_period_containing_the_day() -> None:
    quarters = following(date(2025, 11, 15), 3, "quarter")
    assert [p.label for p in quarters] == ["2025-Q4", "2026-Q1", "2026-Q2"]
    assert [p.label for p in following(date(2025, 6, 1), 2, "year")] == ["2025", "2026"]


def test_period_instants_are_utc_midnights_of_the_bounds() -> None:
    month = period_of(date(2025, 2, 10), "month")
    assert month.start_at == datetime(2025, 2, 1, tzinfo=UTC)
    assert month.end_at == datetime(2025, 3, 1, tzinfo=UTC)


def test_unknown_grains_are_refused() -> None:
    with pytest.raises(ValueError, match="fortnight"):
        period_start(date(2025, 1, 1), "fortnight")
