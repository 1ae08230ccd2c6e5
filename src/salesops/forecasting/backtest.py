"""Backtesting: replay the past one period start at a time, forecast, and score every method.

Each as-of date T gets its own `Context`, which only sees the pipeline rebuilt as of T and
outcomes known by T; actuals come from the pipeline as of each period's end.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from salesops.forecasting import evaluate
from salesops.forecasting.engine import MethodForecast, Options
from salesops.forecasting.features import FeatureBuilder
from salesops.forecasting.periods import Period, periods_between
from salesops.forecasting.snapshot import Prepared, snapshot, to_ns


@dataclass(frozen=True)
class PeriodRow:
    """One forecast period of one as-of date: what was forecast and what happened."""

    as_of: date
    period: str
    period_start: date
    horizon: int
    expected: float
    p10: float
    p50: float
    p90: float
    actual: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "period": self.period,
            "period_start": self.period_start.isoformat(),
            "horizon": self.horizon,
            "forecast": round(self.expected, 2),
            "p10": round(self.p10, 2),
            "p50": round(self.p50, 2),
            "p90": round(self.p90, 2),
            "actual": round(self.actual, 2),
        }


@dataclass
class MethodScore:
    """A method's accuracy over a backtest: overall (first horizon) and per horizon."""

    method: str
    version: str
    rows: list[PeriodRow] = field(default_factory=list)
    deal_p: dict[int, list[np.ndarray]] = field(default_factory=dict)
    deal_won: dict[int, list[np.ndarray]] = field(default_factory=dict)

    def _arrays(self, horizon: int) -> tuple[np.ndarray, ...]:
        rows = [r for r in self.rows if r.horizon == horizon]
        cols = ("expected", "p10", "p90", "actual", "p50")
        return tuple(np.array([getattr(r, c) for r in rows], dtype="float64") for c in cols)

    def horizons(self) -> list[int]:
        return sorted({r.horizon for r in self.rows})

    def scores(self, horizon: int = 0) -> dict[str, Any]:
        fc, lo, hi, actual, mid = self._arrays(horizon)
        p = np.concatenate(self.deal_p.get(horizon, [np.zeros(0)]))
        won = np.concatenate(self.deal_won.get(horizon, [np.zeros(0)]))
        return {
            "horizon": horizon,
            "periods": len(actual),
            "wape": evaluate.wape(fc, actual),
            "bias": evaluate.bias(fc, actual),
            "mape": evaluate.mape(fc, actual),
            "coverage_p10_p90": evaluate.coverage(lo, hi, actual),
            "interval_width": evaluate.interval_width(lo, hi, actual),
            "quantile_loss": evaluate.quantile_loss(lo, mid, hi, actual),
            "periods_without_bookings": [
                r.period for r in self.rows if r.horizon == horizon and r.actual <= 0
            ],
            "brier": evaluate.brier(p, won) if len(p) else None,
            "calibration": [vars(b) for b in evaluate.calibration(p, won)] if len(p) else [],
        }

    def as_dict(self) -> dict[str, Any]:
        first = self.scores(0)
        return {
            "method": self.method,
            "version": self.version,
            "wape": first["wape"],
            "bias": first["bias"],
            "mape": first["mape"],
            "coverage_p10_p90": first["coverage_p10_p90"],
            "interval_width": first["interval_width"],
            "quantile_loss": first["quantile_loss"],
            "periods_without_bookings": first["periods_without_bookings"],
            "brier": first["brier"],
            "calibration": first["calibration"],
            "by_horizon": [self.scores(h) for h in self.horizons()],
            "periods": [r.as_dict() for r in self.rows],
        }


class Actuals:
    """Won value per period and per-deal outcomes, each from the pipeline as of period end."""

    def __init__(self, prep: Prepared, builder: FeatureBuilder | None = None) -> None:
        self.prep = prep
        self.builder = builder
        self._won: dict[date, pd.DataFrame] = {}

    def won_in(self, period: Period) -> pd.DataFrame:
        if self.builder is not None and self.builder.grain == period.grain:
            return self.builder.won_in(period)
        if period.start not in self._won:
            state = snapshot(self.prep, to_ns(period.end_at))
            closed: np.ndarray = state["closed_at"].to_numpy(dtype="M8[ns]")
            won: np.ndarray = state["won"].to_numpy(dtype=bool)
            inside = won & (closed >= to_ns(period.start_at)) & (closed < to_ns(period.end_at))
            self._won[period.start] = state.loc[inside, ["id", "amount"]]
        return self._won[period.start]


def score_forecast(
    score: MethodScore, forecast: MethodForecast, actuals: Actuals, as_of: date
) -> None:
    """Add one as-of date's forecast of one method to its score."""
    for k, period in enumerate(forecast.periods):
        won = actuals.won_in(period)
        score.rows.append(
            PeriodRow(
                as_of=as_of,
                period=period.label,
                period_start=period.start,
                horizon=k,
                expected=float(forecast.expected[k]),
                p10=float(forecast.p10[k]),
                p50=float(forecast.p50[k]),
                p90=float(forecast.p90[k]),
                actual=float(won["amount"].sum()),
            )
        )
        if forecast.probabilities is not None and len(forecast.deals):
            outcome = forecast.deals["id"].isin(won["id"]).to_numpy()
            score.deal_p.setdefault(k, []).append(forecast.probabilities[:, k])
            score.deal_won.setdefault(k, []).append(outcome)


def backtest(
    prep: Prepared,
    *,
    start: date,
    end: date,
    methods: list[str],
    options: Options,
) -> list[MethodScore]:
    """Forecast at every period start from `start` to `end` with each method, and score it."""
    builder = FeatureBuilder(prep, options.grain)
    actuals = Actuals(prep, builder)
    scores = {m: MethodScore(method=m, version="") for m in methods}
    for period in periods_between(start, end, options.grain):
        context = builder.context(to_ns(period.start_at), options)
        for method in methods:
            forecast = context.forecast(method)
            scores[method].version = forecast.version
            score_forecast(scores[method], forecast, actuals, period.start)
    return [scores[m] for m in methods]
