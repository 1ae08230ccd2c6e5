"""Rep and account profiles measured from the data (then optionally overridden by a scenario).

Rep: experience from tenure (full at 5 years) and deals won (full at the team's best);
knowledge per industry and complex-deal skill as win rates shrunk toward the team's rate
with `PRIOR` pseudo-deals (a rep with few deals looks like the team); quota overlapping the
date; capacity from `reps.capacity` times the ramp factor. Account: potential = won plus open
amounts in its history, else 1% of its annual revenue; complexity from `buying_complexity`
(1..5 -> 0..1, 0.5 unknown); workload = segment weight x (0.5 + complexity).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from salesops.models import Account, AccountOwner, Opportunity, PipelineStage, Quota, Rep
from salesops.territories.optimizer import AccountIn, RepIn
from salesops.territories.scenario import Scenario

PRIOR = 5.0
SEGMENT_WEIGHT = {"enterprise": 3.0, "mid-market": 2.0, "smb": 1.0}


@dataclass(frozen=True)
class Profiles:
    reps: list[RepIn]
    accounts: list[AccountIn]
    rep_names: dict[str, str]
    account_names: dict[str, str]
    figures: dict[str, dict[str, object]]  # "rep:ID" / "account:ID" -> shown figures


def _shrunk(wins: float, total: float, team: float) -> float:
    return (wins + PRIOR * team) / (total + PRIOR)


def measure(
    session: Session,
    *,
    as_of: date,
    scenario: Scenario,
    account_ids: set[int] | None = None,
    rep_ids: set[int] | None = None,
) -> Profiles:
    """Profiles of active reps and of accounts (all, or `account_ids`) as of `as_of`."""
    reps = [
        r
        for r in session.scalars(select(Rep).where(Rep.is_active).order_by(Rep.id))
        if rep_ids is None or r.id in rep_ids
    ]
    accounts = [
        a
        for a in session.scalars(select(Account).order_by(Account.id))
        if account_ids is None or a.id in account_ids
    ]
    owners = dict(
        session.execute(
            select(AccountOwner.account_id, AccountOwner.rep_id).where(
                AccountOwner.valid_from <= as_of,
                or_(AccountOwner.valid_to.is_(None), AccountOwner.valid_to > as_of),
            )
        )
        .tuples()
        .all()
    )
    industry = {a.id: a.industry for a in session.scalars(select(Account))}
    complex_ids = {
        a.id for a in session.scalars(select(Account).where(Account.buying_complexity >= 4))
    }
    deals = session.execute(
        select(
            Opportunity.owner_id, Opportunity.account_id, Opportunity.amount, PipelineStage.category
        )
        .join(PipelineStage, PipelineStage.id == Opportunity.stage_id)
        .where(Opportunity.created_at < datetime.combine(as_of + timedelta(days=1), time(), UTC))
    ).all()
    closed: dict[int, list[tuple[int | None, bool]]] = defaultdict(list)
    value: dict[int, Decimal] = defaultdict(Decimal)
    for owner, account_id, amount, category in deals:
        if category in ("won", "lost"):
            closed[owner].append((account_id, category == "won"))
        if account_id is not None and category in ("won", "open"):
            value[account_id] += amount
    all_closed = [d for ds in closed.values() for d in ds]
    team_rate = sum(w for _, w in all_closed) / len(all_closed) if all_closed else 0.5
    by_ind: dict[str | None, list[bool]] = defaultdict(list)
    for account_id, won in all_closed:
        by_ind[industry.get(account_id) if account_id else None].append(won)
    team_ind = {k: sum(v) / len(v) for k, v in by_ind.items()}
    cx = [w for a, w in all_closed if a in complex_ids]
    team_cx = sum(cx) / len(cx) if cx else team_rate
    best_won = max((sum(w for _, w in ds) for ds in closed.values()), default=0) or 1
    quotas: dict[int, Decimal] = defaultdict(Decimal)
    for rep_id, amount in session.execute(
        select(Quota.rep_id, Quota.amount).where(
            and_(Quota.rep_id.is_not(None), Quota.period_start <= as_of, Quota.period_end >= as_of)
        )
    ).tuples():
        if rep_id is not None:
            quotas[rep_id] += amount
    figures: dict[str, dict[str, object]] = {}
    rep_ins = []
    for r in reps:
        mine = closed.get(r.id, [])
        wins = sum(w for _, w in mine)
        tenure = (
            ((as_of - r.hire_date).days / 365.25) if r.hire_date else float(r.experience_years or 0)
        )
        experience = 0.5 * min(1.0, max(tenure, 0) / 5) + 0.5 * min(1.0, wins / best_won)
        knowledge = {}
        for ind, team in team_ind.items():
            if ind is None:
                continue
            ds = [w for a, w in mine if a is not None and industry.get(a) == ind]
            knowledge[ind] = round(_shrunk(sum(ds), len(ds), team), 4)
        mine_cx = [w for a, w in mine if a in complex_ids]
        ramp = float(r.ramp_factor) if r.ramp_factor is not None else 1.0
        rep_in = RepIn(
            id=str(r.id),
            experience=round(experience, 4),
            knowledge=knowledge,
            complex_skill=round(_shrunk(sum(mine_cx), len(mine_cx), team_cx), 4),
            quota=float(quotas.get(r.id, 0)),
            capacity=None if r.capacity is None else r.capacity * ramp,
        )
        over = scenario.reps.get(str(r.id))
        if over is not None:
            rep_in = replace(
                rep_in,
                experience=rep_in.experience if over.experience is None else over.experience,
                capacity=rep_in.capacity if over.capacity is None else over.capacity,
                quota=rep_in.quota if over.quota is None else float(over.quota),
            )
        rep_ins.append(rep_in)
        figures[f"rep:{r.id}"] = {
            "tenure_years": round(tenure, 2),
            "deals_closed": len(mine),
            "deals_won": wins,
            "experience": rep_in.experience,
            "knowledge": knowledge,
            "complex_skill": rep_in.complex_skill,
            "quota": rep_in.quota,
            "capacity": rep_in.capacity,
            "accounts_now": sum(1 for o in owners.values() if o == r.id),
        }
    acc_ins = []
    locks = set(scenario.locks)
    for a in accounts:
        complexity = 0.5 if a.buying_complexity is None else (a.buying_complexity - 1) / 4
        potential = float(value[a.id]) if value.get(a.id) else float(a.annual_revenue or 0) * 0.01
        workload = SEGMENT_WEIGHT.get((a.segment or "").casefold(), 1.5) * (0.5 + complexity)
        owner = owners.get(a.id)
        acc = AccountIn(
            id=str(a.id),
            workload=round(workload, 4),
            potential=round(potential, 2),
            complexity=complexity,
            industry=a.industry,
            current_rep=str(owner)
            if owner is not None and any(r.id == owner for r in reps)
            else None,
            locked=str(a.id) in locks,
        )
        over = scenario.accounts.get(str(a.id))
        if over is not None:
            acc = replace(
                acc,
                potential=acc.potential if over.potential is None else float(over.potential),
                workload=acc.workload if over.workload is None else over.workload,
                complexity=acc.complexity if over.complexity is None else over.complexity,
            )
        acc_ins.append(acc)
        figures[f"account:{a.id}"] = {
            "potential": acc.potential,
            "workload": acc.workload,
            "complexity": acc.complexity,
            "industry": a.industry,
            "segment": a.segment,
            "current_rep": acc.current_rep,
        }
    return Profiles(
        rep_ins,
        acc_ins,
        {str(r.id): r.name for r in reps},
        {str(a.id): a.name for a in accounts},
        figures,
    )
