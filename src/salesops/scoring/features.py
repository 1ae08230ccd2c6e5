"""Deal-scoring features as they were known at a scoring date. Pure: frames in, frames out.

Two kinds of data are handled the same way:
- **full history** (stage changes recorded as events): a training row is a deal open at a
  past date T (the 1st and 16th of every month), with its stage, age, time in stage, slips
  and amount changes *up to T* (`forecasting.snapshot` rewinds every field to T), labelled
  with how it finally closed;
- **final state only** (closed deals without their stage history): a training row is a
  closed deal as it was created; nothing that changes during the deal's life is used, since
  its final value would give the outcome away.
In both, the owner's and the account's track record count only deals closed before T, and
lifecycle totals that are only complete after the close (total stage changes, days to
close, final amount of a lost deal) never enter: everything comes from the rewound snapshot.
Custom attributes have no history; they are taken as known from the deal's creation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from salesops.forecasting.frames import History
from salesops.forecasting.snapshot import Prepared, snapshot, to_ns
from salesops.learning import FeatureSpec

Mode = Literal["history", "final-state"]
NS_PER_DAY = 86_400 * 10**9
PRIOR_DEALS = 10.0  # pseudo-deals pulling a short track record towards the overall rate
MAX_ROWS = 60_000  # training rows kept (a seeded sample beyond)

STATIC_NUMERIC = ("log_amount", "account_employees", "account_log_revenue")
STATIC_CATEGORICAL = (
    "type",
    "lead_source",
    "segment",
    "product",
    "industry",
    "country",
    "region",
    "owner",
)
# Rates, not counts: counts of past deals grow with the calendar, so a model fitted on the
# early years meets values it never saw (on Maven, with counts: log loss 0.710 against the
# base rate's 0.654 on the time-ordered hold-out; without: 0.659).
TRACK_RECORD = ("owner_win_rate", "account_win_rate")
LIFECYCLE_NUMERIC = (
    "stage_order",
    "age_days",
    "days_in_stage",
    "pushes",
    "amount_changes",
    "days_to_close",
    "days_since_activity",
)
LIFECYCLE_CATEGORICAL = ("stage",)
# Never features: only complete once the deal is closed, or written because it closed.
EXCLUDED = ("loss_reason", "competitor", "closed_at", "probability", "forecast_category")
LABELS = {
    "log_amount": "deal size",
    "account_employees": "account size",
    "account_log_revenue": "account revenue",
    "type": "deal type",
    "lead_source": "lead source",
    "segment": "segment",
    "product": "product",
    "industry": "industry",
    "country": "country",
    "region": "region",
    "owner": "owner",
    "owner_win_rate": "owner's win rate",
    "account_win_rate": "account's win rate",
    "stage_order": "stage",
    "stage": "stage",
    "age_days": "days open",
    "days_in_stage": "days in stage",
    "pushes": "close date pushed",
    "amount_changes": "amount changed",
    "days_to_close": "days to the expected close",
    "days_since_activity": "days since the last activity",
}


@dataclass(frozen=True)
class DealData:
    """Everything the features are built from.

    `static`: one row per opportunity id with what does not change over a deal's life
    (product, account industry/country/region/employees/revenue, and the custom attributes
    as `attr:<name>` for the deal's own and `account:<name>` for its account's).
    """

    prep: Prepared
    static: pd.DataFrame

    @property
    def history(self) -> History:
        return self.prep.history


def mode_of(prep: Prepared) -> Mode:
    """ "history" when most closed deals have the stage change that closed them recorded."""
    closed = ~np.isnat(prep.closed)
    if not closed.any():
        return "final-state"
    recorded = np.zeros(len(prep.opp_ids), dtype=bool)
    recorded[prep.ev_pos[prep.ev_new_closed]] = True
    return "history" if recorded[closed].mean() >= 0.5 else "final-state"


def attribute_columns(static: pd.DataFrame) -> tuple[list[str], list[str]]:
    """The custom-attribute columns that can be features: (numeric, categorical).

    An attribute is numeric when every value it has is a number, else a category; one with a
    single distinct value says nothing and is left out.
    """
    numeric: list[str] = []
    categorical: list[str] = []
    for name in static.columns:
        if not name.startswith(("attr:", "account:")):
            continue
        values = static[name].dropna()
        if values.astype(str).nunique() < 2:
            continue
        is_number = values.map(lambda v: isinstance(v, int | float) and not isinstance(v, bool))
        (numeric if bool(is_number.all()) else categorical).append(name)
    return sorted(numeric), sorted(categorical)


def spec_for(data: DealData, mode: Mode, *, exclude: tuple[str, ...] = ()) -> FeatureSpec:
    """The features a model of `data` reads in `mode`, minus `exclude`."""
    attr_num, attr_cat = attribute_columns(data.static)
    numeric = list(STATIC_NUMERIC) + list(TRACK_RECORD) + attr_num
    categorical = list(STATIC_CATEGORICAL) + attr_cat
    if mode == "history":
        numeric += list(LIFECYCLE_NUMERIC)
        categorical += list(LIFECYCLE_CATEGORICAL)
    drop = set(exclude)
    return FeatureSpec(
        numeric=tuple(n for n in numeric if n not in drop),
        categorical=tuple(c for c in categorical if c not in drop),
    )


def _days(later: np.ndarray, earlier: np.ndarray) -> np.ndarray:
    a = np.asarray(later, dtype="M8[ns]").astype("int64")
    b = np.asarray(earlier, dtype="M8[ns]").astype("int64")
    nat = np.iinfo("int64").min
    return np.where((a == nat) | (b == nat), np.nan, (a - b) / NS_PER_DAY)


def track_record(
    keys: np.ndarray, at: np.ndarray, closed: pd.DataFrame, key: str
) -> tuple[np.ndarray, np.ndarray]:
    """Per (key, at): deals of that key won, and closed, strictly before `at`."""
    out_won = np.zeros(len(keys))
    out_closed = np.zeros(len(keys))
    if len(keys) == 0 or closed.empty:
        return out_won, out_closed
    right = closed[[key, "closed_at", "won"]].dropna(subset=["closed_at"])
    right = right[right[key] >= 0].sort_values([key, "closed_at"], kind="stable")
    right = right.assign(
        cum_won=right.groupby(key)["won"].cumsum().astype("float64"),
        cum_closed=right.groupby(key).cumcount().astype("float64") + 1.0,
    ).sort_values("closed_at", kind="stable")
    left = pd.DataFrame(
        {key: np.asarray(keys, dtype="int64"), "at": np.asarray(at, dtype="M8[ns]")}
    )
    left["row"] = np.arange(len(left))
    left = left.sort_values("at", kind="stable")
    known = left["at"].notna()
    merged = pd.merge_asof(
        left[known],
        right[[key, "closed_at", "cum_won", "cum_closed"]].astype({key: "int64"}),
        left_on="at",
        right_on="closed_at",
        by=key,
        allow_exact_matches=False,
    )
    rows = merged["row"].to_numpy()
    out_won[rows] = merged["cum_won"].fillna(0.0).to_numpy()
    out_closed[rows] = merged["cum_closed"].fillna(0.0).to_numpy()
    return out_won, out_closed


def final_outcomes(data: DealData) -> pd.DataFrame:
    """Per opportunity: closed_at (NaT while open), won and account, as the data ends."""
    opps = data.history.opportunities
    category = pd.Series(
        data.prep.stage_category[data.prep.cur_stage], index=opps.index, dtype=object
    )
    return pd.DataFrame(
        {
            "id": opps["id"].to_numpy(),
            "owner_id": opps["owner_id"].to_numpy(),
            "account_id": opps["account_id"].to_numpy(),
            "closed_at": np.where(category == "open", np.datetime64("NaT"), data.prep.closed),
            "won": (category == "won").to_numpy(),
            "lost": (category == "lost").to_numpy(),
        }
    )


def _static_features(frame: pd.DataFrame, data: DealData) -> pd.DataFrame:
    static = data.static.set_index("id")
    out = frame.copy()
    joined = static.reindex(out["id"].to_numpy())
    for name in static.columns:
        out[name] = joined[name].to_numpy()
    out["log_amount"] = np.log1p(np.maximum(pd.to_numeric(out["amount"]).to_numpy(), 0.0))
    out["account_employees"] = pd.to_numeric(out["employees"], errors="coerce")
    revenue = pd.to_numeric(out["annual_revenue"], errors="coerce").to_numpy(dtype="float64")
    out["account_log_revenue"] = np.log1p(np.maximum(revenue, 0.0))
    out["owner"] = out["owner_id"].astype("int64").astype(str)
    return out


def _with_track_record(frame: pd.DataFrame, at: np.ndarray, outcomes: pd.DataFrame) -> None:
    """Owner's and account's win rates from the deals closed before each row's date, shrunk
    towards the company's rate at that date (itself from earlier closes only)."""
    closed = outcomes[~outcomes["closed_at"].isna()].assign(everyone=0)
    everyone = np.zeros(len(frame), dtype="int64")
    won_all, count_all = track_record(everyone, at, closed, "everyone")
    base = (won_all + 1.0) / (count_all + 2.0)
    for key, name in (("owner_id", "owner_win_rate"), ("account_id", "account_win_rate")):
        won, count = track_record(frame[key].to_numpy(), at, closed, key)
        frame[name] = (won + PRIOR_DEALS * base) / (count + PRIOR_DEALS)


def features_at(data: DealData, at: np.datetime64, mode: Mode) -> pd.DataFrame:
    """The deals open at `at`, with every feature as it was known then."""
    t = to_ns(at)
    snap = snapshot(data.prep, t)
    open_ = snap[(snap["stage_category"] == "open").to_numpy()].reset_index(drop=True)
    frame = _static_features(open_, data)
    frame["scored_at"] = t
    if mode == "history":
        frame["age_days"] = _days(np.full(len(frame), t), frame["created_at"].to_numpy())
        frame["days_in_stage"] = _days(np.full(len(frame), t), frame["stage_entered_at"].to_numpy())
        frame["days_to_close"] = _days(frame["close_date"].to_numpy(), np.full(len(frame), t))
        frame["days_since_activity"] = _days(
            np.full(len(frame), t), frame["last_activity_at"].to_numpy()
        )
        frame["pushes"] = frame["pushes"].astype("float64")
        frame["amount_changes"] = frame["amount_changes"].astype("float64")
        frame["stage_order"] = frame["stage_order"].astype("float64")
    _with_track_record(frame, np.full(len(frame), t), final_outcomes(data))
    return frame


def scoring_dates(data: DealData) -> list[np.datetime64]:
    """The 1st and 16th of every month from the first deal to the last close."""
    created = data.prep.created
    closed = data.prep.closed[~np.isnat(data.prep.closed)]
    if len(created) == 0 or len(closed) == 0:
        return []
    first = pd.Timestamp(created.min()).normalize().replace(day=1)
    last = pd.Timestamp(closed.max())
    dates = []
    month = first
    while month <= last:
        for day in (1, 16):
            stamp = month.replace(day=day)
            if pd.Timestamp(created.min()) <= stamp <= last:
                dates.append(to_ns(stamp))
        month = month + pd.offsets.MonthBegin(1)
    return dates


@dataclass(frozen=True)
class TrainingRows:
    """Labelled rows: features, label (won), when the outcome became known."""

    frame: pd.DataFrame
    labels: np.ndarray
    known_at: np.ndarray  # M8[ns]: the deal's close
    mode: Mode
    deals: int


def training_rows(data: DealData, mode: Mode, *, seed: int = 0) -> TrainingRows:
    """Every closed deal as it was at its scoring dates (see the module docstring)."""
    outcomes = final_outcomes(data).set_index("id")
    closed_ids = outcomes.index[outcomes["won"] | outcomes["lost"]]
    if mode == "history":
        frames: list[pd.DataFrame] = []
        dates = scoring_dates(data)
        # A seeded share of each date's rows, so memory stays bounded on long histories.
        per_date = max(500, MAX_ROWS // max(len(dates), 1))
        for t in dates:
            rows = features_at(data, t, mode)
            rows = rows[rows["id"].isin(closed_ids)]
            if len(rows) > per_date:
                pick = np.random.default_rng(seed + len(frames)).choice(
                    len(rows), per_date, replace=False
                )
                rows = rows.iloc[np.sort(pick)]
            frames.append(rows)
        frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    else:
        frame = _created_rows(data, closed_ids)
    if frame.empty:
        return TrainingRows(frame, np.zeros(0, dtype="int64"), np.zeros(0, "M8[ns]"), mode, 0)
    if len(frame) > MAX_ROWS:
        keep = np.random.default_rng(seed).choice(len(frame), MAX_ROWS, replace=False)
        frame = frame.iloc[np.sort(keep)].reset_index(drop=True)
    final = outcomes.reindex(frame["id"].to_numpy())
    return TrainingRows(
        frame=frame,
        labels=final["won"].to_numpy(dtype="int64"),
        known_at=final["closed_at"].to_numpy(dtype="M8[ns]"),
        mode=mode,
        deals=int(frame["id"].nunique()),
    )


def _created_rows(data: DealData, ids: pd.Index) -> pd.DataFrame:
    """Deals as they were created: only what does not change over a deal's life."""
    opps = data.history.opportunities
    chosen = opps[opps["id"].isin(ids)].reset_index(drop=True)
    frame = _static_features(chosen, data)
    # The amount a deal was created with: the old value of its first amount change.
    frame["log_amount"] = np.log1p(np.maximum(_first_amounts(data, frame), 0.0))
    at = frame["created_at"].to_numpy(dtype="M8[ns]")
    frame["scored_at"] = at
    _with_track_record(frame, at, final_outcomes(data))
    return frame


def _first_amounts(data: DealData, frame: pd.DataFrame) -> np.ndarray:
    events = data.history.events
    amounts = events[events["field"] == "amount"].sort_values(["opportunity_id", "at", "id"])
    first = amounts.groupby("opportunity_id")["old_value"].first()
    first = pd.to_numeric(first, errors="coerce")
    original = frame["id"].map(first)
    current = pd.to_numeric(frame["amount"], errors="coerce")
    return np.asarray(original.fillna(current).to_numpy(dtype="float64"))


def open_rows(data: DealData, at: np.datetime64, mode: Mode) -> pd.DataFrame:
    """The deals open at `at`, to score (features as known at `at`)."""
    return features_at(data, at, mode)
