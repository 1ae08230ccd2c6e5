"""Historical conversion rates: win-in-period and eventual-win rates by stage and age.

Pure: each sparse cell is shrunk towards its parent (stage, then overall) so that a cell seen
on a handful of deals does not swing the forecast.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesops.forecasting.features import age_bucket

SHRINK = 10.0  # pseudo-observations pulling a sparse conversion cell towards its parent


def conversion_table(cells: pd.DataFrame) -> dict[str, pd.Series]:
    """Win-in-period-k rates by (stage, age bucket, k), shrunk towards (stage, k) and k."""
    if cells.empty:
        return {}
    # By value: "sum" is the won amount and "count" the amount; a cell is shrunk towards
    # its parent by SHRINK average deals' worth of amount.
    table: dict[str, pd.Series] = {}
    top = cells.groupby("horizon")[["sum", "count", "deals"]].sum()
    table["k"] = top["sum"] / top["count"].where(top["count"] > 0)
    mid = cells.groupby(["horizon", "stage_code"])[["sum", "count", "deals"]].sum()
    parent = mid.index.get_level_values(0).map(table["k"]).to_numpy()
    weight = SHRINK * mid["count"] / mid["deals"]
    table["stage"] = (mid["sum"] + weight * parent) / (mid["count"] + weight)
    cell = cells.set_index(["horizon", "stage_code", "bucket"])[["sum", "count", "deals"]]
    parent_idx = pd.MultiIndex.from_arrays(
        [cell.index.get_level_values(0), cell.index.get_level_values(1)]
    )
    parent = np.asarray(table["stage"].reindex(parent_idx).to_numpy(), dtype="float64")
    weight = SHRINK * cell["count"] / cell["deals"]
    table["cell"] = (cell["sum"] + weight * parent) / (cell["count"] + weight)
    return {name: series.fillna(0.0) for name, series in table.items()}


def lookup(table: dict[str, pd.Series], frame: pd.DataFrame) -> np.ndarray:
    """The conversion rate of each (deal, horizon) row of `frame`, from the finest cell known."""
    if not table:
        return np.zeros(len(frame))
    horizon = frame["horizon"].to_numpy()
    stage = frame["stage_code"].to_numpy()
    bucket = age_bucket(frame["age_days"].to_numpy())
    cell = table["cell"].reindex(pd.MultiIndex.from_arrays([horizon, stage, bucket]))
    mid = table["stage"].reindex(pd.MultiIndex.from_arrays([horizon, stage]))
    top = table["k"].reindex(horizon)
    # Horizons never observed yet (too far ahead) borrow the furthest one known.
    fallback = float(table["k"].iloc[-1])
    out = cell.to_numpy()
    out = np.where(np.isnan(out), mid.to_numpy(), out)
    out = np.where(np.isnan(out), top.to_numpy(), out)
    return np.nan_to_num(out, nan=fallback)


def eventual_win(rows: pd.DataFrame, state: pd.DataFrame, deals: pd.DataFrame) -> np.ndarray:
    """Probability each open deal is won at all: the resolved-deal win rate of its cell.

    `rows` are the training rows, `state` the deals as known at T (their outcome), `deals`
    the open deals at T.
    """
    if rows.empty or len(deals) == 0:
        return np.asarray(deals["stage_probability"].to_numpy(), dtype="float64")
    rows = rows[rows["horizon"] == 0]
    outcome = rows["id"].map(state.set_index("id")["stage_category"])
    rows = rows.assign(won=outcome == "won", bucket=age_bucket(rows["age_days"].to_numpy()))
    rows = rows[outcome.to_numpy() != "open"]
    if rows.empty:
        return np.asarray(deals["stage_probability"].to_numpy(), dtype="float64")
    base = float(rows["won"].mean())
    stage = rows.groupby("stage_code")["won"].agg(["sum", "count"])
    stage_rate = (stage["sum"] + SHRINK * base) / (stage["count"] + SHRINK)
    cell = rows.groupby(["stage_code", "bucket"])["won"].agg(["sum", "count"])
    parent = np.asarray(
        stage_rate.reindex(cell.index.get_level_values(0)).to_numpy(), dtype="float64"
    )
    cell_rate = (cell["sum"] + SHRINK * parent) / (cell["count"] + SHRINK)
    keys = pd.MultiIndex.from_arrays(
        [deals["stage_code"].to_numpy(), age_bucket(deals["age_days"].to_numpy())]
    )
    out = cell_rate.reindex(keys).to_numpy()
    out = np.where(np.isnan(out), stage_rate.reindex(deals["stage_code"]).to_numpy(), out)
    return np.asarray(np.nan_to_num(out, nan=base), dtype="float64")
