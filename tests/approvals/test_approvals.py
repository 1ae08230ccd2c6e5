"""The proposal life cycle: legal moves only, the right roles, every move audited, undo works."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import pytest
from sqlalchemy.orm import Session

from salesops import approvals
from salesops.approvals.service import fingerprint
from salesops.auth.scoping import Scope, scope_for
from salesops.errors import Conflict, PermissionDenied, Problem, StaleRecord, ValidationFailed
from salesops.models import Proposal, Team
from tests.factories import make_user

AT = datetime.fromisoformat("2026-03-01T09:00:00+00:00")


def _apply(session: Session, proposal: Proposal, ctx: approvals.ApplyContext) -> Mapping[str, Any]:
    team = session.get(Team, proposal.payload["team_id"])
    assert team is not None
    old = team.name
    team.name = proposal.payload["name"]
    return {"old_name": old, "effective": ctx.effective}


def _undo(session: Session, proposal: Proposal, ctx: approvals.ApplyContext) -> None:
    team = session.get(Team, proposal.payload["team_id"])
    assert team is not None
    team.name = proposal.undo["old_name"]


def _check(session: Session, payload: Mapping[str, Any]) -> list[Problem]:
    if session.get(Team, payload.get("team_id")) is None:
        return [Problem("no such team", "payload.team_id")]
    return []


approvals.register_kind(approvals.Kind("test_rename", apply=_apply, roll_back=_undo, check=_check))


def _scope(session: Session, role: str) -> Scope:
    return scope_for(session, make_user(session, role=role))


def test_a_proposal_goes_from_draft_to_applied_and_back_with_every_move_audited(
    session: Session,
) -> None:
    team = Team(name="East")
    session.add(team)
    session.flush()
    ops, director = _scope(session, "ops_rep"), _scope(session, "director")
    payload = {"team_id": team.id, "name": "East & Central"}
    proposal = approvals.create(
        session,
        kind="test_rename",
        title="Rename East",
        payload=payload,
        scope=ops,
        effective_from=date(2026, 4, 1),
        at=AT,
    )
    assert (proposal.state, proposal.fingerprint) == ("draft", fingerprint(payload))
    approvals.submit(session, proposal, scope=ops, at=AT)
    approvals.approve(session, proposal, scope=director, reason="fine", at=AT)
    assert (proposal.decided_by, proposal.decision_reason) == (director.user_id, "fine")
    approvals.apply(session, proposal, scope=director, at=AT)
    assert team.name == "East & Central"
    assert proposal.undo == {"old_name": "East", "effective": "2026-04-01"}
    approvals.roll_back(session, proposal, scope=director, reason="reorg cancelled", at=AT)
    assert (team.name, proposal.state) == ("East", "rolled_back")
    moves = [
        (e.action, e.user_id, e.changes.get("state")) for e in approvals.history(session, proposal)
    ]
    assert moves == [
        ("create", ops.user_id, None),
        ("submit", ops.user_id, {"old": "draft", "new": "submitted"}),
        ("approve", director.user_id, {"old": "submitted", "new": "approved"}),
        ("apply", director.user_id, {"old": "approved", "new": "applied"}),
        ("roll_back", director.user_id, {"old": "applied", "new": "rolled_back"}),
    ]
    assert approvals.history(session, proposal)[-1].changes["reason"] == "reorg cancelled"


def test_illegal_moves_wrong_roles_and_missing_reasons_are_refused(session: Session) -> None:
    team = Team(name="West")
    session.add(team)
    session.flush()
    ops, director, analyst = (_scope(session, r) for r in ("ops_rep", "director", "analyst"))
    with pytest.raises(PermissionDenied):
        approvals.create(
            session,
            kind="test_rename",
            title="x",
            payload={"team_id": team.id, "name": "W"},
            scope=analyst,
        )
    with pytest.raises(ValidationFailed) as bad:
        approvals.create(session, kind="test_rename", title=" ", payload={"team_id": -1}, scope=ops)
    assert {p.location for p in bad.value.problems} == {"payload.team_id", "title"}
    with pytest.raises(ValidationFailed):
        approvals.create(session, kind="no_such_kind", title="x", payload={}, scope=ops)
    proposal = approvals.create(
        session, kind="test_rename", title="x", payload={"team_id": team.id, "name": "W"}, scope=ops
    )
    with pytest.raises(Conflict, match="only a proposal that is submitted can be approved"):
        approvals.approve(session, proposal, scope=director)
    approvals.submit(session, proposal, scope=ops)
    with pytest.raises(PermissionDenied):
        approvals.approve(session, proposal, scope=ops)
    with pytest.raises(StaleRecord):
        approvals.approve(session, proposal, scope=director, expected_version=proposal.version - 1)
    with pytest.raises(ValidationFailed, match="reason"):
        approvals.reject(session, proposal, scope=director, reason="  ")
    approvals.reject(session, proposal, scope=director, reason="too early")
    with pytest.raises(Conflict):
        approvals.apply(session, proposal, scope=director)
    assert team.name == "West"
    assert [
        p.id for p in approvals.list_proposals(session, kind="test_rename", state="rejected")
    ] == [proposal.id]


def test_apply_rechecks_the_payload_and_writes_nothing_when_the_data_moved_on(
    session: Session,
) -> None:
    team = Team(name="North")
    session.add(team)
    session.flush()
    ops, director = _scope(session, "ops_rep"), _scope(session, "director")
    proposal = approvals.create(
        session, kind="test_rename", title="x", payload={"team_id": team.id, "name": "N"}, scope=ops
    )
    approvals.submit(session, proposal, scope=ops)
    approvals.approve(session, proposal, scope=director)
    proposal.payload = {"team_id": -5, "name": "N"}
    with pytest.raises(ValidationFailed, match="no longer fits"):
        approvals.apply(session, proposal, scope=director)
    assert (proposal.state, team.name) == ("approved", "North")
