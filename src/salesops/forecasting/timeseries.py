"""Time-series forecasts (statsforecast AutoETS) of short bookings histories, with a spread."""

from __future__ import annotations

import warnings

import numpy as np

Z80 = 1.2815515655446004  # the 90th percentile of the standard normal


def forecast_series(y: np.ndarray, horizon: int, *, season: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of the next `horizon` values of `y`.

    Sales bookings are seasonal within the quarter (or the year), so a seasonal model is
    preferred as soon as the history allows: AutoETS picks the exponential-smoothing model
    by AICc once four full seasons are known; with one to four seasons, the average
    of the same position in past seasons (statsforecast's SeasonalWindowAverage); shorter
    histories fall back to their mean. The spread comes from the model's 80% interval, or
    from the history's own variation.
    """
    y = np.asarray(y, dtype="float64")
    if len(y) == 0:
        return np.zeros(horizon), np.zeros(horizon)
    if len(y) < 4 or np.allclose(y, y[0]):
        level = float(y.mean())
        spread = float(y.std(ddof=1)) if len(y) > 1 else 0.5 * level
        return np.full(horizon, max(level, 0.0)), np.full(horizon, max(spread, 0.1 * abs(level)))
    from statsforecast.models import AutoETS, SeasonalWindowAverage

    mean: np.ndarray
    sd: np.ndarray
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if len(y) >= 4 * season or season == 1:
                result = AutoETS(season_length=season).forecast(y=y, h=horizon, level=[80])
                mean = np.asarray(result["mean"], dtype="float64")
                sd = (np.asarray(result["hi-80"]) - np.asarray(result["lo-80"])) / (2 * Z80)
            elif len(y) >= season:
                model = SeasonalWindowAverage(season_length=season, window_size=len(y) // season)
                mean = np.asarray(model.forecast(y=y, h=horizon)["mean"], dtype="float64")
                sd = np.full(horizon, _seasonal_spread(y, season))
            else:
                result = AutoETS(season_length=1).forecast(y=y, h=horizon, level=[80])
                mean = np.asarray(result["mean"], dtype="float64")
                sd = (np.asarray(result["hi-80"]) - np.asarray(result["lo-80"])) / (2 * Z80)
    except Exception:  # a degenerate series: fall back to the mean rather than fail a forecast
        mean = np.full(horizon, float(y.mean()))
        sd = np.full(horizon, float(y.std(ddof=1)))
    if not np.all(np.isfinite(mean)):
        mean = np.full(horizon, float(y.mean()))
    sd = np.where(np.isfinite(sd), sd, float(y.std(ddof=1)))
    return np.maximum(mean, 0.0), np.maximum(sd, 0.0)


def _seasonal_spread(y: np.ndarray, season: int) -> float:
    """Spread of the values around their season-position mean (whole history if one season)."""
    positions = np.arange(len(y)) % season
    means = np.array([y[positions == p].mean() for p in range(season)])
    residual = y - means[positions]
    if len(y) < 2 * season:
        return float(y.std(ddof=1))
    return float(np.sqrt((residual**2).sum() / max(len(y) - season, 1)))
