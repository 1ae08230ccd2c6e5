"""Interval calibration: the Monte Carlo spread scaled by a method's own past errors."""

from __future__ import annotations

import numpy as np
import pytest

from salesops.forecasting import simulate


def scale(scores: list[float]) -> float:
    return simulate.conformal_scale(scores, coverage=0.8, min_scores=4, max_scale=4.0)


def test_the_scale_is_the_conformal_quantile_of_the_past_scores() -> None:
    scores = [0.5, 1.5, 2.0, 0.8, 1.2, 3.0, 0.9, 1.1, 1.0]
    # n = 9: the ceil(0.8 * 10) = 8th smallest score.
    assert scale(scores) == 2.0
    # n = 5: ceil(0.8 * 6) = 5, the largest: narrowing is allowed with enough history.
    assert scale([0.2, 0.3, 0.4, 0.5, 0.6]) == 0.6


def test_short_histories_only_ever_widen_and_no_history_keeps_the_simulated_spread() -> None:
    assert scale([0.2, 0.4, 0.6]) == 1.0
    assert scale([0.2, 2.5, 0.6]) == 2.5
    assert scale([]) == 1.0


def test_the_scale_stays_within_a_factor_of_four() -> None:
    assert scale([10.0] * 9) == 4.0
    assert scale([0.01] * 9) == 0.25


def test_widening_keeps_the_mean_and_never_goes_below_zero() -> None:
    total = np.array([[0.0], [10.0], [20.0], [30.0]])  # mean 15
    dist = simulate.Distribution(pipeline=total, run_rate=np.zeros_like(total), total=total)
    wide = simulate.widen(dist, 2.0)
    # -15, 5, 25, 45 cut at zero (mean 18.75, up from 15), then rescaled by 15 / 18.75.
    assert wide.total[:, 0].tolist() == pytest.approx([0.0, 4.0, 20.0, 36.0])
    assert wide.expected[0] == pytest.approx(15.0)
    narrow = simulate.widen(dist, 0.5)
    assert narrow.total[:, 0].tolist() == pytest.approx([7.5, 12.5, 17.5, 22.5])
    assert narrow.expected[0] == pytest.approx(15.0)
