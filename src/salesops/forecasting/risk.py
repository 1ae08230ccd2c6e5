"""Risk: deals likely to slip or be lost, teams short of pipeline coverage, periods short of
target. Everything is read from a stored forecast run, so the flags are reproducible."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from math import erf, sqrt

from sqlalchemy import select
from sqlalchemy.orm import Session

from salesops.errors import NotFound
from salesops.forecasting.calls import members_at, won_by_owner
from salesops.forecasting.periods import Period, period_of
from salesops.forecasting.service import team_tree
from salesops.models import (
    DealPrediction,
    ForecastLine,
    ForecastRun,
    Opportunity,
    PipelineStage,
    Quota,
    Rep,
    Team,
)

SLIP_THRESHOLD = 0.5
LOSS_THRESHOLD = 0.3
TARGET_COVERAGE = 3.0  # open pipeline should be three times what is still to be won
ZERO = Decimal("0.00")
Z90 = 1.2815515655446004


def latest_run(
    session: Session,
    *,
    methods: Iterable[str] = ("ensemble", "ml", "historical", "stage_weighted"),
) -> ForecastRun:
    """The newest live run of the first of `methods` that has one."""
    for method in methods:
        run = session.scalars(
            select(ForecastRun)
            .where(ForecastRun.method == method, ForecastRun.kind == "forecast")
            .order_by(ForecastRun.as_of.desc(), ForecastRun.id.desc())
            .limit(1)
        ).first()
        if run is not None:
            return run
    raise NotFound("no forecast run yet; run `salesops forecast run` first")


@dataclass(frozen=True)
class RiskyDeal:
    opportunity_id: int
    name: str
    owner: str
    stage: str
    amount: Decimal
    close_date: date | None
    p_win: Decimal
    p_win_in_horizon: Decimal
    p_slip: Decimal
    at_risk: Decimal
    flags: tuple[str, ...]
    reasons: tuple[str, ...]

    def as_dict(self) -> dict[str, object]:
        return {
            "opportunity_id": self.opportunity_id,
            "name": self.name,
            "owner": self.owner,
            "stage": self.stage,
            "amount": str(self.amount),
            "close_date": self.close_date.isoformat() if self.close_date else None,
            "p_win": float(self.p_win),
            "p_win_in_horizon": float(self.p_win_in_horizon),
            "p_slip": float(self.p_slip),
            "at_risk": str(self.at_risk),
            "flags": list(self.flags),
            "reasons": list(self.reasons),
        }


def risky_deals(
    session: Session,
    run: ForecastRun,
    *,
    limit: int = 25,
    owner_ids: set[int] | None = None,
) -> list[RiskyDeal]:
    """Deals still open that the run expects to slip or be lost, most value at risk first."""
    query = (
        select(DealPrediction, Opportunity.name, Rep.name, PipelineStage.name, Opportunity)
        .join(Opportunity, Opportunity.id == DealPrediction.opportunity_id)
        .join(Rep, Rep.id == Opportunity.owner_id)
        .join(PipelineStage, PipelineStage.id == Opportunity.stage_id)
        # Deals closed since the run are no longer at risk: only the still-open ones count.
        .where(DealPrediction.run_id == run.id, PipelineStage.category == "open")
    )
    if owner_ids is not None:
        query = query.where(Opportunity.owner_id.in_(owner_ids))
    out = []
    for pred, name, owner, stage, opp in session.execute(query).tuples():
        flags = []
        if pred.p_slip >= Decimal(str(SLIP_THRESHOLD)):
            flags.append("likely to slip")
        if pred.p_win < Decimal(str(LOSS_THRESHOLD)):
            flags.append("likely to be lost")
        if not flags:
            continue
        at_risk = (pred.amount * (1 - pred.p_win_in_horizon)).quantize(Decimal("0.01"))
        out.append(
            RiskyDeal(
                opportunity_id=pred.opportunity_id,
                name=name,
                owner=owner,
                stage=stage,
                amount=pred.amount,
                close_date=opp.close_date,
                p_win=pred.p_win,
                p_win_in_horizon=pred.p_win_in_horizon,
                p_slip=pred.p_slip,
                at_risk=at_risk,
                flags=tuple(flags),
                reasons=tuple(pred.reasons or ()),
            )
        )
    out.sort(key=lambda d: (-d.at_risk, d.opportunity_id))
    return out[:limit]


def _overlap(quota: Quota, period: Period) -> Decimal:
    """The share of `quota` that falls in `period`, pro rata by days."""
    start = max(quota.period_start, period.start)
    end = min(quota.period_end, period.last_day)
    if end < start:
        return ZERO
    days = (quota.period_end - quota.period_start).days + 1
    inside = (end - start).days + 1
    return (quota.amount * Decimal(inside) / Decimal(days)).quantize(Decimal("0.01"))


def quotas_in(session: Session, period: Period) -> tuple[dict[int, Decimal], dict[int, Decimal]]:
    """Quota falling in `period`: per rep and per team."""
    rows = session.scalars(
        select(Quota).where(Quota.period_start <= period.last_day, Quota.period_end >= period.start)
    )
    reps: dict[int, Decimal] = {}
    teams: dict[int, Decimal] = {}
    for quota in rows:
        share = _overlap(quota, period)
        if quota.rep_id is not None:
            reps[quota.rep_id] = reps.get(quota.rep_id, ZERO) + share
        elif quota.team_id is not None:
            teams[quota.team_id] = teams.get(quota.team_id, ZERO) + share
    return reps, teams


def team_targets(session: Session, period: Period) -> dict[int, Decimal]:
    """Each team's target: its own quota, else the sum of its members' quotas."""
    rep_quota, team_quota = quotas_in(session, period)
    membership = members_at(session, period.start)
    out = {}
    for team, below in team_tree(session).items():
        if team in team_quota:
            out[team] = team_quota[team]
        else:
            members = [r for r, t in membership.items() if t in below]
            out[team] = sum((rep_quota.get(r, ZERO) for r in members), ZERO)
    return out


def target_for(session: Session, period: Period, team_id: int | None) -> Decimal:
    """The quota to reach in `period`: the company's, or the team's (zero when none is set)."""
    if team_id is None:
        return company_target(session, period)
    return team_targets(session, period).get(team_id, ZERO)


def company_target(session: Session, period: Period) -> Decimal:
    rep_quota, team_quota = quotas_in(session, period)
    roots = session.scalars(select(Team.id).where(Team.parent_id.is_(None))).all()
    if roots and all(r in team_quota for r in roots):
        return sum((team_quota[r] for r in roots), ZERO)
    return sum(rep_quota.values(), ZERO)


def _open_pipeline(session: Session, period: Period) -> dict[int, Decimal]:
    query = (
        select(Opportunity.owner_id, Opportunity.amount)
        .join(PipelineStage, PipelineStage.id == Opportunity.stage_id)
        .where(
            PipelineStage.category == "open",
            Opportunity.close_date >= period.start,
            Opportunity.close_date <= period.last_day,
        )
    )
    out: dict[int, Decimal] = {}
    for owner, amount in session.execute(query).tuples():
        out[owner] = out.get(owner, ZERO) + amount
    return out


def coverage_gaps(
    session: Session, run: ForecastRun, *, target_coverage: float = TARGET_COVERAGE
) -> list[dict[str, object]]:
    """Per team and forecast period: quota, booked, open pipeline, coverage and forecast."""
    out: list[dict[str, object]] = []
    names = dict(session.execute(select(Team.id, Team.name)).tuples().all())
    periods = sorted({(line.period_start, line.period_end) for line in run.lines})
    for start, _end in periods:
        period = period_of(start, run.grain)  # type: ignore[arg-type]
        targets = team_targets(session, period)
        won = won_by_owner(session, period)
        pipe = _open_pipeline(session, period)
        membership = members_at(session, period.start)
        lines = {
            line.team_id: line
            for line in run.lines
            if line.period_start == start and line.team_id is not None
        }
        for team, below in sorted(team_tree(session).items()):
            members = [r for r, t in membership.items() if t in below]
            target = targets.get(team, ZERO)
            booked = sum((won.get(r, ZERO) for r in members), ZERO)
            open_value = sum((pipe.get(r, ZERO) for r in members), ZERO)
            remaining = max(target - booked, ZERO)
            coverage = float(open_value / remaining) if remaining > 0 else None
            line = lines.get(team)
            expected = line.expected if line else None
            gap = (coverage is not None and coverage < target_coverage) or (
                expected is not None and target > 0 and expected < target
            )
            out.append(
                {
                    "period": period.label,
                    "team_id": team,
                    "team": names.get(team, str(team)),
                    "quota": str(target),
                    "booked": str(booked),
                    "open_pipeline": str(open_value),
                    "coverage": coverage,
                    "forecast": None if expected is None else str(expected),
                    "gap": gap,
                }
            )
    return out


def chance_of_target(target: Decimal, line: ForecastLine) -> float | None:
    """The chance that bookings reach `target`, from the line's mean and P10-P90 read as a
    normal distribution (None without a target)."""
    if target <= 0:
        return None
    spread = float(line.p90 - line.p10) / (2 * Z90)
    if spread > 0:
        z = (float(target) - float(line.expected)) / spread
        return round(1 - 0.5 * (1 + erf(z / sqrt(2))), 3)
    return 1.0 if line.expected >= target else 0.0


def shortfalls(
    session: Session, run: ForecastRun, *, team_ids: Iterable[int] | None = None
) -> list[dict[str, object]]:
    """Per forecast period: the target, the forecast and the chance of reaching it, for the
    company (by default) or for each of `team_ids` that has a line in the run."""
    wanted = None if team_ids is None else set(team_ids)
    names = dict(session.execute(select(Team.id, Team.name)).tuples().all()) if wanted else {}
    out: list[dict[str, object]] = []
    targets: dict[date, dict[int, Decimal]] = {}
    for line in run.lines:
        if (line.team_id is None) != (wanted is None) or (
            wanted is not None and line.team_id not in wanted
        ):
            continue
        period = period_of(line.period_start, run.grain)  # type: ignore[arg-type]
        if line.team_id is None:
            target = company_target(session, period)
        else:
            if period.start not in targets:
                targets[period.start] = team_targets(session, period)
            target = targets[period.start].get(line.team_id, ZERO)
        chance = chance_of_target(target, line)
        out.append(
            {
                "period": period.label,
                "team_id": line.team_id,
                "team": None if line.team_id is None else names.get(line.team_id),
                "target": str(target),
                "expected": str(line.expected),
                "p10": str(line.p10),
                "p50": str(line.p50),
                "p90": str(line.p90),
                "chance_of_target": chance,
                "short": bool(target > 0 and line.p50 < target),
                "gap": str(max(target - line.p50, ZERO)),
            }
        )
    return out
