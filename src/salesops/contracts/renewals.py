"""Renewals: raise renewal deals before the notice date, warn before notice passes, renew
auto-renewing contracts at their end, expire the rest; and the renewals pipeline."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from salesops import outbox
from salesops.audit import service as audit
from salesops.auth.scoping import Scope
from salesops.contracts import lifecycle as core
from salesops.contracts.service import lines_of, record_event
from salesops.models import (
    AccountOwner,
    Contract,
    ContractLineItem,
    ContractStatus,
    Opportunity,
    OpportunityType,
    Rep,
    StageCategory,
    TeamMembership,
    User,
)
from salesops.pipeline import service as pipeline
from salesops.pipeline import stages

S = ContractStatus
RUNNING = (S.ACTIVE, S.RENEWAL_DUE)


@dataclass
class RenewalReport:
    """What one renewals run did, by contract id."""

    raised: list[int] = field(default_factory=list)
    alerted: list[int] = field(default_factory=list)
    renewed: list[int] = field(default_factory=list)
    expired: list[int] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{len(self.raised)} renewal deals raised, {len(self.alerted)} notice alerts,"
            f" {len(self.renewed)} auto-renewed, {len(self.expired)} expired"
            + (f"; skipped: {'; '.join(self.skipped)}" if self.skipped else "")
        )


def owner_rep(session: Session, contract: Contract, day: date) -> Rep | None:
    """Who looks after the contract: the account's owner that day, else its deal's owner."""
    rep_id = session.scalar(
        select(AccountOwner.rep_id)
        .where(
            AccountOwner.account_id == contract.account_id,
            AccountOwner.valid_from <= day,
            or_(AccountOwner.valid_to.is_(None), AccountOwner.valid_to > day),
        )
        .order_by(AccountOwner.valid_from.desc())
        .limit(1)
    )
    if rep_id is None and contract.opportunity_id is not None:
        rep_id = session.scalar(
            select(Opportunity.owner_id).where(Opportunity.id == contract.opportunity_id)
        )
    return session.get(Rep, rep_id) if rep_id is not None else None


def _tell_owner(
    session: Session, rep: Rep | None, contract: Contract, subject: str, body: str, key: str
) -> None:
    user = session.get(User, rep.user_id) if rep is not None and rep.user_id else None
    if user is not None:
        outbox.notify(session, user, subject, body, link=f"/contracts/{contract.id}", key=key)


def raise_renewal(session: Session, contract: Contract, *, today: date) -> Opportunity | None:
    """Create the renewal deal of `contract` (once: a second call returns the first deal)."""
    if contract.renewal_opportunity_id is not None:
        return session.get(Opportunity, contract.renewal_opportunity_id)
    rep = owner_rep(session, contract, today)
    if rep is None or not stages.ordered(session):
        return None
    at = datetime(today.year, today.month, today.day, tzinfo=UTC)
    opp = pipeline.create_opportunity(
        session,
        name=f"Renewal of contract {contract.id}"[:200],
        owner=rep,
        amount=contract.value,
        close_date=max(contract.end_date, today),
        at=at,
        account_id=contract.account_id,
        currency=contract.currency,
        type=OpportunityType.RENEWAL,
    )
    contract.renewal_opportunity_id = opp.id
    if contract.status == S.ACTIVE:
        contract.status = S.RENEWAL_DUE
        record_event(
            session,
            contract,
            "transition",
            by=None,
            old=S.ACTIVE,
            new=S.RENEWAL_DUE,
            note=f"renewal deal {opp.id} raised",
        )
    audit.record(
        session,
        user_id=None,
        action="renewal_raised",
        entity="contract",
        entity_id=contract.id,
        changes={"opportunity_id": opp.id},
    )
    notice = core.notice_date(contract.end_date, contract.notice_days)
    _tell_owner(
        session,
        rep,
        contract,
        f"Renewal due: contract {contract.id}",
        f"Contract {contract.id} ends on {contract.end_date}; notice date {notice}."
        f" Renewal deal {opp.id} for {contract.value} {contract.currency} was created.",
        key=f"contract:{contract.id}:renewal:{contract.end_date}",
    )
    return opp


def _renew(session: Session, contract: Contract) -> Contract:
    """The auto-renewal of `contract`: same term, lines and value, starting the next day."""
    start = contract.end_date + timedelta(days=1)
    successor = Contract(
        account_id=contract.account_id,
        opportunity_id=contract.renewal_opportunity_id,
        status=S.ACTIVE,
        start_date=start,
        end_date=core.end_for(start, contract.term_months),
        term_months=contract.term_months,
        value=contract.value,
        currency=contract.currency,
        auto_renew=True,
        renewal_of_id=contract.id,
        template=contract.template,
        notice_days=contract.notice_days,
        price_increase_cap=contract.price_increase_cap,
        special_terms=contract.special_terms,
    )
    session.add(successor)
    session.flush()
    for line in lines_of(session, contract):
        if line.end_date == contract.end_date:
            session.add(
                ContractLineItem(
                    contract_id=successor.id,
                    product_id=line.product_id,
                    description=line.description,
                    quantity=line.quantity,
                    list_price=line.list_price,
                    discount=line.discount,
                    start_date=successor.start_date,
                    end_date=successor.end_date,
                )
            )
    record_event(
        session,
        successor,
        "created",
        by=None,
        new=S.ACTIVE,
        note=f"auto-renewal of contract {contract.id}",
    )
    return successor


def run_renewals(
    session: Session, *, today: date, lead_days: int, alert_days: int
) -> RenewalReport:
    """One pass over running contracts; every step is idempotent, so running twice a day
    (or on demand beside the scheduled job) changes nothing the second time."""
    report = RenewalReport()
    running = list(
        session.scalars(select(Contract).where(Contract.status.in_(RUNNING)).order_by(Contract.id))
    )
    for contract in running:
        if contract.end_date < today:
            old = contract.status
            if contract.auto_renew:
                successor = _renew(session, contract)
                contract.status = S.RENEWED
                note = f"auto-renewed as contract {successor.id}"
                report.renewed.append(contract.id)
            else:
                contract.status = S.EXPIRED
                note = "ended without renewal"
                report.expired.append(contract.id)
            record_event(
                session, contract, "transition", by=None, old=old, new=contract.status, note=note
            )
            audit.record(
                session,
                user_id=None,
                action=contract.status,
                entity="contract",
                entity_id=contract.id,
                changes={"status": {"old": old, "new": contract.status}},
            )
            continue
        trigger = core.renewal_trigger(contract.end_date, contract.notice_days, lead_days)
        if contract.renewal_opportunity_id is None and trigger <= today:
            if raise_renewal(session, contract, today=today) is None:
                report.skipped.append(
                    f"contract {contract.id}: no owner or no pipeline stages to raise a deal in"
                )
            else:
                report.raised.append(contract.id)
        if contract.notice_days:
            notice = core.notice_date(contract.end_date, contract.notice_days)
            if notice - timedelta(days=alert_days) <= today <= notice:
                rep = owner_rep(session, contract, today)
                days = (notice - today).days
                _tell_owner(
                    session,
                    rep,
                    contract,
                    f"Notice period of contract {contract.id} ends in {days} days",
                    f"Notice must be given by {notice} or contract {contract.id} "
                    + ("renews automatically." if contract.auto_renew else "ends on its end date."),
                    key=f"contract:{contract.id}:notice:{contract.end_date}",
                )
                report.alerted.append(contract.id)
    session.flush()
    return report


PIPELINE_BUCKETS = ("due", "in progress", "at risk", "renewed", "churned")


def bucket(
    contract: Contract, opp: Opportunity | None, first_stage_id: int, today: date, alert_days: int
) -> str:
    """Where a contract stands in the renewals pipeline."""
    if contract.status == S.RENEWED:
        return "renewed"
    if contract.status in (S.EXPIRED, S.TERMINATED, S.CHURNED, S.CANCELLED):
        return "churned"
    if opp is not None and opp.stage.category == StageCategory.WON:
        return "renewed"
    notice = core.notice_date(contract.end_date, contract.notice_days)
    if opp is not None and opp.stage.category == StageCategory.LOST:
        return "at risk"
    if today >= notice - timedelta(days=alert_days) and (
        opp is None or opp.stage_id == first_stage_id
    ):
        return "at risk"
    if opp is not None and opp.stage_id != first_stage_id:
        return "in progress"
    return "due"


@dataclass(frozen=True)
class PipelineRow:
    contract: Contract
    bucket: str
    notice_date: date
    owner: Rep | None


def renewals(
    session: Session,
    *,
    scope: Scope,
    start: date,
    end: date,
    today: date,
    alert_days: int,
    team_id: int | None = None,
) -> list[PipelineRow]:
    """Visible contracts ending between `start` and `end`, each with its pipeline bucket."""
    contracts = session.scalars(
        select(Contract)
        .where(
            scope.contracts(),
            Contract.end_date >= start,
            Contract.end_date <= end,
            Contract.status.not_in([S.DRAFT, S.IN_REVIEW, S.APPROVED, S.SENT]),
        )
        .order_by(Contract.end_date, Contract.id)
    )
    funnel = stages.ordered(session)
    first = funnel[0].id if funnel else -1
    rows = []
    for contract in contracts:
        rep = owner_rep(session, contract, min(today, contract.end_date))
        if team_id is not None and not _in_team(session, rep, team_id, contract.end_date):
            continue
        opp = (
            session.get(Opportunity, contract.renewal_opportunity_id)
            if contract.renewal_opportunity_id
            else None
        )
        rows.append(
            PipelineRow(
                contract,
                bucket(contract, opp, first, today, alert_days),
                core.notice_date(contract.end_date, contract.notice_days),
                rep,
            )
        )
    return rows


def _in_team(session: Session, rep: Rep | None, team_id: int, day: date) -> bool:
    if rep is None:
        return False
    return (
        session.scalar(
            select(TeamMembership.id)
            .where(
                TeamMembership.rep_id == rep.id,
                TeamMembership.team_id == team_id,
                TeamMembership.valid_from <= day,
                or_(TeamMembership.valid_to.is_(None), TeamMembership.valid_to > day),
            )
            .limit(1)
        )
        is not None
    )


def pipeline_by_month(rows: list[PipelineRow]) -> dict[str, Counter[str]]:
    """Counts per month of end date ('2026-03') and bucket."""
    months: dict[str, Counter[str]] = {}
    for row in rows:
        months.setdefault(row.contract.end_date.strftime("%Y-%m"), Counter())[row.bucket] += 1
    return months
