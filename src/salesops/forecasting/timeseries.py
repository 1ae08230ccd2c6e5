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
MIN_SCORED = 2  # the naive benchmark must have forecast at least this many of them


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
    # A seasonal naive forecast needs one full season, so it competes (and is scored) from
    # the first point that has one: a young history's only evidence of seasonality.
    if season > 1 and n >= season:
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
    """The candidate with the lowest one-step error relative to the naive forecast's on the
    same origins, and its RMSE.

    Candidates that need more history (seasonal ones) are scored on fewer origins; comparing
    each with the naive forecast on exactly its own origins (a relative MAE, as MASE does)
    keeps a short record comparable with a long one instead of excluding it until it has as
    many points, which for a young monthly history meant ignoring a quarterly pattern for two
    extra months.
    """
    n = len(y)
    scores: dict[str, dict[int, float]] = {}
    for origin in range(max(2, n - MAX_ORIGINS), n):
        for name in _candidates(origin, season):
            predicted = _memo_predict(name, season, y[:origin], 1)
            if predicted is not None:
                scores.setdefault(name, {})[origin] = float(predicted[0] - y[origin])
    naive = scores.get("naive", {})
    if len(naive) < MIN_SCORED:
        return "naive", float(np.std(y, ddof=1)) if n > 1 else float(abs(y[0]) * 0.5)

    def relative(name: str) -> float:
        own = scores[name]
        base = float(np.mean([abs(naive[o]) for o in own]))
        floor = 1e-9 * (1.0 + float(np.abs(y).max()))
        return float(np.mean(np.abs(list(own.values())))) / max(base, floor)

    eligible = [k for k, v in scores.items() if v and set(v) <= set(naive)]
    name = min(eligible, key=lambda k: (relative(k), k))
    errors = np.asarray(list(scores[name].values()))
    return name, float(np.sqrt(np.mean(errors**2)))


def forecast_like(reference: np.ndarray, y: np.ndarray, *, season: int) -> float:
    """The next value of `y` by the model `forecast_series` chooses for `reference` (a series
    of the same periods): what that forecast of `reference` takes for granted of `y`."""
    reference = np.asarray(reference, dtype="float64")
    y = np.asarray(y, dtype="float64")
    if len(y) == 0:
        return 0.0
    if len(reference) < 3 or np.allclose(reference, reference[0]) or len(y) < 3:
        return max(float(y.mean()), 0.0)
    name, _ = select_model(reference, season=season)
    if name not in _candidates(len(y), season):
        return max(float(y[-1]), 0.0)
    mean = _memo_predict(name, season, y, 1)
    return max(float(y[-1] if mean is None else mean[0]), 0.0)


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
