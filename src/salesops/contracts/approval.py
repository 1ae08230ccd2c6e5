"""Contract approval through the shared proposals mechanism (`salesops.approvals`).

Submitting a contract for review creates and submits a `contract` proposal; approving it
approves and applies that proposal (the apply step moves the contract to `approved`);
rejecting it rejects the proposal with the reason. The proposals service keeps the decision
trail (who, when, why) and audits each move; the contract rules file decides which role a
given contract needs (a director's approval covers a manager's).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from salesops import approvals
from salesops.approvals import ApplyContext, Kind
from salesops.auth.scoping import Scope
from salesops.contracts import lifecycle as core
from salesops.errors import Conflict, PermissionDenied, Problem
from salesops.models import Contract, ContractEvent, ContractStatus, Proposal, Role

KIND = "contract"
S = ContractStatus


def _check(session: Session, payload: Mapping[str, Any]) -> list[Problem]:
    contract = session.get(Contract, payload.get("contract_id"))
    if contract is None:
        return [Problem(f"contract {payload.get('contract_id')} does not exist", "contract_id")]
    if contract.status not in (S.DRAFT, S.IN_REVIEW):
        return [Problem(f"contract {contract.id} is {contract.status}, not in review", "status")]
    return []


def _apply(session: Session, proposal: Proposal, ctx: ApplyContext) -> Mapping[str, Any]:
    contract = session.get(Contract, proposal.payload["contract_id"])
    assert contract is not None
    contract.status = S.APPROVED
    return {"contract_id": contract.id, "status": S.IN_REVIEW.value}


def _roll_back(session: Session, proposal: Proposal, ctx: ApplyContext) -> None:
    contract = session.get(Contract, proposal.payload["contract_id"])
    if contract is None or contract.status != S.APPROVED:
        raise Conflict("only a contract that is still approved (not yet sent) can be rolled back")
    contract.status = S.DRAFT
    session.add(
        ContractEvent(
            contract_id=contract.id,
            by_id=ctx.user_id,
            kind="transition",
            old_status=S.APPROVED,
            new_status=S.DRAFT,
            note=f"approval {proposal.id} rolled back",
        )
    )


approvals.register_kind(
    Kind(
        name=KIND,
        apply=_apply,
        roll_back=_roll_back,
        check=_check,
        proposers=frozenset(
            {Role.SALES_REP, Role.MANAGER, Role.OPS_REP, Role.DIRECTOR, Role.ADMIN}
        ),
        deciders=frozenset(core.APPROVER_RANK),
    )
)


def open_proposal(session: Session, contract: Contract) -> Proposal | None:
    """The submitted proposal of a contract in review."""
    candidates = session.scalars(
        select(Proposal)
        .where(Proposal.kind == KIND, Proposal.state == "submitted")
        .order_by(Proposal.id.desc())
    )
    return next((p for p in candidates if p.payload.get("contract_id") == contract.id), None)


def submit(
    session: Session, contract: Contract, needs: list[core.Requirement], *, scope: Scope
) -> Proposal:
    """Open the contract's approval: a `contract` proposal, created and submitted."""
    role = core.approver_role(needs)
    proposal = approvals.create(
        session,
        kind=KIND,
        title=f"Contract {contract.id}: {'; '.join(r.rule for r in needs)}"[:200],
        payload={
            "contract_id": contract.id,
            "annual_value": str(contract.value),
            "approver": role.value,
            "rules": [{"rule": r.rule, "approver": r.approver.value} for r in needs],
        },
        scope=scope,
        effective_from=contract.start_date,
    )
    return approvals.submit(session, proposal, scope=scope)


def decide(
    session: Session,
    contract: Contract,
    needs: list[core.Requirement],
    *,
    approve: bool,
    scope: Scope,
    reason: str | None,
) -> Proposal:
    """Approve (and apply) or reject the contract's open proposal, if the caller's role is
    at least the one its rules name."""
    needed = core.approver_role(needs)
    if not core.may_approve(scope.role, needed):
        raise PermissionDenied(
            f"contract {contract.id} needs a {needed.value}'s approval; the"
            f" {scope.role.value} role cannot decide it"
        )
    proposal = open_proposal(session, contract)
    if proposal is None:  # reviews opened before approvals existed: open one now
        proposal = submit(session, contract, needs, scope=scope)
    if not approve:
        return approvals.reject(session, proposal, scope=scope, reason=reason or "")
    approvals.approve(session, proposal, scope=scope, reason=reason)
    return approvals.apply(session, proposal, scope=scope)
