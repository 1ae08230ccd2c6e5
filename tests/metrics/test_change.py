"""Period-over-period change has one definition, shared by the service and the dashboard."""

from __future__ import annotations

from decimal import Decimal

from salesops import metrics


def test_change_is_the_delta_over_the_absolute_previous_value() -> None:
    assert metrics.change(Decimal(150), Decimal(100)) == (Decimal(50), 0.5)
    assert metrics.change(Decimal(-50), Decimal(-100)) == (Decimal(50), 0.5)


def test_change_from_zero_or_nothing_has_no_percentage() -> None:
    assert metrics.change(Decimal(10), Decimal(0)) == (Decimal(10), None)
    assert metrics.change(Decimal(10), None) == (None, None)
    assert metrics.change(None, Decimal(10)) == (None, None)
