"""The forecasting methods behind one interface, fitted on what was known at an as-of date.

`Context` holds everything known at the as-of date T (the pipeline rebuilt as of T, training
rows labelled with outcomes known by T, the run-rate history) and each method turns it into
per-deal probabilities P[deal, period] plus a run-rate part; Monte Carlo over deals gives the
distribution of bookings per period.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from salesops.errors import ValidationFailed
from salesops.forecasting import inflow, ml, rates, simulate
from salesops.forecasting.features import (
    FeatureBuilder,
    TrainingSet,
    first_close_period,
    training_set,
    with_horizon,
)
from salesops.forecasting.periods import Grain, Period, following, period_of, shift
from salesops.forecasting.snapshot import Prepared, to_ns
from salesops.forecasting.timeseries import forecast_series
from salesops.learning import FittedModel

METHODS = ("stage_weighted", "historical", "ml", "run_rate", "ensemble")
# 3: seasonal time-series candidates from the first full season, scored relative to naive
# (every method's not-yet-in-pipeline part); historical rates by position in the quarter.
# 4: historical rates by finer age buckets (monthly from 90 to 180 days, then 270).
# +1 for every deal-level method: team lines calibrated on the teams' past lines (company
# figures unchanged).
# +1 for every method: new business moves with the inflow of new pipeline and leads; the cut
# at zero keeps the mean (the ensemble is its members' blend).
VERSIONS = {
    "stage_weighted": "5",
    "historical": "6",
    "ml": "5",
    "run_rate": "4",
    "ensemble": "6",
}
ENSEMBLE_MEMBERS = ("historical", "ml", "run_rate")
ENSEMBLE_LOOKBACK = 3  # past period starts that weigh the ensemble's members
DEFAULT_SHOCK = 0.15  # shared-shock spread assumed until enough history exists to measure it
SHOCK_ROWS = 10_000  # training rows (a seeded sample) measuring the shared shock
# Interval calibration: the P10-P90 width is scaled by the method's own out-of-sample errors
# at up to CALIBRATION_LOOKBACK past period starts (split-conformal, target 80% coverage).
CALIBRATION_LOOKBACK = 6
CALIBRATION_MIN = 4  # fewer scored past forecasts than this: never narrow the interval
MAX_SCALE = 4.0
COVERAGE = 0.8
# Monte Carlo simulations per forecast, everywhere (runs, backtests, CLI, API, benches): one
# default, so published figures reproduce without naming it.
DEFAULT_SIMS = 2000


@dataclass(frozen=True)
class Options:
    """How a forecast is made; stored with every run as its parameters."""

    grain: Grain = "quarter"
    horizon: int = 1
    sims: int = DEFAULT_SIMS
    seed: int = 0
    lookback: int = 24  # past periods learnt from
    max_training_rows: int = 50_000

    def as_dict(self) -> dict[str, Any]:
        return {
            "grain": self.grain,
            "horizon": self.horizon,
            "sims": self.sims,
            "seed": self.seed,
            "lookback": self.lookback,
            "max_training_rows": self.max_training_rows,
        }


def check_methods(methods: list[str] | tuple[str, ...]) -> list[str]:
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValidationFailed(
            f"unknown method(s) {', '.join(unknown)} (use one of: {', '.join(METHODS)})"
        )
    return list(methods)


@dataclass(frozen=True)
class MethodForecast:
    """One method's forecast: per-period figures and, for deal-level methods, per-deal odds."""

    method: str
    version: str
    periods: list[Period]
    expected: np.ndarray
    p10: np.ndarray
    p50: np.ndarray
    p90: np.ndarray
    from_pipeline: np.ndarray
    run_rate: np.ndarray
    deals: pd.DataFrame  # id, owner_id, team_id, amount, close_date (open deals at T)
    probabilities: np.ndarray | None  # P[deal, period]: won in that period
    distribution: simulate.Distribution = field(repr=False)
    interval_scale: float = 1.0  # how much the simulated spread was widened (calibration)


class Context:
    """What was known at `as_of`, shared by every method (each piece computed once)."""

    def __init__(self, builder: FeatureBuilder, as_of: datetime, options: Options) -> None:
        self.builder = builder
        self.prep: Prepared = builder.prep
        self.options = options
        self.t = to_ns(as_of)
        day = pd.Timestamp(self.t).date()
        self.periods = following(day, options.horizon, options.grain)
        self.state = builder.snapshot(self.t)
        self.rng_seed = options.seed
        self._probs: dict[str, np.ndarray] = {}
        self._shocks: dict[str, float] = {}
        self._forecasts: dict[str, MethodForecast] = {}
        self._raw: dict[str, MethodForecast] = {}

    # --- what is known at T --------------------------------------------------------------
    @cached_property
    def deals(self) -> pd.DataFrame:
        """The open deals at T with their features."""
        return self.builder.at(self.t)

    @cached_property
    def _won(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Close time, amount and team of the deals won as known at T."""
        won = self.state[self.state["won"]]
        return (
            won["closed_at"].to_numpy(dtype="M8[ns]"),
            won["amount"].to_numpy(dtype="float64"),
            won["team_id"].to_numpy(),
        )

    def won_value(
        self, lo: np.datetime64, hi: np.datetime64, *, members: list[int] | None = None
    ) -> float:
        """Won value closed in [lo, hi) as known at T (of the teams in `members` if given)."""
        closed, amount, team = self._won
        inside = (closed >= lo) & (closed < hi)
        if members is not None:
            inside &= np.isin(team, members)
        return float(amount[inside].sum())

    def booked_so_far(self, members: list[int] | None = None) -> float:
        """Won value already booked in the current period up to T (as-of mid-period)."""
        return self.won_value(
            to_ns(self.periods[0].start_at), self.t + np.timedelta64(1, "ns"), members=members
        )

    @cached_property
    def booked(self) -> float:
        return self.booked_so_far()

    @cached_property
    def training(self) -> TrainingSet | None:
        first = first_close_period(self.state, self.options.grain)
        if first is None:
            return None
        return training_set(
            self.builder,
            first,
            as_of_period=period_of(self.periods[0].start, self.options.grain),
            horizon=self.options.horizon,
            lookback=self.options.lookback,
        )

    @cached_property
    def value_ratio(self) -> float:
        """Won value over pipeline value of the deals that were won (amounts drift)."""
        if self.training is None or self.training.won_amount <= 0:
            return 1.0
        ratio = self.training.won_value / self.training.won_amount
        return float(np.clip(ratio, 0.5, 2.0))

    @cached_property
    def season(self) -> int:
        return 3 if self.options.grain == "month" else 4

    @cached_property
    def new_business_prior(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean and spread of bookings from deals not yet created at T, per period, from the
        history of such bookings alone (as if the inflow of new deals carried on)."""
        h = self.options.horizon
        mean, sd = np.zeros(h), np.zeros(h)
        if self.training is None:
            return mean, sd
        for k in range(h):
            series = self.training.run_rate.get(k, np.zeros(0))
            m, s = forecast_series(series, 1, season=self.season)
            mean[k], sd[k] = m[0], s[0]
        return mean, sd

    @cached_property
    def inflow_surprise(self) -> float:
        """How the inflow just before T (pipeline created, leads captured in the last period)
        compares with what its history forecast: 0 when it stopped, 2 when it doubled."""
        if self.training is None:
            return 1.0
        starts = np.array([to_ns(p.start_at) for p in self.training.starts], dtype="M8[ns]")
        return inflow.inflow_ratio(
            [self.prep.created_sorted, self.prep.lead_at],
            starts,
            self.t,
            months=1 if self.options.grain == "month" else 3,
            season=self.season,
            reference=self.training.run_rate.get(0, np.zeros(0)),
        )

    @cached_property
    def inflow_response(self) -> float:
        """How far new business has followed the inflow's surprises at the last few period
        starts (0: not at all, 1: fully), learnt with a prior of following it."""
        if self.training is None:
            return 1.0
        fresh = self.training.run_rate.get(0, np.zeros(0))
        realised = {
            to_ns(p.start_at): float(v) for p, v in zip(self.training.starts, fresh, strict=False)
        }
        pairs = []
        for lo, _ in self.past_actuals[:CALIBRATION_LOOKBACK]:
            past = self.builder.context(lo, self.options)
            prior = float(past.new_business_prior[0][0])
            if lo in realised and prior > 0:
                pairs.append((past.inflow_surprise - 1.0, realised[lo] / prior - 1.0))
        return inflow.response(pairs)

    @cached_property
    def inflow_ratio(self) -> float:
        """What the new business history's forecast is multiplied by: the inflow's surprise,
        as far as new business has followed it."""
        return 1.0 + self.inflow_response * (self.inflow_surprise - 1.0)

    @cached_property
    def run_rate_part(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean and spread of bookings from deals not yet created at T, per period: the
        history's forecast moved by the inflow ratio (its spread like a count's, by the ratio's
        square root)."""
        mean, sd = self.new_business_prior
        ratio = self.inflow_ratio
        return mean * ratio, sd * np.sqrt(ratio)

    # --- per-deal probabilities ----------------------------------------------------------
    def probabilities(self, method: str) -> np.ndarray:
        if method not in self._probs:
            build = {
                "stage_weighted": self._stage_weighted,
                "historical": self._historical,
                "ml": self._ml,
            }[method]
            self._probs[method] = build()
        return self._probs[method]

    def blended_probabilities(self, weights: dict[str, float]) -> np.ndarray:
        """The ensemble's per-deal probabilities: its deal-level members' odds, weighted."""
        deal_weight = weights["historical"] + weights["ml"]
        return (
            weights["historical"] * self.probabilities("historical")
            + weights["ml"] * self.probabilities("ml")
        ) / deal_weight

    def _close_period_index(self) -> np.ndarray:
        """Which forecast period each deal's close date falls in (-1: after the horizon)."""
        close = self.deals["close_date"].to_numpy(dtype="M8[ns]")
        idx = np.full(len(close), -1)
        for k, period in enumerate(self.periods):
            lo, hi = to_ns(period.start_at), to_ns(period.end_at)
            inside = (close >= lo) & (close < hi)
            if k == 0:
                # Overdue and undated deals are expected now.
                inside |= (close < lo) | np.isnat(close)
            idx[inside] = k
        return idx

    def _stage_weighted(self) -> np.ndarray:
        probs = np.zeros((len(self.deals), len(self.periods)))
        idx = self._close_period_index()
        rows = np.nonzero(idx >= 0)[0]
        probs[rows, idx[rows]] = self.deals["stage_probability"].to_numpy()[rows]
        return probs

    @cached_property
    def conversion_table(self) -> dict[str, pd.Series]:
        """Win-in-period-k rates by (stage, age bucket, k), shrunk towards (stage, k) and k."""
        return rates.conversion_table(self.training.cells if self.training else pd.DataFrame())

    def _lookup(self, frame: pd.DataFrame) -> np.ndarray:
        return rates.lookup(self.conversion_table, frame)

    def _historical(self) -> np.ndarray:
        rows = with_horizon(self.deals, self.periods)
        return self._lookup(rows).reshape(len(self.periods), len(self.deals)).T

    @cached_property
    def model(self) -> FittedModel | None:
        """The gradient-boosting model and its isotonic calibration, or None if too little data."""
        rows = self.training.rows if self.training else pd.DataFrame()
        return ml.fit_model(
            rows, seed=self.options.seed, max_training_rows=self.options.max_training_rows
        )

    def predict_ml(self, rows: pd.DataFrame) -> np.ndarray:
        if self.model is None:
            return self._lookup(rows)
        return ml.predict(self.model, rows)

    def _ml(self) -> np.ndarray:
        if len(self.deals) == 0:
            return np.zeros((0, len(self.periods)))
        rows = with_horizon(self.deals, self.periods)
        return self.predict_ml(rows).reshape(len(self.periods), len(self.deals)).T

    def shock_sd(self, method: str) -> float:
        """How much more period totals vary than independent deals would explain.

        Measured on the training snapshots with the method's own probabilities: the variance
        of log(actual / predicted) beyond what the deals' own Bernoulli variance explains.
        """
        if method in self._shocks:
            return self._shocks[method]
        rows = self.training.rows if self.training else pd.DataFrame()
        if rows.empty:
            return DEFAULT_SHOCK
        rows = rows[rows["horizon"] == 0]
        if len(rows) > SHOCK_ROWS:
            # A seeded sample: the spread of period totals does not need every row (the
            # deals' Bernoulli variance below accounts for the sampling noise).
            keep = np.random.default_rng(self.options.seed).choice(
                len(rows), SHOCK_ROWS, replace=False
            )
            rows = rows.iloc[np.sort(keep)]
        p = self.predict_ml(rows) if method == "ml" else self._lookup(rows)
        v = np.asarray(rows["amount"].to_numpy(), dtype="float64") * self.value_ratio
        frame = pd.DataFrame(
            {"s": rows["snapshot"], "pred": p * v, "var": p * (1 - p) * v**2}
        ).assign(actual=rows["won_value"].to_numpy())
        per = frame.groupby("s")[["pred", "var", "actual"]].sum()
        per = per[per["pred"] > 0]
        if len(per) < 4:
            return DEFAULT_SHOCK
        ratio = np.log((per["actual"] + 1.0) / (per["pred"] + 1.0))
        excess = float(ratio.var(ddof=1) - (per["var"] / per["pred"] ** 2).mean())
        self._shocks[method] = float(np.clip(np.sqrt(max(excess, 0.0)), 0.03, 0.6))
        return self._shocks[method]

    @cached_property
    def eventual_win(self) -> np.ndarray:
        """Probability each open deal is won at all: the resolved-deal win rate of its cell."""
        rows = self.training.rows if self.training else pd.DataFrame()
        return rates.eventual_win(rows, self.state, self.deals)

    def close_period_index(self) -> np.ndarray:
        return self._close_period_index()

    # --- distributions -------------------------------------------------------------------
    def _rng(self, method: str) -> np.random.Generator:
        salt = METHODS.index(method) if method in METHODS else 99
        return np.random.default_rng([self.options.seed, salt])

    def _from_probabilities(self, method: str, probs: np.ndarray) -> simulate.Distribution:
        rng = self._rng(method)
        values = self.deals["amount"].to_numpy(dtype="float64")
        if method != "stage_weighted":
            values = values * self.value_ratio
        pipeline = simulate.simulate_deals(probs, values, sims=self.options.sims, rng=rng)
        pipeline[:, 0] += self.booked
        mean, sd = self.run_rate_part
        return simulate.combine(pipeline, mean, sd, shock_sd=self.shock_sd(method), rng=rng)

    def _top_down(self) -> simulate.Distribution:
        rng = self._rng("run_rate")
        series = self.training.bookings if self.training else np.zeros(0)
        mean, sd = forecast_series(series, self.options.horizon, season=self.season)
        # The bookings history assumes new business keeps coming as it did: its share of the
        # forecast moves with the inflow like the deal-level methods' not-yet-in-pipeline part.
        mean = np.maximum(mean + self.run_rate_part[0] - self.new_business_prior[0], 0.0)
        total = simulate.nonnegative(
            rng.normal(mean, sd, size=(self.options.sims, len(mean))), mean
        )
        return simulate.Distribution(pipeline=np.zeros_like(total), run_rate=total, total=total)

    @cached_property
    def ensemble_weights(self) -> dict[str, float]:
        """Each member's weight: inverse mean squared error of its forecasts at the last few
        period starts, scored against the bookings known now (equal weights until then)."""
        errors: dict[str, list[float]] = {m: [] for m in ENSEMBLE_MEMBERS}
        for lo, actual in self.past_actuals[:ENSEMBLE_LOOKBACK]:
            for m in ENSEMBLE_MEMBERS:
                past = self.builder.summary(lo, self.options, m)
                errors[m].append(float(past[0, 0]) - actual)
        if any(len(e) < 2 for e in errors.values()):
            return dict.fromkeys(ENSEMBLE_MEMBERS, 1.0)
        inverse = {m: 1.0 / max(float(np.mean(np.square(e))), 1e-9) for m, e in errors.items()}
        total = sum(inverse.values())
        return {m: v / total for m, v in inverse.items()}

    @cached_property
    def past_actuals(self) -> list[tuple[np.datetime64, float]]:
        """The latest past period starts (newest first, from the first close on) with the
        bookings of their first period, as known at T."""
        out: list[tuple[np.datetime64, float]] = []
        first = first_close_period(self.state, self.options.grain)
        for back in range(1, max(ENSEMBLE_LOOKBACK, CALIBRATION_LOOKBACK) + 1):
            start = shift(self.periods[0].start, -back, self.options.grain)
            if first is None or start < first.start:
                break
            period = period_of(start, self.options.grain)
            lo, hi = to_ns(period.start_at), to_ns(period.end_at)
            out.append((lo, self.won_value(lo, hi)))
        return out

    def interval_scale(self, method: str) -> float:
        """How much to widen (or narrow) the method's simulated spread so that its P10-P90
        interval would have held 80% of its own past first-period outcomes.

        Split-conformal: each past forecast (made with only what was known then) scores
        |actual - expected| in units of its interval's half-width on the actual's side; the
        scale is the ceil(0.8 (n+1))-th smallest score. With fewer than CALIBRATION_MIN
        scored forecasts the interval is only ever widened, and the scale stays in
        [1 / MAX_SCALE, MAX_SCALE].
        """
        scores = []
        for lo, actual in self.past_actuals[:CALIBRATION_LOOKBACK]:
            expected, p10, p90 = self.builder.summary(lo, self.options, method)[:, 0]
            width = p90 - expected if actual >= expected else expected - p10
            if width > 1e-9 * max(abs(expected), 1.0):
                scores.append(abs(actual - expected) / width)
        return simulate.conformal_scale(
            scores, coverage=COVERAGE, min_scores=CALIBRATION_MIN, max_scale=MAX_SCALE
        )

    def raw_forecast(self, method: str) -> MethodForecast:
        """The forecast of `method` as of T before interval calibration."""
        if method not in self._raw:
            self._raw[method] = self._forecast(method)
        return self._raw[method]

    def forecast(self, method: str) -> MethodForecast:
        """The forecast of `method` as of T (computed once per context), its interval
        calibrated on the method's own past errors. The ensemble averages its members'
        calibrated distributions, so it is not scaled again."""
        if method not in self._forecasts:
            raw = self.raw_forecast(method)
            scale = 1.0 if method == "ensemble" else self.interval_scale(method)
            self._forecasts[method] = raw if scale == 1.0 else _scaled(raw, scale)
        return self._forecasts[method]

    def _forecast(self, method: str) -> MethodForecast:
        probs: np.ndarray | None
        if method == "run_rate":
            dist, probs = self._top_down(), None
        elif method == "ensemble":
            weights = self.ensemble_weights
            members = [self.forecast(m).distribution for m in ENSEMBLE_MEMBERS]
            dist = simulate.average(members, [weights[m] for m in ENSEMBLE_MEMBERS])
            probs = self.blended_probabilities(weights)
        else:
            probs = self.probabilities(method)
            dist = self._from_probabilities(method, probs)
        deals = self.deals[["id", "owner_id", "team_id", "amount", "close_date"]]
        return MethodForecast(
            method=method,
            version=VERSIONS[method],
            periods=self.periods,
            expected=dist.expected,
            p10=dist.quantile(0.1),
            p50=dist.quantile(0.5),
            p90=dist.quantile(0.9),
            from_pipeline=np.asarray(dist.pipeline.mean(axis=0)),
            run_rate=np.asarray(dist.run_rate.mean(axis=0)),
            deals=deals,
            probabilities=probs,
            distribution=dist,
        )


def _scaled(raw: MethodForecast, scale: float) -> MethodForecast:
    widened = simulate.widen(raw.distribution, scale)
    return replace(
        raw,
        p10=widened.quantile(0.1),
        p50=widened.quantile(0.5),
        p90=widened.quantile(0.9),
        distribution=widened,
        interval_scale=scale,
    )
