"""Time-series forecasts of short bookings histories (statsforecast), chosen by backtest.

Bookings histories are short (a few years of months or quarters), often trending (a growing
company) and often seasonal (quarter-end pushes). No single model suits every company, so a
small set of statsforecast models competes on one-step-ahead forecasts of the history's own
last few points (rolling origin) and the best one forecasts; its out-of-sample errors give
the spread. Nothing is tuned to one dataset: the same candidates run everywhere.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

MAX_ORIGINS = 6  # how many of the latest points each candidate is scored on
MIN_SCORED = 2  # a candidate must have forecast at least this many of them


def _candidates(n: int, season: int) -> dict[str, Callable[[], Any]]:
    from statsforecast.models import (
        AutoETS,
        Naive,
        RandomWalkWithDrift,
        SeasonalNaive,
        SeasonalWindowAverage,
        WindowAverage,
    )

    out: dict[str, Callable[[], Any]] = {
        "naive": Naive,
        "mean3": lambda: WindowAverage(window_size=min(3, n)),
    }
    if n >= 3:
        out["drift"] = RandomWalkWithDrift
    if n >= 4:
        out["ets"] = lambda: AutoETS(season_length=1)
    if season > 1 and n >= season + 1:
        out["seasonal_naive"] = lambda: SeasonalNaive(season_length=season)
        out["seasonal_mean"] = lambda: SeasonalWindowAverage(
            season_length=season, window_size=max(1, n // season)
        )
    if season > 1 and n >= 2 * season + 2:
        out["seasonal_ets"] = lambda: AutoETS(season_length=season)
    return out


_MEMO: dict[tuple[str, int, bytes, int], np.ndarray | None] = {}


def _memo_predict(name: str, season: int, y: np.ndarray, horizon: int) -> np.ndarray | None:
    """`_predict`, remembered: a backtest asks for the same history prefixes at every date."""
    key = (name, season, y.tobytes(), horizon)
    if key not in _MEMO:
        if len(_MEMO) > 50_000:
            _MEMO.clear()
        _MEMO[key] = _predict(_candidates(len(y), season)[name], y, horizon)
    return _MEMO[key]


def _predict(make: Callable[[], Any], y: np.ndarray, horizon: int) -> np.ndarray | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mean = np.asarray(make().forecast(y=y, h=horizon)["mean"], dtype="float64")
    except Exception:  # a model that cannot fit this history simply drops out
        return None
    return mean if mean.shape == (horizon,) and np.all(np.isfinite(mean)) else None


def select_model(y: np.ndarray, *, season: int) -> tuple[str, float]:
    """The candidate with the lowest mean absolute one-step error, and its RMSE."""
    n = len(y)
    scores: dict[str, list[float]] = {}
    for origin in range(max(2, n - MAX_ORIGINS), n):
        for name in _candidates(origin, season):
            predicted = _memo_predict(name, season, y[:origin], 1)
            if predicted is not None:
                scores.setdefault(name, []).append(float(predicted[0] - y[origin]))
    eligible = {k: v for k, v in scores.items() if len(v) >= MIN_SCORED}
    if not eligible:
        return "naive", float(np.std(y, ddof=1)) if n > 1 else float(abs(y[0]) * 0.5)
    name = min(eligible, key=lambda k: (float(np.mean(np.abs(eligible[k]))), k))
    errors = np.asarray(eligible[name])
    return name, float(np.sqrt(np.mean(errors**2)))


def forecast_series(y: np.ndarray, horizon: int, *, season: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of the next `horizon` values of `y`."""
    y = np.asarray(y, dtype="float64")
    if len(y) == 0:
        return np.zeros(horizon), np.zeros(horizon)
    if len(y) < 3 or np.allclose(y, y[0]):
        level = float(y.mean())
        spread = float(y.std(ddof=1)) if len(y) > 1 else 0.5 * level
        return np.full(horizon, max(level, 0.0)), np.full(horizon, max(spread, 0.1 * abs(level)))
    name, rmse = select_model(y, season=season)
    mean = _memo_predict(name, season, y, horizon)
    if mean is None:
        mean = np.full(horizon, float(y[-1]))
    # Errors grow with the horizon like a random walk's.
    sd = rmse * np.sqrt(np.arange(1, horizon + 1))
    return np.maximum(mean, 0.0), np.maximum(sd, 0.02 * abs(float(y.mean())))
