"""Per-deal features at a point in time, and the training rows learnt from past snapshots.

A training row is (deal open at a past period start T', horizon k) labelled "won in period
k after T'". It is only used when that period had fully ended by the as-of date T, and its
label comes from the pipeline as of T, so nothing after T can leak into a forecast made at T.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from salesops.forecasting.periods import Grain, Period, period_of, position_in_quarter, shift
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
# Monthly steps from 3 to 6 months: many sales cycles end there, and a deal that outlives its
# company's usual cycle stops converting (on Maven, 90-180 days in one bucket mixed deals
# converting at 48% with stale ones at 0%). Sparse buckets are shrunk towards their stage.
AGE_BUCKETS = np.array([0, 15, 30, 60, 90, 120, 150, 180, 270, 365], dtype="float64")
ROWS_PER_SNAPSHOT = 5_000  # training rows kept per past period start (a seeded sample)
# What the historical conversion rates are counted by (exact sums over every training row).
CELL_KEYS = ["horizon", "period_position", "stage_code", "bucket"]
CELL_SUMS = ["sum", "count", "deals"]


def age_bucket(age_days: np.ndarray) -> np.ndarray:
    """0 for not yet created, then 1.. for [0, 15), [15, 30), [30, 60) ... days old."""
    buckets: np.ndarray = np.searchsorted(
        AGE_BUCKETS, np.nan_to_num(age_days, nan=0.0), side="right"
    )
    return buckets


@dataclass(frozen=True)
class Block:
    """What one past period start teaches: a sample of its rows and exact aggregates."""

    sample: pd.DataFrame
    cells: pd.DataFrame  # CELL_KEYS -> won amount, amount, deals
    won_value: float  # won value of the deals open at the start and won in the period
    won_amount: float  # the same deals' amounts at the start
    fresh: float  # won in the period by deals created after the start


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
    _won: dict[date, pd.DataFrame] = field(default_factory=dict)
    _blocks: dict[tuple[date, int], Block] = field(default_factory=dict)
    _snapshots: dict[np.datetime64, pd.DataFrame] = field(default_factory=dict)
    _summaries: dict[tuple[np.datetime64, Any, str], np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        opps = self.prep.history.opportunities
        self.segments = sorted(str(s) for s in opps["segment"].dropna().unique())
        self.types = sorted(str(s) for s in opps["type"].dropna().unique())

    def open_deals(self, snap: pd.DataFrame, at: np.datetime64) -> pd.DataFrame:
        """Features of the deals open in `snap` (a snapshot taken at `at`)."""
        # One comparison of the (object) category column serves both selections.
        is_open = (snap["stage_category"] == "open").to_numpy()
        closed = snap[~is_open]
        base = float(closed["won"].mean()) if len(closed) else 0.5
        open_ = snap[is_open].reset_index(drop=True)
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
                "segment": open_["segment"].to_numpy(),
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
        if key in self._contexts:
            # Least recently used goes first: a backtest keeps revisiting the latest dates.
            self._contexts[key] = self._contexts.pop(key)
        else:
            self._contexts[key] = Context(self, pd.Timestamp(at).tz_localize("UTC"), options)
            # Room for the calibration's past dates plus the current ones: each past date is
            # asked for once per method, and a smaller cache rebuilt them in turn.
            while len(self._contexts) > 8:
                self._contexts.pop(next(iter(self._contexts)))
        return self._contexts[key]

    def summary(self, at: np.datetime64, options: Any, method: str) -> np.ndarray:
        """A past forecast's (expected, p10, p90) per period, before interval calibration.

        Kept for every date (a few numbers each): the ensemble weights and the interval
        calibration of every later as-of date look back at the same past forecasts, and
        rebuilding a past context (snapshot, training rows, model fit) is the costly part.
        """
        key = (at, options, method)
        if key not in self._summaries:
            raw = self.context(at, options).raw_forecast(method)
            self._summaries[key] = np.stack([raw.expected, raw.p10, raw.p90])
        return self._summaries[key]

    def won_in(self, period: Period) -> pd.DataFrame:
        """Deals won in `period`, as the pipeline stood at its end (id, amount, created_at)."""
        if period.start not in self._won:
            state = self.snapshot(to_ns(period.end_at))
            closed = state["closed_at"].to_numpy(dtype="M8[ns]")
            won: np.ndarray = state["won"].to_numpy(dtype=bool)
            inside = won & (closed >= to_ns(period.start_at)) & (closed < to_ns(period.end_at))
            self._won[period.start] = state.loc[inside, ["id", "amount", "created_at"]]
        return self._won[period.start]

    def block(self, start: Period, k: int) -> Block:
        """Training rows for the deals open at `start`, labelled "won in the k-th period
        after", summarised (cached: every later as-of date reuses it)."""
        key = (start.start, k)
        if key not in self._blocks:
            grain = self.grain
            period = Period(shift(start.start, k, grain), shift(start.start, k + 1, grain), grain)
            t_j = to_ns(start.start_at)
            rows = with_horizon(self.at(t_j), [period]).assign(horizon=float(k))
            won = self.won_in(period)
            value = pd.Series(won["amount"].to_numpy(), index=won["id"].to_numpy())
            label = rows["id"].isin(won["id"]).to_numpy()
            rows["label"] = label
            rows["won_value"] = np.where(label, rows["id"].map(value).fillna(0.0), 0.0)
            rows["bucket"] = age_bucket(rows["age_days"].to_numpy())
            # Rates are learnt by value (won amount over amount), since value is forecast:
            # big deals often convert less often than small ones in the same stage and age.
            rows["won_amount"] = np.where(label, rows["amount"], 0.0)
            cells = rows.groupby(CELL_KEYS).agg(
                sum=("won_amount", "sum"), count=("amount", "sum"), deals=("label", "size")
            )
            created: np.ndarray = won["created_at"].to_numpy(dtype="M8[ns]")
            sample = rows
            if len(rows) > ROWS_PER_SNAPSHOT:
                seed = int(t_j.astype("int64") // 10**9) + k
                keep = np.random.default_rng(seed).choice(
                    len(rows), ROWS_PER_SNAPSHOT, replace=False
                )
                sample = rows.iloc[np.sort(keep)].reset_index(drop=True)
            self._blocks[key] = Block(
                sample=sample,
                cells=cells.reset_index(),
                won_value=float(rows["won_value"].sum()),
                won_amount=float(rows.loc[label, "amount"].sum()),
                fresh=float(won["amount"].to_numpy()[created > t_j].sum()),
            )
        return self._blocks[key]

    def snapshot(self, at: np.datetime64) -> pd.DataFrame:
        """The pipeline as of `at` (the last three are kept: consecutive dates share them, and
        a training walk asks for a period's end before its start)."""
        if at not in self._snapshots:
            self._snapshots[at] = snapshot(self.prep, at)
            while len(self._snapshots) > 3:
                self._snapshots.pop(next(iter(self._snapshots)))
        return self._snapshots[at]

    def at(self, at: np.datetime64) -> pd.DataFrame:
        """Open-deal features at `at` (cached: the same date is asked for by many as-ofs)."""
        if at not in self._cache:
            self._cache[at] = self.open_deals(self.snapshot(at), at)
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

    rows: pd.DataFrame  # a sample: features + "snapshot" (index of the start) + label, won_value
    cells: pd.DataFrame  # exact sums over every row: CELL_KEYS + CELL_SUMS
    won_value: float
    won_amount: float
    starts: list[Period]
    run_rate: dict[int, np.ndarray]  # horizon -> won value from deals created after T', per T'
    bookings: np.ndarray  # won value per past period (for top-down time series)


def first_close_period(state_now: pd.DataFrame, grain: Grain) -> Period | None:
    """The period of the first recorded close: history before it is taken as incomplete."""
    closed = state_now["closed_at"].dropna()
    if closed.empty:
        return None
    first = pd.Timestamp(closed.min()).date()
    return period_of(first, grain)


def training_set(
    builder: FeatureBuilder,
    first: Period,
    *,
    as_of_period: Period,
    horizon: int,
    lookback: int,
) -> TrainingSet:
    """Learn from every past period start from `first` up to `as_of_period` (exclusive).

    Only periods that had ended by the as-of date are used, each labelled from the pipeline
    as of its own end, so the blocks are the same for every later as-of date and are cached.
    """
    grain = builder.grain
    starts: list[Period] = []
    cursor = as_of_period.start
    for _ in range(lookback):
        cursor = shift(cursor, -1, grain)
        if cursor < first.start:
            break
        starts.append(Period(cursor, shift(cursor, 1, grain), grain))
    starts.reverse()
    blocks: list[Block] = []
    frames = []
    run_rate: dict[int, list[float]] = {k: [] for k in range(horizon)}
    bookings = []
    for j, start in enumerate(starts):
        bookings.append(float(builder.won_in(start)["amount"].sum()))
        for k in range(horizon):
            period = Period(shift(start.start, k, grain), shift(start.start, k + 1, grain), grain)
            if period.end > as_of_period.start:
                break
            block = builder.block(start, k)
            blocks.append(block)
            frames.append(block.sample.assign(snapshot=j))
            run_rate[k].append(block.fresh)
    rows = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    cells = (
        pd.concat([b.cells for b in blocks], ignore_index=True)
        .groupby(CELL_KEYS)[CELL_SUMS]
        .sum()
        .reset_index()
        if blocks
        else pd.DataFrame(columns=CELL_KEYS + CELL_SUMS)
    )
    return TrainingSet(
        rows=rows,
        cells=cells,
        won_value=sum(b.won_value for b in blocks),
        won_amount=sum(b.won_amount for b in blocks),
        starts=starts,
        run_rate={k: np.array(v, dtype="float64") for k, v in run_rate.items()},
        bookings=np.array(bookings, dtype="float64"),
    )
