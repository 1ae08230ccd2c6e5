"""Per-deal features at a point in time, and the training rows learnt from past snapshots.

A training row is (deal open at a past period start T', horizon k) labelled "won in period
k after T'". It is only used when that period had fully ended by the as-of date T, and its
label comes from the pipeline as of T, so nothing after T can leak into a forecast made at T.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from salesops.forecasting.periods import Grain, Period, position_in_quarter, shift
from salesops.forecasting.snapshot import Prepared, snapshot, to_ns

NS_PER_DAY = 86_400 * 10**9
NAT_INT = np.iinfo("int64").min
NUMERIC = (
    "stage_order",
    "age_days",
    "days_in_stage",
    "log_amount",
    "pushes",
    "amount_changes",
    "days_to_close",
    "days_since_activity",
    "owner_win_rate",
    "team_win_rate",
    "period_position",
    "horizon",
)
CATEGORICAL = ("stage_code", "segment_code", "type_code")
FEATURES = NUMERIC + CATEGORICAL
# Plain words for the risk report: why a feature lowers a deal's chances.
REASONS = {
    "stage_order": "early stage",
    "age_days": "deal age",
    "days_in_stage": "time in current stage",
    "log_amount": "deal size",
    "pushes": "close date pushed",
    "amount_changes": "amount changed",
    "days_to_close": "close date",
    "days_since_activity": "no recent activity",
    "owner_win_rate": "owner's win rate",
    "team_win_rate": "team's win rate",
    "period_position": "position in the quarter",
    "horizon": "timing",
    "stage_code": "stage",
    "segment_code": "segment",
    "type_code": "deal type",
}
PRIOR_DEALS = 10.0  # pseudo-deals pulling a small track record towards the company rate


def _codes(values: pd.Series, vocab: list[str]) -> np.ndarray:
    lookup = {name: i for i, name in enumerate(vocab)}
    return values.map(lookup).fillna(-1).to_numpy(dtype="int64")


def _rate(closed: pd.DataFrame, key: str, keys: pd.Series, base: float) -> pd.DataFrame:
    stats = closed.groupby(key)["won"].agg(["sum", "count"])
    won = keys.map(stats["sum"]).fillna(0.0).to_numpy(dtype="float64")
    count = keys.map(stats["count"]).fillna(0.0).to_numpy(dtype="float64")
    return pd.DataFrame({"rate": (won + PRIOR_DEALS * base) / (count + PRIOR_DEALS), "n": count})


@dataclass
class FeatureBuilder:
    """Builds and caches the open-deal feature frame at each date."""

    prep: Prepared
    grain: Grain
    _cache: dict[np.datetime64, pd.DataFrame] = field(default_factory=dict)
    _contexts: dict[tuple[np.datetime64, Any], Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        opps = self.prep.history.opportunities
        self.segments = sorted(str(s) for s in opps["segment"].dropna().unique())
        self.types = sorted(str(s) for s in opps["type"].dropna().unique())

    def open_deals(self, snap: pd.DataFrame, at: np.datetime64) -> pd.DataFrame:
        """Features of the deals open in `snap` (a snapshot taken at `at`)."""
        closed = snap[snap["stage_category"] != "open"]
        base = float(closed["won"].mean()) if len(closed) else 0.5
        open_ = snap[snap["stage_category"] == "open"].reset_index(drop=True)
        owner = _rate(closed, "owner_id", open_["owner_id"], base)
        team = _rate(closed, "team_id", open_["team_id"], base)

        def days(col: str) -> np.ndarray:
            stamps = open_[col].to_numpy(dtype="M8[ns]").astype("int64")
            delta = np.where(stamps == NAT_INT, np.nan, at.astype("int64") - stamps)
            return np.asarray(delta / NS_PER_DAY, dtype="float64")

        out = pd.DataFrame(
            {
                "id": open_["id"].to_numpy(),
                "owner_id": open_["owner_id"].to_numpy(),
                "team_id": open_["team_id"].to_numpy(),
                "stage": open_["stage"].to_numpy(),
                "amount": open_["amount"].to_numpy(),
                "close_date": open_["close_date"].to_numpy(),
                "stage_probability": open_["stage_probability"].to_numpy(),
                "stage_order": open_["stage_order"].to_numpy(dtype="float64"),
                "age_days": days("created_at"),
                "days_in_stage": days("stage_entered_at"),
                "log_amount": np.log1p(np.maximum(open_["amount"].to_numpy(), 0.0)),
                "pushes": open_["pushes"].to_numpy(dtype="float64"),
                "amount_changes": open_["amount_changes"].to_numpy(dtype="float64"),
                "days_to_close": -days("close_date"),
                "days_since_activity": days("last_activity_at"),
                "owner_win_rate": owner["rate"].to_numpy(),
                "team_win_rate": team["rate"].to_numpy(),
                "stage_code": open_["stage_code"].to_numpy(dtype="int64"),
                "segment_code": _codes(open_["segment"], self.segments),
                "type_code": _codes(open_["type"], self.types),
            }
        )
        return out

    def context(self, at: np.datetime64, options: Any) -> Any:
        """The forecasting context as of `at` (the last few are kept: backtests and the
        ensemble ask for the same past dates again)."""
        from salesops.forecasting.engine import Context

        key = (at, options)
        if key not in self._contexts:
            self._contexts[key] = Context(self, pd.Timestamp(at).tz_localize("UTC"), options)
            while len(self._contexts) > 5:
                self._contexts.pop(next(iter(self._contexts)))
        return self._contexts[key]

    def at(self, at: np.datetime64) -> pd.DataFrame:
        """Open-deal features at `at` (cached: the same date is asked for by many as-ofs)."""
        if at not in self._cache:
            self._cache[at] = self.open_deals(snapshot(self.prep, at), at)
        return self._cache[at]


def with_horizon(deals: pd.DataFrame, periods: list[Period]) -> pd.DataFrame:
    """One row per (deal, period k), with the horizon-dependent features filled in."""
    frames = []
    for k, period in enumerate(periods):
        rows = deals.copy()
        rows["horizon"] = float(k)
        rows["period_position"] = float(
            position_in_quarter(period.start) if period.grain == "month" else 0
        )
        frames.append(rows)
    return pd.concat(frames, ignore_index=True) if frames else deals.assign(horizon=0.0)


@dataclass(frozen=True)
class TrainingSet:
    """Rows (deal at a past period start, horizon k), their label and their won value."""

    rows: pd.DataFrame  # features + "snapshot" (index of the start) + "label" + "won_value"
    starts: list[Period]
    run_rate: dict[int, np.ndarray]  # horizon -> won value from deals created after T', per T'
    bookings: np.ndarray  # won value per past period (for top-down time series)


def first_close_period(state_now: pd.DataFrame, grain: Grain) -> Period | None:
    """The period of the first recorded close: history before it is taken as incomplete."""
    closed = state_now["closed_at"].dropna()
    if closed.empty:
        return None
    first = pd.Timestamp(closed.min()).date()
    from salesops.forecasting.periods import period_of

    return period_of(first, grain)


def training_set(
    builder: FeatureBuilder,
    state_now: pd.DataFrame,
    first: Period,
    *,
    as_of_period: Period,
    horizon: int,
    lookback: int,
) -> TrainingSet:
    """Learn from every past period start from `first` up to `as_of_period` (exclusive)."""
    grain = builder.grain
    starts: list[Period] = []
    cursor = as_of_period.start
    for _ in range(lookback):
        cursor = shift(cursor, -1, grain)
        if cursor < first.start:
            break
        starts.append(Period(cursor, shift(cursor, 1, grain), grain))
    starts.reverse()
    t_now = to_ns(as_of_period.start_at)
    won = state_now[state_now["won"]]
    won_closed = won["closed_at"].to_numpy(dtype="M8[ns]")
    won_value = pd.Series(won["amount"].to_numpy(), index=won["id"].to_numpy())
    won_closed_s = pd.Series(won_closed, index=won["id"].to_numpy())
    created_won = won["created_at"].to_numpy(dtype="M8[ns]")
    frames = []
    run_rate: dict[int, list[float]] = {k: [] for k in range(horizon)}
    bookings = []
    for j, start in enumerate(starts):
        t_j = to_ns(start.start_at)
        deals = builder.at(t_j)
        periods = [
            Period(shift(start.start, k, grain), shift(start.start, k + 1, grain), grain)
            for k in range(horizon)
        ]
        end_0 = to_ns(periods[0].end_at)
        in_0 = (won_closed >= t_j) & (won_closed < end_0)
        bookings.append(float(won["amount"].to_numpy()[in_0].sum()))
        for k, period in enumerate(periods):
            lo, hi = to_ns(period.start_at), to_ns(period.end_at)
            if hi > t_now:
                break
            rows = with_horizon(deals, [period]).assign(horizon=float(k))
            closed_at = rows["id"].map(won_closed_s).to_numpy(dtype="M8[ns]")
            label = (closed_at >= lo) & (closed_at < hi)
            rows["label"] = label
            rows["won_value"] = np.where(label, rows["id"].map(won_value).fillna(0.0), 0.0)
            rows["snapshot"] = j
            frames.append(rows)
            fresh = (created_won > t_j) & (won_closed >= lo) & (won_closed < hi)
            run_rate[k].append(float(won["amount"].to_numpy()[fresh].sum()))
    rows = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return TrainingSet(
        rows=rows,
        starts=starts,
        run_rate={k: np.array(v, dtype="float64") for k, v in run_rate.items()},
        bookings=np.array(bookings, dtype="float64"),
    )
