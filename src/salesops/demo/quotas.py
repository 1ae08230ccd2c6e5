"""Quotas per rep and quarter (ramped for new hires) and their roll-up to teams.

Quotas are set the way many sales orgs do: a fully ramped rep's quarterly quota is a stretch
on what ramped reps of the same segment actually booked that year; new hires carry a share
of it (the ramp factor) in their first quarters.
"""

from __future__ import annotations

import numpy as np

from salesops.demo import params as P  # noqa: N812
from salesops.demo.calendar import DAY, I64, quarter_end_day, quarter_start_day, quarters
from salesops.demo.chunk import Rows
from salesops.demo.org import Org
from salesops.demo.sinks import NULL_INT, Column


class Bookings:
    """Won amounts per (rep, quarter), accumulated chunk by chunk."""

    def __init__(self, org: Org) -> None:
        self.q0 = int(quarters(np.asarray([org.start_ts]))[0])
        self.q1 = int(quarters(np.asarray([org.cut_ts]))[0])
        self.cents = np.zeros((len(org.rep_skill), self.q1 - self.q0 + 1), dtype=np.int64)

    def add(self, rep: I64, closed_ts: I64, amount: I64) -> None:
        np.add.at(self.cents, (rep, quarters(closed_ts) - self.q0), amount)


def quota_rows(org: Org, bookings: Bookings, team_parent: dict[int, int | None]) -> Rows:
    """Rep quotas for every quarter a seller worked at least a month of, and team roll-ups."""
    q = np.arange(bookings.q0, bookings.q1 + 1)
    q_start = quarter_start_day(q) * DAY
    q_end = (quarter_end_day(q) + 1) * DAY
    sellers = np.flatnonzero(org.rep_is_seller)
    hire, term = org.rep_hire_ts[sellers], org.rep_term_ts[sellers]
    overlap = np.minimum(term[:, None], q_end[None, :]) - np.maximum(
        hire[:, None], q_start[None, :]
    )
    worked = overlap >= 30 * DAY
    since_hire = q[None, :] - quarters(hire)[:, None]
    ramp = np.where(
        since_hire < len(P.QUOTA_RAMP),
        np.take(P.QUOTA_RAMP, np.clip(since_hire, 0, len(P.QUOTA_RAMP) - 1)),
        1.0,
    )
    whole = (hire[:, None] <= q_start[None, :]) & (term[:, None] >= q_end[None, :])
    settled = (q_end <= org.cut_ts)[None, :]
    year = q // 4
    seg = org.rep_segment[sellers]
    full = np.zeros((len(sellers), len(q)))
    booked = bookings.cents[sellers]
    for s in range(len(P.SEGMENTS)):
        by_year: dict[int, float] = {}
        for y in np.unique(year):
            cells = (seg[:, None] == s) & (ramp == 1.0) & whole & settled & (year == y)[None, :]
            if cells.sum() >= 3:
                by_year[int(y)] = float(booked[cells].mean()) * P.QUOTA_STRETCH
        for j, y in enumerate(year):
            known = by_year.get(int(y))
            if known is None and by_year:
                nearest = min(by_year, key=lambda k: abs(k - int(y)))
                known = by_year[nearest] * (1 + P.PRICE_GROWTH_PER_YEAR) ** (int(y) - nearest)
            full[seg == s, j] = round((known or 0.0) / 500_000) * 500_000
    r, c = np.nonzero(worked & (full > 0))
    amount = np.round(full[r, c] * ramp[r, c]).astype(np.int64)
    rep_quotas: dict[str, Column] = {
        "rep_id": org.rep_id(sellers[r]),
        "period_start": quarter_start_day(q[c]),
        "period_end": quarter_end_day(q[c]),
        "amount": amount,
        "currency": "USD",
        "ramp_factor": np.round(ramp[r, c] * 10_000).astype(np.int64),
    }
    # Teams: the sum of their members' quotas at the start of the quarter, rolled up.
    rep_of = {int(rep): i for i, rep in enumerate(sellers)}
    team_total: dict[tuple[int, int], int] = {}
    amounts = np.zeros((len(sellers), len(q)), dtype=np.int64)
    amounts[r, c] = amount
    for team, rep, d_from, d_to in org.team_members:
        i = rep_of.get(rep)
        if i is None:
            continue
        for j in range(len(q)):
            day = q_start[j] // DAY
            if d_from <= day and (d_to == NULL_INT or d_to > day) and amounts[i, j]:
                node: int | None = team
                while node is not None:
                    team_total[(node, j)] = team_total.get((node, j), 0) + int(amounts[i, j])
                    node = team_parent[node]
    keys = sorted(team_total)
    team_quotas: dict[str, Column] = {
        "team_id": np.asarray([t for t, _ in keys], dtype=np.int64),
        "period_start": quarter_start_day(np.asarray([q[j] for _, j in keys], dtype=np.int64)),
        "period_end": quarter_end_day(np.asarray([q[j] for _, j in keys], dtype=np.int64)),
        "amount": np.asarray([team_total[k] for k in keys], dtype=np.int64),
        "currency": "USD",
        "ramp_factor": np.full(len(keys), 10_000, dtype=np.int64),
    }
    return {"quotas": (rep_quotas, len(r)), "team_quotas": (team_quotas, len(keys))}
