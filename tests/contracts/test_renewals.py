"""Renewals: raised once before the notice date, alerts before notice passes, auto-renewal
and expiry at the end date, and the renewals pipeline."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from salesops import jobs, outbox
from salesops.auth.scoping import system_scope
from salesops.contracts import renewals
from salesops.models import Contract, ContractLineItem, Opportunity, OutboxMessage
from tests.contracts.world import build, signed_contract


def _run(session: Session, day: date) -> renewals.RenewalReport:
    return renewals.run_renewals(session, today=day, lead_days=60, alert_days=30)


def test_a_renewal_deal_is_raised_once_lead_days_before_the_notice_date(session: Session) -> None:
    w = build(session)
    # Ends 31 Dec 2026, notice 30 days: notice date 1 Dec, raised 60 days before: 2 Oct.
    contract = signed_contract(session, w, notice_days=30)
    assert _run(session, date(2026, 10, 1)).raised == []
    assert _run(session, date(2026, 10, 2)).raised == [contract.id]
    assert _run(session, date(2026, 10, 3)).raised == []
    opps = session.scalars(select(Opportunity).where(Opportunity.type == "renewal")).all()
    assert len(opps) == 1
    assert (opps[0].amount, opps[0].owner_id, opps[0].close_date) == (
        Decimal("9000.00"),
        w.rep.id,
        date(2026, 12, 31),
    )
    assert (contract.status, contract.renewal_opportunity_id) == ("renewal_due", opps[0].id)
    assert [i.subject for i in outbox.inbox(session, w.rep_user)] == [
        f"Renewal due: contract {contract.id}"
    ]
    assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 1  # the e-mail


def test_notice_alerts_come_once_inside_the_window(session: Session) -> None:
    w = build(session)
    contract = signed_contract(session, w, notice_days=30, auto_renew=True)
    assert _run(session, date(2026, 10, 31)).alerted == []
    assert _run(session, date(2026, 11, 1)).alerted == [contract.id]
    _run(session, date(2026, 11, 2))
    subjects = [i.subject for i in outbox.inbox(session, w.rep_user)]
    assert subjects.count(f"Notice period of contract {contract.id} ends in 30 days") == 1
    assert _run(session, date(2026, 12, 2)).alerted == []


def test_auto_renewing_contracts_renew_and_the_others_expire(session: Session) -> None:
    w = build(session)
    auto = signed_contract(session, w, auto_renew=True)
    plain = signed_contract(session, w, lines=[])
    report = _run(session, date(2027, 1, 1))
    assert (report.renewed, report.expired) == ([auto.id], [plain.id])
    assert (auto.status, plain.status) == ("renewed", "expired")
    successor = session.scalars(select(Contract).where(Contract.renewal_of_id == auto.id)).one()
    assert (successor.status, successor.start_date, successor.end_date, successor.value) == (
        "active",
        date(2027, 1, 1),
        date(2027, 12, 31),
        Decimal("9000.00"),
    )
    assert session.scalars(
        select(ContractLineItem.quantity).where(ContractLineItem.contract_id == successor.id)
    ).all() == [10]
    assert _run(session, date(2027, 1, 2)).renewed == []


def test_the_renewals_pipeline_buckets_each_contract(session: Session) -> None:
    w = build(session)
    due = signed_contract(session, w, notice_days=30)
    renewed = signed_contract(session, w, start=date(2025, 1, 1), auto_renew=True, lines=[])
    _run(session, date(2026, 1, 1))  # the 2025 contract auto-renews
    rows = renewals.renewals(
        session,
        scope=system_scope(),
        start=date(2025, 1, 1),
        end=date(2027, 12, 31),
        today=date(2026, 6, 1),
        alert_days=30,
    )
    by_id = {r.contract.id: r.bucket for r in rows}
    assert by_id[renewed.id] == "renewed"
    assert by_id[due.id] == "due"
    late = renewals.renewals(
        session,
        scope=system_scope(),
        start=date(2026, 12, 1),
        end=date(2026, 12, 31),
        today=date(2026, 11, 15),
        alert_days=30,
    )
    assert {r.contract.id: r.bucket for r in late}[due.id] == "at risk"
    months = renewals.pipeline_by_month(rows)
    assert months["2025-12"]["renewed"] == 1


def test_the_renewals_job_runs_through_the_job_table_on_demand(session: Session) -> None:
    w = build(session)
    contract = signed_contract(session, w, notice_days=30)
    message = jobs.run_now(session, "contracts.renewals", {"today": "2026-10-02", "lead_days": 60})
    assert message is not None
    assert message.startswith("1 renewal deals raised")
    assert contract.renewal_opportunity_id is not None
