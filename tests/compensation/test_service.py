"""Comp runs on the database: stored lines with lineage, checksums, closing and late changes."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from salesops.compensation import service
from salesops.compensation.engine import Period
from salesops.errors import Conflict, ValidationFailed
from salesops.models import AuditEntry, CreditSplit, Opportunity, Rep
from salesops.pipeline import stages
from tests.factories import make_opportunity, make_rep

Q1 = Period(date(2026, 1, 1), date(2026, 3, 31))
Q2 = Period(date(2026, 4, 1), date(2026, 6, 30))

PLAN = """\
plan: ae
version: 1
effective_from: 2026-01-01
assign:
  - {{rep: "{ann}", quota: 100000}}
  - {{rep: "{bob}", quota: 100000}}
rules:
  - name: commission
    basis: attainment
    reset: year
    tiers:
      - {{from: 0, to: 1.0, rate: 10%}}
      - {{from: 1.0, rate: 15%}}
"""


def won(session: Session, owner: Rep, amount: int, day: date) -> Opportunity:
    """A deal won on `day` (set directly: the pipeline service opens deals in an open stage)."""
    deal = make_opportunity(session, owner=owner, amount=amount, close_date=day)
    deal.stage = stages.by_name(session, "Closed Won")
    session.flush()
    return deal


def setup(session: Session, tmp_path: Path) -> tuple[int, int, Path]:
    ann, bob = make_rep(session, name="Ann Comp"), make_rep(session, name="Bob Comp")
    (tmp_path / "ae.yaml").write_text(PLAN.format(ann=ann.name, bob=bob.name))
    won(session, ann, 80000, date(2026, 2, 10))
    deal = won(session, ann, 50000, date(2026, 3, 5))
    session.add_all(
        [
            CreditSplit(opportunity_id=deal.id, rep_id=ann.id, share=Decimal("0.6")),
            CreditSplit(opportunity_id=deal.id, rep_id=bob.id, share=Decimal("0.4")),
        ]
    )
    make_opportunity(session, owner=bob, amount=99999, close_date=date(2026, 3, 1))  # open
    session.flush()
    return ann.id, bob.id, tmp_path


def test_a_run_stores_traced_lines_and_an_input_checksum(session: Session, tmp_path: Path) -> None:
    ann, bob, plans = setup(session, tmp_path)
    run = service.calculate(session, Q1, directory=plans)
    # Ann: 80,000 + 60% of 50,000 = 110,000 on a 100,000 quota (quarterly; year quota 400,000)
    # all in tier 1: 110,000 x 10% = 11,000. Bob: 40% of 50,000 = 20,000 x 10% = 2,000.
    by_rep = {r: sum(x.amount for x in run.lines if x.rep_id == r) for r in (ann, bob)}
    assert by_rep == {ann: Decimal("11000.00"), bob: Decimal("2000.00")}
    assert run.total == Decimal("13000.00")
    assert run.plans == {"ae@v1": service.load_plans(plans)[0].checksum}
    bob_line = next(x for x in run.lines if x.rep_id == bob)
    assert (bob_line.rule, bob_line.tier, bob_line.rate) == ("commission", "tier 1", Decimal("0.1"))
    assert bob_line.deals[0][1] == "20000.00"
    again = service.calculate(session, Q1, directory=plans)
    assert again.input_checksum == run.input_checksum
    assert [x.amount for x in again.lines] == [
        Decimal("8000.00"),
        Decimal("3000.00"),
        Decimal("2000.00"),
    ]


def test_a_closed_period_is_locked_and_late_changes_become_adjustments(
    session: Session, tmp_path: Path
) -> None:
    ann, _, plans = setup(session, tmp_path)
    service.calculate(session, Q1, directory=plans)
    closed = service.close(session, Q1)
    with pytest.raises(Conflict, match="is closed"):
        service.calculate(session, Q1, directory=plans)
    unchanged = service.calculate(session, Q2, directory=plans)
    assert [x for x in unchanged.lines if x.kind == "adjustment"] == []  # same inputs: none
    # A Q1 deal of Ann's amended after the close: +10,000 at 10% = 1,000 owed, paid in Q2.
    rep = session.get(Rep, ann)
    assert rep is not None
    won(session, rep, 10000, date(2026, 3, 20))
    q2 = service.calculate(session, Q2, directory=plans)
    adjustment = [x for x in q2.lines if x.kind == "adjustment"]
    assert [(x.rep_id, x.amount) for x in adjustment] == [(ann, Decimal("1000.00"))]
    assert sum(x.amount for x in closed.lines) == Decimal("13000.00")  # untouched
    actions = session.scalars(select(AuditEntry.action).where(AuditEntry.entity == "comp_run"))
    assert list(actions) == ["calculate", "close", "calculate", "calculate"]


def test_an_unknown_rep_in_an_assignment_is_refused(session: Session, tmp_path: Path) -> None:
    (tmp_path / "x.yaml").write_text(PLAN.format(ann="Nobody Here", bob="Nobody Either"))
    with pytest.raises(ValidationFailed, match=r"x.yaml: assign\[0\].rep: unknown rep"):
        service.calculate(session, Q1, directory=tmp_path)


def test_a_deal_in_a_currency_without_a_rate_stops_the_run(
    session: Session, tmp_path: Path
) -> None:
    ann, _, plans = setup(session, tmp_path)
    rep = session.get(Rep, ann)
    assert rep is not None
    deal = won(session, rep, 1000, date(2026, 3, 1))
    deal.currency = "XTS"  # the ISO code reserved for testing: no rate exists
    session.flush()
    with pytest.raises(ValidationFailed, match=rf"deal {deal.id} .*: no exchange rate for XTS"):
        service.calculate(session, Q1, directory=plans)


def test_a_cancelled_deal_of_a_closed_period_is_clawed_back_and_can_make_a_period_negative(
    session: Session, tmp_path: Path
) -> None:
    ann, _, plans = setup(session, tmp_path)
    service.calculate(session, Q1, directory=plans)
    service.close(session, Q1)
    deal = session.scalars(
        select(Opportunity).where(Opportunity.owner_id == ann, Opportunity.amount == 80000)
    ).one()
    deal.stage = stages.by_name(session, "Closed Lost")  # cancelled after Q1 was paid
    session.flush()
    q2 = service.calculate(session, Q2, directory=plans)
    # Q1 paid Ann 11,000 on 110,000; now 30,000 x 10% = 3,000 is due: -8,000 in Q2, which
    # has no other credit, so Ann's Q2 total is negative (recovered from later earnings).
    assert [(x.rep_id, x.kind, x.amount) for x in q2.lines] == [
        (ann, "adjustment", Decimal("-8000.00"))
    ]
    assert q2.total == Decimal("-8000.00")
