"""Interval width and quantile loss beside coverage, and the one default simulation count."""

from __future__ import annotations

import numpy as np
import pytest

from salesops.forecasting import evaluate
from salesops.forecasting.engine import DEFAULT_SIMS, Options


def test_width_and_quantile_loss_match_hand_computed_figures() -> None:
    p10, p50, p90 = np.array([80.0, 0.0]), np.array([100.0, 50.0]), np.array([120.0, 200.0])
    actual = np.array([110.0, 40.0])
    # (40 + 200) / 150
    assert evaluate.interval_width(p10, p90, actual) == pytest.approx(1.6)
    # P10: 0.1 * 30 + 0.1 * 40 = 7; P50: 0.5 * 10 + 0.5 * 10 = 10; P90: 0.1 * 10 + 0.1 * 160
    # = 17; each 2 * loss / 150, averaged.
    expected = (2 * 7 / 150 + 2 * 10 / 150 + 2 * 17 / 150) / 3
    assert evaluate.quantile_loss(p10, p50, p90, actual) == pytest.approx(expected)
    assert expected == pytest.approx(0.151111, abs=1e-6)
    assert evaluate.quantile_loss(p10, p50, p90, np.zeros(2)) is None


def test_a_wide_interval_covers_more_but_scores_worse() -> None:
    rng = np.random.default_rng(3)
    actual = rng.normal(100.0, 10.0, size=200)
    mid = np.full(200, 100.0)
    honest = (mid - 12.8, mid, mid + 12.8)  # the 10% and 90% points of N(100, 10)
    wide = (np.zeros(200), mid, mid * 3)
    assert evaluate.coverage(wide[0], wide[2], actual) == 1.0
    assert evaluate.coverage(honest[0], honest[2], actual) < 1.0
    assert evaluate.interval_width(wide[0], wide[2], actual) > 5 * evaluate.interval_width(
        honest[0], honest[2], actual
    )
    assert evaluate.quantile_loss(*wide, actual) > 3 * evaluate.quantile_loss(*honest, actual)


def test_one_default_number_of_simulations() -> None:
    from salesops.forecasting.api import BacktestRequest, RunRequest
    from salesops.forecasting.cli import backtest, run

    assert DEFAULT_SIMS == 2000
    assert Options().sims == DEFAULT_SIMS
    assert RunRequest().sims == DEFAULT_SIMS
    body = BacktestRequest.model_validate({"from": "2024-01-01", "to": "2024-04-01"})
    assert body.sims == DEFAULT_SIMS
    for command in (run, backtest):
        [sims] = [
            d for d in command.__defaults__ or () if "--sims" in getattr(d, "param_decls", ())
        ]
        assert sims.default == DEFAULT_SIMS
