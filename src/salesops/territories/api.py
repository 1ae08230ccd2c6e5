"""REST endpoints for territories: definitions (everyone), rule checks (roles that see the
company), a territory's coverage as of a date (accounts scoped to the caller), and plans
(ops, directors, admins; saved as proposals moved through /proposals)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from salesops.api.crud import ERRORS
from salesops.api.deps import CurrentUser, SessionDep, computes_before_writing
from salesops.auth.scoping import READ_ALL_ROLES
from salesops.db.limits import DATE_MAX, DATE_MIN, INT_LIMIT
from salesops.errors import NotFound, Problem, ValidationFailed
from salesops.models import Territory
from salesops.territories import planning, service
from salesops.territories.scenario import Scenario

router = APIRouter(prefix="/territories", tags=["territories"], responses=ERRORS)
# Plans live beside the territory records (whose CRUD owns /territories/{id}).
plans_router = APIRouter(prefix="/territory-plans", tags=["territories"], responses=ERRORS)
MAX_API_SECONDS = 60.0


class PlanRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scenario: Scenario
    as_of: date | None = Field(None, ge=DATE_MIN, le=DATE_MAX)
    propose: bool = Field(False, description="save the plan as a draft proposal")
    effective_from: date | None = Field(None, ge=DATE_MIN, le=DATE_MAX)
    explanations: bool = Field(False, description="include every account's explanation")


@router.get("/rules/check", summary="Accounts matched by no rule or by conflicting rules")
def check(session: SessionDep, who: CurrentUser) -> dict[str, Any]:
    who.scope.require_role(READ_ALL_ROLES, "check territory rules over every account")
    report = service.check(session)
    return {
        "accounts": report.accounts,
        "placed": report.placed,
        "unmatched": [{"id": a.id, "name": a.name} for a in report.unmatched],
        "conflicts": [
            {"id": a.id, "name": a.name, "territories": list(ts)} for a, ts in report.conflicts
        ],
    }


@router.get(
    "/{territory_id}/coverage",
    summary="A territory as of a date: rules, reps covering it, the caller's visible accounts",
)
def coverage(
    session: SessionDep,
    who: CurrentUser,
    territory_id: int = Path(ge=1, le=INT_LIMIT),
    as_of: date | None = None,
) -> dict[str, Any]:
    territory = session.get(Territory, territory_id)
    if territory is None:
        raise NotFound(f"territory {territory_id} does not exist")
    name = territory.name
    day = as_of or date.today()
    if not DATE_MIN <= day <= DATE_MAX:
        raise ValidationFailed(
            "invalid date", [Problem(f"must be within {DATE_MIN} and {DATE_MAX}", "as_of")]
        )
    view = service.show(session, name, as_of=day, scope=who.scope)
    out = asdict(view)
    out["reps"] = [{"id": r[0], "name": r[1], "from": r[2], "to": r[3]} for r in view.reps]
    out["accounts"] = [{"id": a[0], "name": a[1], "owner": a[2]} for a in view.accounts]
    return out


@plans_router.post("", summary="Optimize account assignment for a scenario", status_code=201)
@computes_before_writing
def plan(body: PlanRequest, session: SessionDep, who: CurrentUser) -> dict[str, Any]:
    who.scope.require_planning("plan territories")
    if body.scenario.time_limit > MAX_API_SECONDS:
        raise ValidationFailed(
            "the scenario is not valid",
            [Problem(f"at most {MAX_API_SECONDS:g} s through the API", "scenario.time_limit")],
        )
    result = planning.plan_from_database(session, body.scenario, as_of=body.as_of or date.today())
    out = result.to_dict(explanations=body.explanations)
    if body.propose:
        proposal = planning.propose(
            session, result, scope=who.scope, effective_from=body.effective_from or date.today()
        )
        out["proposal_id"] = proposal.id
    return out
