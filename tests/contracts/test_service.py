"""Contracts through the service: drafts, review and approval, signing, amendments."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from salesops import outbox
from salesops.contracts import amendments, service
from salesops.contracts.service import LineInput
from salesops.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from salesops.models import AuditEntry, ContractLineItem, Proposal
from tests.contracts.world import build, signed_contract
from tests.factories import make_rep, make_user


def test_a_draft_with_lines_is_worth_their_net_sum(session: Session) -> None:
    w = build(session)
    contract = service.create_contract(
        session,
        scope=w.scope(session, w.rep_user),
        by=w.rep_user,
        account_id=w.account.id,
        start_date=date(2026, 1, 1),
        term_months=12,
        notice_days=30,
        lines=[
            LineInput(10, Decimal(1200), Decimal("0.25"), w.seats.id),
            LineInput(5, Decimal(100), Decimal(0), w.support.id),
        ],
    )
    assert (contract.status, contract.end_date, contract.value) == (
        "draft",
        date(2026, 12, 31),
        Decimal("9500.00"),
    )
    assert [e.kind for e in service.history(session, contract)] == ["created"]


def test_bad_input_is_refused_whole_with_every_problem(session: Session) -> None:
    w = build(session)
    with pytest.raises(ValidationFailed) as caught:
        service.create_contract(
            session,
            scope=w.scope(session, w.rep_user),
            by=w.rep_user,
            account_id=999_999,
            start_date=date(2026, 1, 1),
            term_months=0,
            price_increase_cap=Decimal(3),
            lines=[LineInput(0, Decimal(-1), Decimal("1.5"), 424242)],
        )
    assert {p.location for p in caught.value.problems} == {
        "term_months",
        "price_increase_cap",
        "lines[0].quantity",
        "lines[0].list_price",
        "lines[0].discount",
        "lines[0].product_id",
        "account_id",
    }
    assert session.scalars(select(ContractLineItem)).all() == []


def test_review_needs_the_role_the_rules_name_and_approvers_are_notified(
    session: Session,
) -> None:
    w = build(session)
    w.director.email = "boss@example.com"
    rep = w.scope(session, w.rep_user)
    contract = service.create_contract(
        session,
        scope=rep,
        by=w.rep_user,
        account_id=w.account.id,
        start_date=date(2026, 1, 1),
        term_months=12,
        special_terms="Net 90 payment",
        lines=[LineInput(10, Decimal(1200), Decimal("0.25"), w.seats.id)],
    )
    with pytest.raises(Conflict, match="cannot be signed"):
        service.transition(session, contract, "active", scope=rep, by=w.rep_user)
    service.transition(session, contract, "in_review", scope=rep, by=w.rep_user)
    assert [i.subject for i in outbox.inbox(session, w.director)] == [
        f"Contract {contract.id} awaits your approval"
    ]
    assert [
        c.id for c, role, _ in service.review_queue(session, scope=w.scope(session, w.director))
    ] == [contract.id]
    # Non-standard terms need a director: the rep and the manager cannot decide.
    for who in (w.rep_user, w.manager):
        with pytest.raises(PermissionDenied, match="needs a director's approval"):
            service.transition(session, contract, "approved", scope=w.scope(session, who), by=who)
    assert contract.status == "in_review"
    with pytest.raises(ValidationFailed, match="needs a reason"):
        service.transition(
            session, contract, "draft", scope=w.scope(session, w.director), by=w.director
        )
    service.transition(
        session, contract, "approved", scope=w.scope(session, w.director), by=w.director
    )
    decisions = session.scalars(
        select(AuditEntry.action).where(
            AuditEntry.entity == "contract", AuditEntry.entity_id == str(contract.id)
        )
    ).all()
    assert "approved" in decisions
    # The decision itself lives in the shared proposals mechanism, with who decided.
    proposal = session.scalars(select(Proposal).where(Proposal.kind == "contract")).one()
    assert (proposal.state, proposal.decided_by) == ("applied", w.director.id)
    assert proposal.payload["approver"] == "director"


def test_a_signed_contract_is_not_edited_but_amended_with_proration(session: Session) -> None:
    w = build(session)
    contract = signed_contract(
        session,
        w,
        lines=[
            LineInput(10, Decimal(1200), Decimal("0.25"), w.seats.id),
            LineInput(5, Decimal(100), Decimal(0), w.support.id),
        ],
    )
    rep = w.scope(session, w.rep_user)
    assert contract.status == "active"
    with pytest.raises(Conflict, match="only a draft can be edited"):
        service.update_contract(session, contract, {"notice_days": 10}, scope=rep, by=w.rep_user)
    up = amendments.amend(
        session,
        contract,
        kind="upsell",
        effective_date=date(2026, 7, 1),
        scope=rep,
        by=w.rep_user,
        add=[LineInput(2, Decimal(1200), Decimal("0.25"), w.seats.id)],
    )
    # 2 x 1200 x 0.75 = 1800 a year; 184 days left: 1800 x 184 / 365 = 907.40.
    assert (up.annual_change, up.prorated_amount) == (Decimal("1800.00"), Decimal("907.40"))
    support = next(
        ln for ln in service.lines_of(session, contract) if ln.product_id == w.support.id
    )
    down = amendments.amend(
        session,
        contract,
        kind="downsell",
        effective_date=date(2026, 10, 1),
        scope=rep,
        by=w.rep_user,
        reduce=[(support.id, 3)],
    )
    # 5 -> 3 seats of 100: -200 a year; 92 days left: -200 x 92 / 365 = -50.41.
    assert (down.annual_change, down.prorated_amount) == (Decimal("-200.00"), Decimal("-50.41"))
    assert contract.value == Decimal("11100.00")
    assert support.end_date == date(2026, 9, 30)
    kinds = [e.kind for e in service.history(session, contract)]
    assert kinds[-2:] == ["amended", "amended"]


def test_co_termination_moves_lines_and_credits_the_unused_part(session: Session) -> None:
    w = build(session)
    main = signed_contract(session, w)
    addon = signed_contract(
        session,
        w,
        start=date(2026, 4, 1),
        lines=[LineInput(4, Decimal(250), Decimal(0), w.support.id)],
    )
    coterm = amendments.amend(
        session,
        main,
        kind="cotermination",
        effective_date=date(2026, 10, 1),
        scope=w.scope(session, w.rep_user),
        by=w.rep_user,
        from_contract_id=addon.id,
    )
    # Charged 1000 x 92/365 = 252.05 to 31 Dec 2026, credited 1000 x 182/365 = 498.63 of
    # the add-on's remaining term to 31 Mar 2027: -246.58.
    assert (coterm.annual_change, coterm.prorated_amount) == (
        Decimal("1000.00"),
        Decimal("-246.58"),
    )
    assert (addon.status, addon.end_date) == ("terminated", date(2026, 9, 30))
    assert main.value == Decimal("10000.00")


def test_an_amendment_of_an_unsigned_contract_or_outside_its_term_is_refused(
    session: Session,
) -> None:
    w = build(session)
    rep = w.scope(session, w.rep_user)
    draft = service.create_contract(
        session,
        scope=rep,
        by=w.rep_user,
        account_id=w.account.id,
        start_date=date(2026, 1, 1),
        term_months=12,
    )
    with pytest.raises(Conflict, match="edit the draft instead"):
        amendments.amend(
            session,
            draft,
            kind="upsell",
            effective_date=date(2026, 2, 1),
            scope=rep,
            by=w.rep_user,
            add=[LineInput(1, Decimal(1))],
        )
    signed = signed_contract(session, w)
    before = signed.value
    with pytest.raises(ValidationFailed) as caught:
        amendments.amend(
            session,
            signed,
            kind="upsell",
            effective_date=date(2027, 2, 1),
            scope=rep,
            by=w.rep_user,
        )
    assert {p.location for p in caught.value.problems} == {"effective_date", "add"}
    assert signed.value == before


def test_two_signed_contracts_may_not_cover_one_product_on_the_same_days(session: Session) -> None:
    w = build(session)
    signed_contract(session, w)
    with pytest.raises(Conflict, match=f"product {w.seats.id} is already on contract"):
        signed_contract(session, w, start=date(2026, 6, 1))


def test_contracts_outside_a_reps_book_are_invisible_and_analysts_cannot_write(
    session: Session,
) -> None:
    w = build(session)
    contract = signed_contract(session, w)
    stranger = make_user(session, role="sales_rep")
    make_rep(session, user=stranger)
    with pytest.raises(NotFound):
        service.get_visible(session, contract.id, scope=w.scope(session, stranger))
    analyst = make_user(session, role="analyst")
    assert service.get_visible(session, contract.id, scope=w.scope(session, analyst)) is contract
    with pytest.raises(PermissionDenied):
        service.transition(
            session, contract, "terminated", scope=w.scope(session, analyst), by=analyst, note="x"
        )


def test_a_termination_needs_a_churn_reason_from_the_configured_list(session: Session) -> None:
    w = build(session)
    contract = signed_contract(session, w)
    ops = w.scope(session, w.director)
    with pytest.raises(ValidationFailed) as caught:
        service.transition(
            session, contract, "terminated", scope=ops, by=w.director, reason="bored"
        )
    assert "'bored' is not a churn reason (one of: price, product fit" in str(caught.value)
    assert contract.status == "active"
    service.transition(
        session,
        contract,
        "terminated",
        scope=ops,
        by=w.director,
        reason="Competitor",
        note="moved to a rival",
    )
    assert (contract.status, contract.churn_reason) == ("terminated", "competitor")
    assert service.history(session, contract)[-1].note == "competitor: moved to a rival"
