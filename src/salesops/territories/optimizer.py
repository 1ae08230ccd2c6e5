"""Account-to-rep assignment as a mixed-integer program (HiGHS): a pure core, no database.

Each account goes to exactly one rep. The objective is a weighted sum of five factor costs
per (account, rep) pair plus disruption:

- experience: valuable accounts (potential) with inexperienced reps;
- knowledge: the rep's win record in the account's industry (1 - knowledge);
- quota: valuable accounts with reps whose quota is small next to the largest;
- buying process: complex buying processes with reps untested on complex deals;
- load: the account's workload times how full the rep already is outside this plan;
- disruption: the chosen measure of each account that changes rep.

Subject to: balance of any measure per rep within [lo, hi] x a target (the mean, or a share
proportional to quota or capacity), capacity, locks (keep with the current owner), and a
limit on moves. HiGHS proves a bound; the gap is reported. To keep big instances tractable,
each account may be offered only its `candidates` cheapest reps (plus its current one): the
bound is then that of the restricted model, and the report says so.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from scipy import sparse

from salesops.errors import ConfigurationError, Problem, ValidationFailed

FACTORS = ("experience", "knowledge", "quota", "buying_process", "load")
Measure = Literal["workload", "potential", "accounts"]
Target = Literal["mean", "quota", "capacity"]


@dataclass(frozen=True)
class RepIn:
    """A rep as the optimizer sees them; scores are 0..1 (1 = best)."""

    id: str
    experience: float = 0.5
    knowledge: dict[str, float] = field(default_factory=dict)  # industry -> 0..1
    complex_skill: float | None = None  # track record on complex deals (experience if None)
    quota: float = 0.0
    capacity: float | None = None  # workload the rep can carry in total
    load: float = 0.0  # workload already carried outside this plan


@dataclass(frozen=True)
class AccountIn:
    id: str
    workload: float = 1.0
    potential: float = 0.0
    complexity: float = 0.5  # buying process, 0 (one buyer) .. 1 (committee, long cycle)
    industry: str | None = None
    current_rep: str | None = None
    locked: bool = False


@dataclass(frozen=True)
class Weights:
    experience: float = 1.0
    knowledge: float = 1.0
    quota: float = 1.0
    buying_process: float = 1.0
    load: float = 1.0
    disruption: float = 1.0
    disruption_measure: Measure = "workload"


@dataclass(frozen=True)
class Balance:
    measure: Measure
    lo: float
    hi: float
    target: Target = "mean"


@dataclass(frozen=True)
class Settings:
    weights: Weights = Weights()
    balance: tuple[Balance, ...] = ()
    use_capacity: bool = True
    max_moves: int | None = None
    candidates: int | None = None  # cheapest reps offered per account (None: all)
    time_limit: float = 30.0
    gap: float = 1e-4


@dataclass(frozen=True)
class Plan:
    assignment: dict[str, str]  # account id -> rep id
    objective: float
    bound: float
    gap: float
    status: str  # optimal, time_limit, ...
    seconds: float
    variables: int
    restricted: bool  # True when accounts were offered only their cheapest reps


def measure_of(a: AccountIn, measure: Measure) -> float:
    return a.workload if measure == "workload" else a.potential if measure == "potential" else 1.0


def factor_costs(accounts: Sequence[AccountIn], reps: Sequence[RepIn], w: Weights) -> np.ndarray:
    """costs[f, i, r]: factor f's weighted cost of giving account i to rep r (FACTORS order)."""
    pot = np.array([a.potential for a in accounts], dtype=float)
    pot_n = pot / pot.mean() if pot.size and pot.mean() > 0 else np.ones_like(pot)
    work = np.array([a.workload for a in accounts], dtype=float)
    work_n = work / work.mean() if work.size and work.mean() > 0 else np.ones_like(work)
    cx = np.array([a.complexity for a in accounts], dtype=float)
    exp = np.array([r.experience for r in reps], dtype=float)
    skill = np.array([r.experience if r.complex_skill is None else r.complex_skill for r in reps])
    quota = np.array([r.quota for r in reps], dtype=float)
    q_share = quota / quota.max() if quota.size and quota.max() > 0 else np.ones_like(quota)
    fill = np.array([r.load / r.capacity if r.capacity else 0.0 for r in reps])
    know = np.array([[r.knowledge.get(a.industry or "", 0.5) for r in reps] for a in accounts])
    return np.stack(
        [
            w.experience * np.outer(pot_n, 1 - exp),
            w.knowledge * (1 - know.reshape(len(accounts), len(reps))),
            w.quota * np.outer(pot_n, 1 - q_share),
            w.buying_process * np.outer(cx, 1 - skill),
            w.load * np.outer(work_n, fill),
        ]
    )


def disruption(accounts: Sequence[AccountIn], reps: Sequence[RepIn], w: Weights) -> np.ndarray:
    """cost[i, r] of moving account i away from its current rep to rep r."""
    ids = [r.id for r in reps]
    m = np.zeros((len(accounts), len(reps)))
    for i, a in enumerate(accounts):
        if a.current_rep is not None:
            m[i, :] = w.disruption * measure_of(a, w.disruption_measure)
            if a.current_rep in ids:
                m[i, ids.index(a.current_rep)] = 0.0
    return m


def validate(accounts: Sequence[AccountIn], reps: Sequence[RepIn], s: Settings) -> None:
    """Every problem with the inputs, before solving (ids, values, obviously impossible bands)."""
    problems: list[Problem] = []
    rep_ids = [r.id for r in reps]
    for label, ids in (("account", [a.id for a in accounts]), ("rep", rep_ids)):
        seen: set[str] = set()
        for x in ids:
            if x in seen:
                problems.append(Problem(f"{label} {x!r} appears twice", f"{label}s"))
            seen.add(x)
    if not reps:
        problems.append(Problem("there are no reps to assign to", "reps"))
    for a in accounts:
        where = f"account {a.id}"
        if a.workload < 0 or a.potential < 0:
            problems.append(Problem("workload and potential must not be negative", where))
        if a.current_rep is not None and a.current_rep not in rep_ids:
            problems.append(Problem(f"current rep {a.current_rep!r} is not a known rep", where))
        if a.locked and a.current_rep is None:
            problems.append(Problem("locked to its current owner, but it has none", where))
    for r in reps:
        if (r.capacity is not None and r.capacity < 0) or r.quota < 0:
            problems.append(Problem("capacity and quota must not be negative", f"rep {r.id}"))
    for j, b in enumerate(s.balance):
        if not 0 <= b.lo <= 1 <= b.hi:
            problems.append(
                Problem(f"needs 0 <= lo <= 1 <= hi (got {b.lo}, {b.hi})", f"balance[{j}]")
            )
    if s.max_moves is not None and s.max_moves < 0:
        problems.append(Problem("must not be negative", "max_moves"))
    if problems:
        raise ValidationFailed("the planning inputs are not valid", problems)
    _feasibility(accounts, reps, s)


def targets(accounts: Sequence[AccountIn], reps: Sequence[RepIn], b: Balance) -> np.ndarray:
    total = sum(measure_of(a, b.measure) for a in accounts)
    if b.target == "mean":
        share = np.full(len(reps), 1 / len(reps))
    else:
        basis = np.array([r.quota if b.target == "quota" else (r.capacity or 0.0) for r in reps])
        share = basis / basis.sum() if basis.sum() > 0 else np.full(len(reps), 1 / len(reps))
    return total * share


def _feasibility(accounts: Sequence[AccountIn], reps: Sequence[RepIn], s: Settings) -> None:
    """Name constraints that obviously cannot hold together, before the solver says 'no'."""
    problems: list[Problem] = []
    for j, b in enumerate(s.balance):
        upper = b.hi * targets(accounts, reps, b)
        for a in accounts:
            if measure_of(a, b.measure) > upper.max() + 1e-9:
                problems.append(
                    Problem(
                        f"account {a.id}'s {b.measure} alone ({measure_of(a, b.measure):g}) exceeds"
                        f" every rep's upper bound (at most {upper.max():g})",
                        f"balance[{j}].hi",
                    )
                )
    if s.use_capacity and all(r.capacity is not None for r in reps):
        room = sum((r.capacity or 0) - r.load for r in reps)
        need = sum(a.workload for a in accounts)
        if need > room + 1e-9:
            problems.append(
                Problem(
                    f"the accounts' workload ({need:g}) exceeds the reps' free capacity ({room:g})",
                    "capacity",
                )
            )
    if problems:
        raise ValidationFailed("the scenario is infeasible", problems)


def solve(accounts: Sequence[AccountIn], reps: Sequence[RepIn], s: Settings) -> Plan:
    """The optimal (or, at the time limit, best found) plan with its bound and gap."""
    try:
        import highspy
    except ImportError:  # pragma: no cover - highspy is a pinned dependency
        raise ConfigurationError("the optimizer needs highspy (pip install highspy)") from None
    validate(accounts, reps, s)
    started = time.perf_counter()
    n, m = len(accounts), len(reps)
    rep_ids = [r.id for r in reps]
    cost = factor_costs(accounts, reps, s.weights).sum(axis=0) + disruption(
        accounts, reps, s.weights
    )
    # Columns: the (account, rep) pairs offered.
    cols_i: list[np.ndarray] = []
    cols_r: list[np.ndarray] = []
    restricted = s.candidates is not None and s.candidates < m
    for i, a in enumerate(accounts):
        if a.locked:
            offered = np.array([rep_ids.index(a.current_rep or "")])
        elif restricted:
            offered = np.argsort(cost[i], kind="stable")[: s.candidates]
            if a.current_rep is not None and rep_ids.index(a.current_rep) not in offered:
                offered = np.append(offered, rep_ids.index(a.current_rep))
        else:
            offered = np.arange(m)
        cols_i.append(np.full(offered.size, i))
        cols_r.append(offered)
    ci, cr = np.concatenate(cols_i), np.concatenate(cols_r)
    k = ci.size
    rows: list[sparse.csr_matrix] = []
    lower: list[np.ndarray] = []
    upper: list[np.ndarray] = []
    rows.append(sparse.csr_matrix((np.ones(k), (ci, np.arange(k))), shape=(n, k)))
    lower.append(np.ones(n))
    upper.append(np.ones(n))
    for b in s.balance:
        values = np.array([measure_of(accounts[i], b.measure) for i in ci])
        rows.append(sparse.csr_matrix((values, (cr, np.arange(k))), shape=(m, k)))
        t = targets(accounts, reps, b)
        lower.append(b.lo * t)
        upper.append(b.hi * t)
    if s.use_capacity and any(r.capacity is not None for r in reps):
        work = np.array([accounts[i].workload for i in ci])
        rows.append(sparse.csr_matrix((work, (cr, np.arange(k))), shape=(m, k)))
        lower.append(np.full(m, -np.inf))
        upper.append(
            np.array([np.inf if r.capacity is None else r.capacity - r.load for r in reps])
        )
    if s.max_moves is not None:
        cur = [accounts[i].current_rep for i in ci]
        moved = np.array([c is not None and c != rep_ids[r] for c, r in zip(cur, cr, strict=True)])
        rows.append(sparse.csr_matrix(moved.astype(float)[None, :]))
        lower.append(np.array([-np.inf]))
        upper.append(np.array([float(s.max_moves)]))
    matrix = sparse.vstack(rows).tocsc()
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = k, matrix.shape[0]
    lp.col_cost_ = cost[ci, cr]
    lp.col_lower_, lp.col_upper_ = np.zeros(k), np.ones(k)
    lp.row_lower_, lp.row_upper_ = np.concatenate(lower), np.concatenate(upper)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = matrix.indptr
    lp.a_matrix_.index_ = matrix.indices
    lp.a_matrix_.value_ = matrix.data
    lp.integrality_ = [highspy.HighsVarType.kInteger] * k
    h = highspy.Highs()  # type: ignore[no-untyped-call]
    h.setOptionValue("output_flag", False)
    h.setOptionValue("random_seed", 0)
    h.setOptionValue("threads", 1)
    h.setOptionValue("time_limit", float(s.time_limit))
    h.setOptionValue("mip_rel_gap", float(s.gap))
    h.passModel(lp)
    h.run()
    status = h.getModelStatus()
    info = h.getInfo()
    if status == highspy.HighsModelStatus.kInfeasible:
        raise ValidationFailed("the scenario is infeasible", _infeasible(s))
    values = np.asarray(h.getSolution().col_value)
    if values.size != k or info.primal_solution_status == 0:
        raise ValidationFailed(
            "no plan found within the time limit",
            [
                Problem(
                    f"raise time_limit (was {s.time_limit:g} s) or loosen the constraints",
                    "time_limit",
                )
            ],
        )
    chosen = values > 0.5
    assignment = {accounts[i].id: rep_ids[r] for i, r in zip(ci[chosen], cr[chosen], strict=True)}
    objective = float(cost[ci[chosen], cr[chosen]].sum())
    bound = float(info.mip_dual_bound)
    gap = 0.0 if objective <= 1e-12 else max(0.0, (objective - bound) / abs(objective))
    return Plan(
        assignment=assignment,
        objective=objective,
        bound=bound,
        gap=gap,
        status="optimal"
        if status == highspy.HighsModelStatus.kOptimal
        else str(status).split(".")[-1],
        seconds=time.perf_counter() - started,
        variables=k,
        restricted=restricted,
    )


def _infeasible(s: Settings) -> list[Problem]:
    problems = [
        Problem(f"{b.measure} per rep within [{b.lo:g}, {b.hi:g}] x {b.target}", f"balance[{j}]")
        for j, b in enumerate(s.balance)
    ]
    if s.max_moves is not None:
        problems.append(Problem(f"at most {s.max_moves} moves", "max_moves"))
    if s.use_capacity:
        problems.append(Problem("each rep's capacity", "capacity"))
    problems.append(Problem("these constraints cannot all hold together; loosen one", "scenario"))
    return problems
