"""Typed factories with sensible defaults: call them with only what a test cares about."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from salesops.models import Account, Opportunity, PipelineStage, Rep, Team, User
from salesops.pipeline import service, stages

_seq = itertools.count(1)

T0 = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


def make_user(session: Session, *, username: str | None = None, role: str = "sales_rep") -> User:
    user = User(username=username or f"user{next(_seq)}", role=role)
    session.add(user)
    session.flush()
    return user


def make_team(session: Session, *, name: str | None = None, parent: Team | None = None) -> Team:
    team = Team(name=name or f"Team {next(_seq)}", parent_id=parent.id if parent else None)
    session.add(team)
    session.flush()
    return team


def make_rep(
    session: Session,
    *,
    name: str | None = None,
    manager: Rep | None = None,
    hire_date: date = date(2023, 1, 2),
    user: User | None = None,
) -> Rep:
    rep = Rep(
        name=name or f"Rep {next(_seq)}",
        manager_id=manager.id if manager else None,
        hire_date=hire_date,
        user_id=user.id if user else None,
    )
    session.add(rep)
    session.flush()
    return rep


def make_account(
    session: Session, *, name: str | None = None, segment: str = "Mid-Market"
) -> Account:
    account = Account(name=name or f"Account {next(_seq)}", segment=segment)
    session.add(account)
    session.flush()
    return account


def make_opportunity(
    session: Session,
    *,
    owner: Rep | None = None,
    amount: Decimal | int = 10_000,
    stage: str | PipelineStage | None = None,
    close_date: date = date(2025, 3, 31),
    at: datetime = T0,
    account: Account | None = None,
    name: str | None = None,
) -> Opportunity:
    if isinstance(stage, str):
        stage = stages.by_name(session, stage)
    return service.create_opportunity(
        session,
        name=name or f"Deal {next(_seq)}",
        owner=owner or make_rep(session),
        amount=Decimal(amount),
        close_date=close_date,
        at=at,
        stage=stage,
        account_id=account.id if account else None,
    )
