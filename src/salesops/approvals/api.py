"""REST endpoints for proposals of every kind: read by the roles that see the company,
moved through their life cycle by the roles each kind allows (deciders: directors, admins)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Path, Query, Response

from salesops import approvals
from salesops.api.crud import ERRORS, IfMatch
from salesops.api.deps import CurrentUser, SessionDep
from salesops.approvals.schemas import Decision, ProposalRead
from salesops.auth.scoping import READ_ALL_ROLES, Scope
from salesops.crm import versioning
from salesops.db.limits import INT_LIMIT
from salesops.models import Proposal

router = APIRouter(prefix="/proposals", tags=["proposals"], responses=ERRORS)

State = Literal["draft", "submitted", "approved", "rejected", "applied", "rolled_back"]
Action = Literal["submit", "withdraw", "approve", "reject", "apply", "rollback"]
ProposalId = Path(ge=1, le=INT_LIMIT)


def _readable(scope: Scope) -> None:
    scope.require_role(READ_ALL_ROLES, "read proposals")


def _read(proposal: Proposal, response: Response | None = None) -> ProposalRead:
    if response is not None:
        response.headers["ETag"] = f'"{proposal.version}"'
    return ProposalRead.model_validate(proposal)


@router.get("", summary="Proposals, newest first", response_model=list[ProposalRead])
def list_proposals(
    session: SessionDep,
    who: CurrentUser,
    kind: str | None = Query(None, max_length=40),
    state: State | None = None,
    limit: int = Query(100, ge=1, le=500),
) -> list[ProposalRead]:
    _readable(who.scope)
    return [
        _read(p) for p in approvals.list_proposals(session, kind=kind, state=state, limit=limit)
    ]


@router.get("/{proposal_id}", summary="One proposal", response_model=ProposalRead)
def get_proposal(
    response: Response, session: SessionDep, who: CurrentUser, proposal_id: int = ProposalId
) -> ProposalRead:
    _readable(who.scope)
    return _read(approvals.get(session, proposal_id), response)


@router.post(
    "/{proposal_id}/{action}",
    summary="Submit, withdraw, approve, reject, apply or roll back a proposal",
    response_model=ProposalRead,
)
def move(
    action: Action,
    body: Decision,
    response: Response,
    session: SessionDep,
    who: CurrentUser,
    proposal_id: int = ProposalId,
    if_match: str | None = IfMatch,
) -> ProposalRead:
    _readable(who.scope)
    proposal = approvals.get(session, proposal_id)
    approvals.require_may(who.scope, proposal, "roll_back" if action == "rollback" else action)
    versioning.check(proposal, "proposal", versioning.from_if_match(if_match))
    scope = who.scope
    if action == "submit":
        approvals.submit(session, proposal, scope=scope)
    elif action == "withdraw":
        approvals.withdraw(session, proposal, scope=scope)
    elif action == "approve":
        approvals.approve(session, proposal, scope=scope, reason=body.reason)
    elif action == "reject":
        approvals.reject(session, proposal, scope=scope, reason=body.reason or "")
    elif action == "apply":
        approvals.apply(session, proposal, scope=scope)
    else:
        approvals.roll_back(session, proposal, scope=scope, reason=body.reason or "")
    session.flush()
    return _read(proposal, response)
