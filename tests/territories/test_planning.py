"""A plan from the database, saved as a proposal, approved, applied as effective-dated
ownership (open deals follow), and rolled back to exactly what was there."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from salesops import approvals
from salesops.auth.scoping import scope_for
from salesops.errors import PermissionDenied
from salesops.models import AccountOwner, AuditEntry, OpportunityEvent
from salesops.territories import planning
from salesops.territories.scenario import parse_scenario
from tests.factories import make_account, make_opportunity, make_rep, make_user

EFFECTIVE = date(2026, 4, 1)


def _owners(session: Session) -> list[tuple[int, int, date, date | None]]:
    rows = session.scalars(
        select(AccountOwner).order_by(AccountOwner.account_id, AccountOwner.valid_from)
    )
    return [(r.account_id, r.rep_id, r.valid_from, r.valid_to) for r in rows]


def test_a_plan_is_proposed_approved_applied_and_rolled_back(session: Session) -> None:
    busy, idle = (
        make_rep(session, name="Busy"),
        make_rep(session, name="Idle", hire_date=date(2018, 1, 1)),
    )
    accounts = [make_account(session, name=f"Acc {i}", segment="SMB") for i in range(4)]
    for a in accounts:
        session.add(
            AccountOwner(
                account_id=a.id, rep_id=busy.id, valid_from=date(2025, 1, 1), valid_to=None
            )
        )
    deal = make_opportunity(session, owner=busy, account=accounts[3], stage="Prospecting")
    session.flush()
    scenario = parse_scenario(
        {
            "name": "even",
            "balance": [{"measure": "accounts", "lo": 1, "hi": 1}],
            "weights": {"disruption": 1, "disruption_measure": "accounts"},
            "locks": [str(accounts[0].id)],
            "accounts": {str(accounts[1].id): {"potential": 5, "reason": "signed a big renewal"}},
        }
    )
    result = planning.plan_from_database(session, scenario, as_of=date(2026, 3, 1))
    assert result.plan.status == "optimal"
    assert result.current.per_rep[str(busy.id)]["accounts"] == 4
    assert result.planned.per_rep[str(idle.id)]["accounts"] == 2
    assert result.planned.moves == 2
    assert result.plan.assignment[str(accounts[0].id)] == str(busy.id)
    ops = scope_for(session, make_user(session, role="ops_rep"))
    director = scope_for(session, make_user(session, role="director"))
    before = _owners(session)
    proposal = planning.propose(session, result, scope=ops, effective_from=EFFECTIVE)
    moved = sorted(m["account_id"] for m in proposal.payload["moves"])
    # The deal's account (the most potential) goes to the more experienced rep.
    assert accounts[3].id in moved
    approvals.submit(session, proposal, scope=ops)
    with pytest.raises(PermissionDenied):
        approvals.approve(session, proposal, scope=ops)
    approvals.approve(session, proposal, scope=director, reason="balanced")
    approvals.apply(session, proposal, scope=director)
    after = _owners(session)
    for account_id in moved:
        assert (account_id, busy.id, date(2025, 1, 1), EFFECTIVE) in after
        assert (account_id, idle.id, EFFECTIVE, None) in after
    assert deal.owner_id == idle.id
    audited = session.scalars(select(AuditEntry).where(AuditEntry.entity == "account"))
    assert sorted(int(e.entity_id or 0) for e in audited) == moved
    overrides = session.scalars(select(AuditEntry).where(AuditEntry.entity == "profile")).all()
    assert [(o.entity_id, o.changes["reason"]) for o in overrides] == [
        (f"account:{accounts[1].id}", "signed a big renewal")
    ]
    approvals.roll_back(session, proposal, scope=director, reason="postponed")
    session.flush()
    assert _owners(session) == before
    assert deal.owner_id == busy.id
    owner_events = session.scalars(
        select(OpportunityEvent.new_value).where(
            OpportunityEvent.opportunity_id == deal.id, OpportunityEvent.field == "owner"
        )
    )
    assert list(owner_events) == [str(idle.id), str(busy.id)]
