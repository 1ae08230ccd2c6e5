"""Judging a plan (pure): balance per rep, Gini, moves, value moved; the greedy baseline;
and the explanation of every account (factor contributions, best alternative, why it moved)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from salesops.territories.optimizer import (
    FACTORS,
    AccountIn,
    Measure,
    RepIn,
    Settings,
    disruption,
    factor_costs,
    measure_of,
)

MEASURES: tuple[Measure, ...] = ("workload", "potential", "accounts")


def gini(values: Sequence[float]) -> float:
    """0 when every rep carries the same, towards 1 when one carries everything."""
    x = np.sort(np.asarray(values, dtype=float))
    if x.size == 0 or x.sum() == 0:
        return 0.0
    n = x.size
    return float((2 * np.arange(1, n + 1) - n - 1).dot(x) / (n * x.sum()))


@dataclass(frozen=True)
class Summary:
    per_rep: dict[str, dict[str, float]]  # rep -> measure -> total
    min_max: dict[str, float]  # measure -> min / max over reps (1 = perfectly even)
    spread: dict[str, float]  # measure -> max / min over reps (inf when a rep has none)
    gini: dict[str, float]
    moves: int
    value_moved: float  # potential of the accounts that change rep
    objective: float


def summarize(
    accounts: Sequence[AccountIn],
    reps: Sequence[RepIn],
    assignment: Mapping[str, str | None],
    s: Settings,
) -> Summary:
    per_rep: dict[str, dict[str, float]] = {r.id: dict.fromkeys(MEASURES, 0.0) for r in reps}
    for a in accounts:
        rep = assignment.get(a.id)
        if rep is not None:
            for m in MEASURES:
                per_rep[rep][m] += measure_of(a, m)
    totals = {m: [per_rep[r.id][m] for r in reps] for m in MEASURES}
    moved = [
        a for a in accounts if a.current_rep is not None and assignment.get(a.id) != a.current_rep
    ]
    return Summary(
        per_rep=per_rep,
        min_max={m: (min(v) / max(v) if max(v) > 0 else 1.0) for m, v in totals.items()},
        spread={m: (max(v) / min(v) if min(v) > 0 else float("inf")) for m, v in totals.items()},
        gini={m: gini(v) for m, v in totals.items()},
        moves=len(moved),
        value_moved=sum(a.potential for a in moved),
        objective=objective(accounts, reps, assignment, s),
    )


def objective(
    accounts: Sequence[AccountIn],
    reps: Sequence[RepIn],
    assignment: Mapping[str, str | None],
    s: Settings,
) -> float:
    """The optimizer's objective for any assignment (accounts left unassigned cost nothing)."""
    cost = factor_costs(accounts, reps, s.weights).sum(axis=0) + disruption(
        accounts, reps, s.weights
    )
    index = {r.id: j for j, r in enumerate(reps)}
    return float(
        sum(cost[i, index[rep]] for i, a in enumerate(accounts) if (rep := assignment.get(a.id)))
    )


def greedy(accounts: Sequence[AccountIn], reps: Sequence[RepIn]) -> dict[str, str]:
    """The planning-tool baseline: accounts by descending potential, each to the rep with the
    most remaining capacity (capacity minus workload given so far; ties by rep order)."""
    room = {r.id: (r.capacity if r.capacity is not None else 0.0) - r.load for r in reps}
    if all(r.capacity is None for r in reps):
        room = dict.fromkeys(room, sum(a.workload for a in accounts) / max(len(reps), 1))
    plan: dict[str, str] = {}
    for a in sorted(accounts, key=lambda a: (-a.potential, a.id)):
        rep = max(room, key=lambda r: room[r])
        plan[a.id] = rep
        room[rep] -= a.workload
    return plan


@dataclass(frozen=True)
class Explanation:
    account: str
    rep: str
    factors: dict[str, float]  # factor -> weighted cost with the chosen rep
    disruption: float
    cost: float
    alternative: str | None  # cheapest other rep (ignoring balance and capacity)
    alternative_cost: float | None
    moved_from: str | None
    why: str


def explain(
    accounts: Sequence[AccountIn],
    reps: Sequence[RepIn],
    assignment: Mapping[str, str],
    s: Settings,
) -> list[Explanation]:
    """Why each account went where it did, factor by factor, against its best alternative."""
    parts = factor_costs(accounts, reps, s.weights)
    moving = disruption(accounts, reps, s.weights)
    cost = parts.sum(axis=0) + moving
    index = {r.id: j for j, r in enumerate(reps)}
    out = []
    for i, a in enumerate(accounts):
        r = index[assignment[a.id]]
        others = [j for j in range(len(reps)) if j != r]
        alt = min(others, key=lambda j: (cost[i, j], j)) if others else None
        moved_from = a.current_rep if a.current_rep not in (None, reps[r].id) else None
        if moved_from is None:
            why = "stays with its current rep" if a.current_rep else "newly assigned"
            if alt is not None:
                extra = cost[i, alt] - cost[i, r]
                why += f"; the next best rep, {reps[alt].id}, would cost {extra:+.3f}"
        else:
            c = index[moved_from]
            delta = parts[:, i, r] - parts[:, i, c]
            if cost[i, r] < cost[i, c]:
                best = FACTORS[int(np.argmin(delta))]
                why = (
                    f"moved from {moved_from}: costs {cost[i, c] - cost[i, r]:.3f} less with"
                    f" {reps[r].id} even after disruption {moving[i, r]:.3f};"
                    f" mostly {best} ({delta.min():+.3f})"
                )
            else:
                why = (
                    f"moved from {moved_from} to meet the balance, capacity or move limits:"
                    f" it costs {cost[i, r] - cost[i, c]:.3f} more than staying, the cheapest"
                    " move that keeps every rep inside the bands"
                )
        out.append(
            Explanation(
                account=a.id,
                rep=reps[r].id,
                factors={f: round(float(parts[k, i, r]), 6) for k, f in enumerate(FACTORS)},
                disruption=round(float(moving[i, r]), 6),
                cost=round(float(cost[i, r]), 6),
                alternative=None if alt is None else reps[alt].id,
                alternative_cost=None if alt is None else round(float(cost[i, alt]), 6),
                moved_from=moved_from,
                why=why,
            )
        )
    return out
