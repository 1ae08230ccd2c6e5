"""Vectorised point-in-time pipeline: the rule of `salesops.pipeline.history`, for many dates.

The value of a field at T is the `old_value` of the first event after T, else the current
value; events at exactly T count as applied; opportunities created after T did not exist.
Events are sorted once by (opportunity, field, time); for each T a boolean mask `at > T` is
monotone within every (opportunity, field) group, so "first event after T" and "last event at
or before T" are found with two shifted masks, without a Python loop over deals.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from salesops.forecasting.frames import History

STAGE, AMOUNT, CLOSE_DATE, CATEGORY, OWNER = 0, 1, 2, 3, 4
_FIELDS = {"stage": STAGE, "amount": AMOUNT, "close_date": CLOSE_DATE}
_FIELDS |= {"forecast_category": CATEGORY, "owner": OWNER}
NAT = np.datetime64("NaT", "ns")


def to_ns(at: datetime | np.datetime64 | pd.Timestamp) -> np.datetime64:
    """A UTC instant as naive datetime64[ns]."""
    stamp = pd.Timestamp(at)
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    value: np.datetime64 = np.array([stamp.value], dtype="int64").view("M8[ns]")[0]
    return value


def _float(values: pd.Series) -> np.ndarray:
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64")


@dataclass(frozen=True)
class Prepared:
    """A history with its events sorted and decoded, ready for snapshots at many dates."""

    history: History
    stage_names: np.ndarray  # code -> name
    stage_category: np.ndarray  # code -> "open" | "won" | "lost"
    stage_order: np.ndarray
    stage_probability: np.ndarray
    categories: np.ndarray  # forecast category code -> name
    opp_ids: np.ndarray
    cur_stage: np.ndarray
    cur_category: np.ndarray
    created: np.ndarray
    closed: np.ndarray
    ev_pos: np.ndarray  # position of each event's opportunity in opp_ids
    ev_field: np.ndarray
    ev_at: np.ndarray
    ev_old_num: np.ndarray  # decoded old value: stage/category code, amount, owner id
    ev_old_date: np.ndarray  # decoded old close date
    ev_new_closed: np.ndarray  # a stage event moving into a won/lost stage
    ev_push: np.ndarray  # a close-date event moving the date later
    group_start: np.ndarray
    group_end: np.ndarray
    act_pos: np.ndarray
    act_at: np.ndarray
    created_sorted: np.ndarray  # every deal's creation time, sorted (new pipeline over time)
    lead_at: np.ndarray  # every lead's capture time, sorted


def prepare(history: History) -> Prepared:
    """Decode and sort the events of `history` once."""
    opps, events, stages = history.opportunities, history.events, history.stages
    names = list(stages["name"])
    extra = sorted(set(opps["stage"].dropna()) - set(names))
    stage_names = np.array(names + extra, dtype=object)
    stage_cat = np.array(list(stages["category"]) + ["open"] * len(extra), dtype=object)
    order = np.array(list(stages["sort_order"]) + [0] * len(extra), dtype="int64")
    prob = np.array(list(stages["default_probability"]) + [0.0] * len(extra), dtype="float64")
    stage_code = {name: i for i, name in enumerate(stage_names)}
    cat_events = events[events["field"] == "forecast_category"]
    cats = sorted(
        set(opps["forecast_category"].dropna())
        | set(cat_events["old_value"].dropna())
        | {"pipeline"}
    )
    cat_code = {name: i for i, name in enumerate(cats)}

    ev = events[events["field"].isin(list(_FIELDS))].copy()
    ev["f"] = ev["field"].map(_FIELDS).astype("int64")
    ev = ev.sort_values(["opportunity_id", "f", "at", "id"], kind="stable")
    opp_ids = opps["id"].to_numpy()
    pos = np.searchsorted(opp_ids, ev["opportunity_id"].to_numpy())
    fld = ev["f"].to_numpy()
    old = ev["old_value"]
    num = np.full(len(ev), np.nan)
    is_stage, is_cat = fld == STAGE, fld == CATEGORY
    num[is_stage] = old[is_stage].map(stage_code).to_numpy(dtype="float64")
    num[is_cat] = old[is_cat].map(cat_code).to_numpy(dtype="float64")
    num_fields = (fld == AMOUNT) | (fld == OWNER)
    num[num_fields] = _float(old[num_fields])
    is_date = fld == CLOSE_DATE
    old_date = np.full(len(ev), NAT)
    old_date[is_date] = pd.to_datetime(old[is_date], errors="coerce").to_numpy(dtype="M8[ns]")
    new_date = np.full(len(ev), NAT)
    new_date[is_date] = pd.to_datetime(ev["new_value"][is_date], errors="coerce").to_numpy(
        dtype="M8[ns]"
    )
    closed_names = {n for n, c in zip(stage_names, stage_cat, strict=True) if c != "open"}
    new_closed = is_stage & ev["new_value"].isin(list(closed_names)).to_numpy()
    push = is_date & (new_date > old_date)
    key_change = np.ones(len(ev), dtype=bool)
    if len(ev) > 1:
        key_change[1:] = (pos[1:] != pos[:-1]) | (fld[1:] != fld[:-1])
    group_end = np.ones(len(ev), dtype=bool)
    group_end[:-1] = key_change[1:]

    acts = history.activities.sort_values(["opportunity_id", "at"], kind="stable")
    acts = acts[acts["opportunity_id"].isin(opps["id"])]
    return Prepared(
        history=history,
        stage_names=stage_names,
        stage_category=stage_cat,
        stage_order=order,
        stage_probability=prob,
        categories=np.array(cats, dtype=object),
        opp_ids=opp_ids,
        cur_stage=opps["stage"].map(stage_code).to_numpy(dtype="int64"),
        cur_category=opps["forecast_category"].map(cat_code).fillna(0).to_numpy(dtype="int64"),
        created=opps["created_at"].to_numpy(dtype="M8[ns]"),
        closed=opps["closed_at"].to_numpy(dtype="M8[ns]"),
        ev_pos=pos,
        ev_field=fld,
        ev_at=ev["at"].to_numpy(dtype="M8[ns]"),
        ev_old_num=num,
        ev_old_date=old_date,
        ev_new_closed=new_closed,
        ev_push=push,
        group_start=key_change,
        group_end=group_end,
        act_pos=np.searchsorted(opp_ids, acts["opportunity_id"].to_numpy()),
        act_at=acts["at"].to_numpy(dtype="M8[ns]"),
        created_sorted=np.sort(opps["created_at"].to_numpy(dtype="M8[ns]")),
        lead_at=history.leads["at"].to_numpy(dtype="M8[ns]"),
    )


def snapshot(prep: Prepared, at: datetime | np.datetime64) -> pd.DataFrame:
    """Every opportunity that existed at `at`, as it was then, with history-derived features.

    Columns: the opportunity columns of `History` (stage, amount, close_date, owner_id,
    forecast_category, closed_at rewound to `at`) plus stage_category, stage_order,
    stage_probability, stage_entered_at, pushes (close-date slips so far), amount_changes,
    last_activity_at and won (closed as won at `at`).
    """
    t = to_ns(at)
    opps = prep.history.opportunities
    n = len(opps)
    stage = prep.cur_stage.copy()
    amount = opps["amount"].to_numpy(dtype="float64").copy()
    close_date = opps["close_date"].to_numpy(dtype="M8[ns]").copy()
    category = prep.cur_category.copy()
    owner = opps["owner_id"].to_numpy(dtype="int64").copy()

    after = prep.ev_at > t
    prev_after = np.zeros_like(after)
    prev_after[1:] = after[:-1]
    first_after = after & (prep.group_start | ~prev_after)
    next_after = np.ones_like(after)
    next_after[:-1] = after[1:]
    last_before = ~after & (prep.group_end | next_after)

    # Positions of the selected events, found once: each boolean mask over every event is a
    # full scan, and several arrays are read at the same few positions.
    fa = np.flatnonzero(first_after)
    fa_pos, fa_field, fa_num = prep.ev_pos[fa], prep.ev_field[fa], prep.ev_old_num[fa]
    known = ~np.isnan(fa_num)
    sel = (fa_field == STAGE) & known
    stage[fa_pos[sel]] = fa_num[sel].astype("int64")
    sel = (fa_field == AMOUNT) & known
    amount[fa_pos[sel]] = fa_num[sel]
    sel = (fa_field == CATEGORY) & known
    category[fa_pos[sel]] = fa_num[sel].astype("int64")
    sel = (fa_field == OWNER) & known
    owner[fa_pos[sel]] = fa_num[sel].astype("int64")
    sel = fa_field == CLOSE_DATE
    close_date[fa_pos[sel]] = prep.ev_old_date[fa][sel]

    stage_cat = prep.stage_category[stage]
    # Compared per stage code, not per deal (the names are Python strings).
    is_open = (prep.stage_category == "open")[stage]
    is_won = (prep.stage_category == "won")[stage]
    created = prep.created
    closed = prep.closed.copy()
    entered = created.copy()
    lb_stage = np.flatnonzero(last_before & (prep.ev_field == STAGE))
    entered[prep.ev_pos[lb_stage]] = prep.ev_at[lb_stage]
    # A deal closed at T but changed since (reopened later): it closed at its last close <= T.
    stale = ~is_open & ~(closed <= t)
    lb_close = lb_stage[prep.ev_new_closed[lb_stage]]
    last_close = np.full(n, NAT)
    last_close[prep.ev_pos[lb_close]] = prep.ev_at[lb_close]
    closed = np.where(stale & ~np.isnat(last_close), last_close, closed)
    closed[is_open] = NAT

    upto = ~after
    pushes = np.bincount(prep.ev_pos[upto & prep.ev_push], minlength=n)
    changes = np.bincount(prep.ev_pos[upto & (prep.ev_field == AMOUNT)], minlength=n)
    last_act = np.full(n, NAT)
    acted = prep.act_at <= t
    if acted.any():
        # Activities are sorted by (opportunity, time): the last assignment per deal wins.
        last_act[prep.act_pos[acted]] = prep.act_at[acted]

    # Only the deals that existed at T are kept: selecting them before building the frame
    # (rather than filtering the whole frame) spares copying every column of the deals not
    # yet created, and the object columns (names) are only built for the rows kept.
    keep = created <= t
    stage = stage[keep]
    stage_cat = stage_cat[keep]
    is_won = is_won[keep]
    return pd.DataFrame(
        {
            "id": prep.opp_ids[keep],
            "owner_id": owner[keep],
            "team_id": opps["team_id"].to_numpy()[keep],
            "account_id": opps["account_id"].to_numpy()[keep],
            "segment": opps["segment"].to_numpy()[keep],
            "type": opps["type"].to_numpy()[keep],
            "lead_source": opps["lead_source"].to_numpy()[keep],
            "stage": prep.stage_names[stage],
            "stage_code": stage,
            "stage_category": stage_cat,
            "stage_order": prep.stage_order[stage],
            "stage_probability": prep.stage_probability[stage],
            "amount": amount[keep],
            "close_date": close_date[keep],
            "forecast_category": prep.categories[category[keep]],
            "created_at": created[keep],
            "closed_at": closed[keep],
            "stage_entered_at": entered[keep],
            "pushes": pushes[keep],
            "amount_changes": changes[keep],
            "last_activity_at": last_act[keep],
            "won": is_won,
        }
    )
