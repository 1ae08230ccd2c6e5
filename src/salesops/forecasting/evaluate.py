"""Forecast accuracy: WAPE, bias, MAPE, interval coverage, width and quantile loss, and per-deal
Brier with calibration."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CALIBRATION_BINS = np.linspace(0.0, 1.0, 11)


def wape(forecast: np.ndarray, actual: np.ndarray) -> float | None:
    """Σ|forecast − actual| ÷ Σ actual (None when nothing was booked)."""
    total = float(np.sum(actual))
    return float(np.sum(np.abs(forecast - actual)) / total) if total > 0 else None


def bias(forecast: np.ndarray, actual: np.ndarray) -> float | None:
    """Σ(forecast − actual) ÷ Σ actual: positive means over-forecasting."""
    total = float(np.sum(actual))
    return float(np.sum(forecast - actual) / total) if total > 0 else None


def mape(forecast: np.ndarray, actual: np.ndarray) -> float | None:
    """Mean of |forecast − actual| ÷ actual over the periods with bookings."""
    keep = actual > 0
    if not keep.any():
        return None
    return float(np.mean(np.abs(forecast[keep] - actual[keep]) / actual[keep]))


def coverage(low: np.ndarray, high: np.ndarray, actual: np.ndarray) -> float | None:
    """Share of periods whose actual fell inside [low, high]."""
    if len(actual) == 0:
        return None
    return float(np.mean((actual >= low) & (actual <= high)))


def interval_width(low: np.ndarray, high: np.ndarray, actual: np.ndarray) -> float | None:
    """Σ(P90 − P10) ÷ Σ actual: how wide the interval is, relative to what was booked.

    Coverage alone rewards a wide interval (a P10 of 0 and a P90 of twice the mean covers
    almost anything); read it beside the width and the quantile loss.
    """
    total = float(np.sum(actual))
    return float(np.sum(high - low) / total) if total > 0 else None


QUANTILES = (0.1, 0.5, 0.9)


def pinball(q: float, predicted: np.ndarray, actual: np.ndarray) -> np.ndarray:
    """The pinball (quantile) loss of a q-quantile forecast, per period."""
    diff = actual - predicted
    return np.asarray(np.maximum(q * diff, (q - 1.0) * diff), dtype="float64")


def quantile_loss(
    p10: np.ndarray, p50: np.ndarray, p90: np.ndarray, actual: np.ndarray
) -> float | None:
    """Mean weighted quantile loss at P10, P50 and P90: for each quantile 2 Σ pinball ÷ Σ
    actual, averaged (GluonTS's mean wQuantileLoss; a proper score of the whole distribution,
    a three-point approximation of CRPS ÷ Σ actual). At P50 alone it is the median's WAPE;
    an interval that is too wide or too narrow both raise it, so lower is better."""
    total = float(np.sum(actual))
    if total <= 0:
        return None
    losses = [
        2.0 * float(np.sum(pinball(q, pred, actual))) / total
        for q, pred in zip(QUANTILES, (p10, p50, p90), strict=True)
    ]
    return float(np.mean(losses))


def brier(p: np.ndarray, outcome: np.ndarray) -> float | None:
    """Mean squared error of per-deal probabilities against 0/1 outcomes."""
    if len(p) == 0:
        return None
    return float(np.mean((p - outcome.astype("float64")) ** 2))


@dataclass(frozen=True)
class CalibrationBin:
    low: float
    high: float
    deals: int
    predicted: float
    observed: float


def calibration(p: np.ndarray, outcome: np.ndarray) -> list[CalibrationBin]:
    """Deals grouped by predicted probability (tenths): mean prediction vs observed rate."""
    idx = np.clip(np.digitize(p, CALIBRATION_BINS[1:-1]), 0, len(CALIBRATION_BINS) - 2)
    out = []
    for b in range(len(CALIBRATION_BINS) - 1):
        inside = idx == b
        if inside.any():
            out.append(
                CalibrationBin(
                    low=float(CALIBRATION_BINS[b]),
                    high=float(CALIBRATION_BINS[b + 1]),
                    deals=int(inside.sum()),
                    predicted=float(p[inside].mean()),
                    observed=float(outcome[inside].mean()),
                )
            )
    return out
