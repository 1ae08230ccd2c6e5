"""Historical conversion rates: win-in-period and eventual-win rates by stage and age.

Pure: each sparse cell is shrunk towards its parent (stage, then overall) so that a cell seen
on a handful of deals does not swing the forecast.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesops.forecasting.features import age_bucket

SHRINK = 10.0  # pseudo-observations pulling a sparse conversion cell towards its parent


def _shrunk(cells: pd.DataFrame, keys: list[str], parent: pd.Series | None) -> pd.Series:
    """Won-value rate of each `keys` group ("sum" won amount over "count" amount), pulled
    towards its parent group's rate (the keys minus the last) by SHRINK average deals' worth
    of amount."""
    group = cells.groupby(keys)[["sum", "count", "deals"]].sum()
    if parent is None:
        rate: pd.Series = group["sum"] / group["count"].where(group["count"] > 0)
        return rate
    up = keys[:-1]
    index = group.index.droplevel(-1) if len(up) > 1 else group.index.get_level_values(0)
    prior = np.asarray(parent.reindex(index).to_numpy(), dtype="float64")
    weight = SHRINK * group["count"] / group["deals"]
    shrunk: pd.Series = (group["sum"] + weight * prior) / (group["count"] + weight)
    return shrunk


def conversion_table(cells: pd.DataFrame) -> dict[str, pd.Series]:
    """Win-in-period-k rates by (stage, age bucket, k), shrunk towards (stage, k) and k; and
    the same by position in the quarter, for the positions seen in training.

    The positional rates matter for monthly forecasts: which deals close in a month can
    depend on where the month falls in the quarter (quarter-end pushes; in the Maven data
    only deals a few days old close in a quarter's first month). A position never seen yet
    falls back to the rates pooled over positions.
    """
    if cells.empty:
        return {}
    # By value: "sum" is the won amount and "count" the amount.
    table: dict[str, pd.Series] = {}
    table["k"] = _shrunk(cells, ["horizon"], None)
    table["stage"] = _shrunk(cells, ["horizon", "stage_code"], table["k"])
    table["cell"] = _shrunk(cells, ["horizon", "stage_code", "bucket"], table["stage"])
    table["pos"] = _shrunk(cells, ["horizon", "period_position"], table["k"])
    table["pos_stage"] = _shrunk(cells, ["horizon", "period_position", "stage_code"], table["pos"])
    table["pos_cell"] = _shrunk(
        cells, ["horizon", "period_position", "stage_code", "bucket"], table["pos_stage"]
    )
    return {name: series.fillna(0.0) for name, series in table.items()}


def lookup(table: dict[str, pd.Series], frame: pd.DataFrame) -> np.ndarray:
    """The conversion rate of each (deal, horizon) row of `frame`, from the finest cell known:
    by position in the quarter when that (horizon, position) was seen in training, else
    pooled over positions."""
    if not table:
        return np.zeros(len(frame))
    horizon = frame["horizon"].to_numpy()
    position = frame["period_position"].to_numpy()
    stage = frame["stage_code"].to_numpy()
    bucket = age_bucket(frame["age_days"].to_numpy())
    seen = table["pos"].reindex(pd.MultiIndex.from_arrays([horizon, position])).notna().to_numpy()
    chains = (
        ([horizon, stage, bucket], "cell", "stage", "k"),
        ([horizon, position, stage, bucket], "pos_cell", "pos_stage", "pos"),
    )
    out = np.full(len(frame), np.nan)
    for keys, fine, mid, top in chains:
        rate = table[fine].reindex(pd.MultiIndex.from_arrays(keys)).to_numpy()
        rate = np.where(
            np.isnan(rate), table[mid].reindex(pd.MultiIndex.from_arrays(keys[:-1])), rate
        )
        parent = table[top].reindex(
            pd.MultiIndex.from_arrays(keys[:2]) if top == "pos" else horizon
        )
        rate = np.where(np.isnan(rate), parent.to_numpy(), rate)
        out = np.where(seen, rate, out) if fine == "pos_cell" else rate
    # Horizons never observed yet (too far ahead) borrow the furthest one known.
    fallback = float(table["k"].iloc[-1])
    return np.asarray(np.nan_to_num(out, nan=fallback), dtype="float64")


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
