"""A small deterministic sales company built through the pipeline service, for forecasting.

Two teams under one region, four reps, and deals created every week of 2024 and 2025 that
move through the stages, slip close dates, change amounts and close won or lost, every change
recorded as an event by the service (so as-of rebuilds see exactly what a real CRM records).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from salesops.models import Opportunity, OpportunityEvent, Quota, Rep, Team, TeamMembership
from salesops.pipeline import service, stages
from salesops.pipeline.history import pipeline_as_of
from tests.factories import make_rep, make_team

START = datetime(2024, 1, 1, 9, 0, tzinfo=UTC)
OPEN_STAGES = ("Prospecting", "Qualification", "Discovery", "Proposal", "Negotiation")


@dataclass
class Company:
    region: Team
    teams: list[Team]
    managers: list[Rep]
    reps: list[Rep]
    opps: list[Opportunity] = field(default_factory=list)


def build_org(session: Session) -> Company:
    region = make_team(session, name="Region")
    managers = [make_rep(session, name=f"Manager {i}") for i in range(2)]
    teams = [make_team(session, name=f"Team {i}", parent=region) for i in range(2)]
    for team, manager in zip(teams, managers, strict=True):
        team.manager_id = manager.id
    reps = [make_rep(session, name=f"Rep {i}", manager=managers[i // 2]) for i in range(4)]
    for i, rep in enumerate(reps):
        session.add(
            TeamMembership(rep_id=rep.id, team_id=teams[i // 2].id, valid_from=date(2023, 1, 1))
        )
    session.flush()
    return Company(region=region, teams=teams, managers=managers, reps=reps)


def build_company(
    session: Session, *, weeks: int = 80, per_week: int = 2, seed: int = 7
) -> Company:
    """Deals created every week from 2024-01-01, each with its own random life story."""
    company = build_org(session)
    rng = random.Random(seed)
    by_name = {s.name: s for s in stages.ordered(session)}
    for week in range(weeks):
        for _ in range(per_week):
            created = START + timedelta(days=7 * week + rng.randint(0, 4), hours=rng.randint(0, 8))
            rep = company.reps[rng.randrange(len(company.reps))]
            amount = Decimal(rng.choice((5_000, 10_000, 20_000, 40_000)))
            close = (created + timedelta(days=rng.randint(30, 90))).date()
            opp = service.create_opportunity(
                session,
                name=f"Deal w{week}",
                owner=rep,
                amount=amount,
                close_date=close,
                at=created,
            )
            company.opps.append(opp)
            at = created
            for stage in OPEN_STAGES[1 : rng.randint(1, 5)]:
                at += timedelta(days=rng.randint(5, 20))
                service.move_stage(session, opp, by_name[stage], at=at)
            if rng.random() < 0.3:
                at += timedelta(days=rng.randint(1, 10))
                service.change_close_date(session, opp, close + timedelta(days=30), at=at)
            if rng.random() < 0.2:
                at += timedelta(days=rng.randint(1, 5))
                service.change_amount(session, opp, amount * Decimal("1.5"), at=at)
            at += timedelta(days=rng.randint(3, 40))
            if rng.random() < 0.85:
                won = rng.random() < 0.35 + 0.1 * by_name[opp.stage.name].sort_order / 6
                service.close_opportunity(
                    session, opp, won=won, at=at, loss_reason=None if won else "price"
                )
    session.flush()
    return company


def forget_after(session: Session, at: datetime) -> None:
    """Make the database look as it did at `at`: no later events or deals, values as then."""
    session.flush()
    states = {s.id: s for s in pipeline_as_of(session, at)}
    by_name = {s.name: s for s in stages.ordered(session)}
    session.execute(delete(OpportunityEvent).where(OpportunityEvent.at > at))
    for opp in session.scalars(select(Opportunity)).all():
        state = states.get(opp.id)
        if state is None:
            session.delete(opp)
            continue
        opp.stage_id = by_name[state.stage].id
        opp.amount = state.amount
        opp.close_date = state.close_date
        opp.forecast_category = state.forecast_category
        opp.owner_id = state.owner_id
        opp.closed_at = state.closed_at
    session.flush()
    session.expire_all()


def add_quotas(session: Session, company: Company, *, start: date, quarters: int) -> None:
    for rep in company.reps:
        for q in range(quarters):
            month = start.month + 3 * q
            first = date(start.year + (month - 1) // 12, (month - 1) % 12 + 1, 1)
            nxt = date(first.year + (first.month + 2) // 12, (first.month + 2) % 12 + 1, 1)
            session.add(
                Quota(
                    rep_id=rep.id,
                    period_start=first,
                    period_end=nxt - timedelta(days=1),
                    amount=Decimal(60_000),
                )
            )
    session.flush()
