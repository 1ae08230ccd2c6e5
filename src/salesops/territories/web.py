"""Dashboard pages for territories: definitions and rule check, territory plans (proposals)
with their move list and reasons, and approve/reject/apply/roll back for the roles allowed.
Roles that do not see the whole company do not get these pages (they list every account)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from salesops import approvals
from salesops.auth.scoping import READ_ALL_ROLES
from salesops.errors import SalesOpsError
from salesops.models import Rep
from salesops.territories import planning, service
from salesops.web import forms
from salesops.web.deps import SessionDep, WebUser, page_context
from salesops.web.nav import NavItem, register
from salesops.web.templating import add_template_dir, templates

router = APIRouter(include_in_schema=False)
add_template_dir(Path(__file__).resolve().parent / "templates")
register(NavItem("Territories", "/territories", "map", 70, READ_ALL_ROLES))

ACTIONS = {
    "submit": "submit",
    "approve": "approve",
    "reject": "reject",
    "apply": "apply",
    "rollback": "roll_back",
}


def _allowed(who: Any, proposal: Any, action: str) -> bool:
    return forms.allowed(lambda: approvals.require_may(who.scope, proposal, action))


@router.get("/territories", response_class=HTMLResponse)
def territories_page(request: Request, session: SessionDep, who: WebUser) -> Response:
    who.scope.require_role(READ_ALL_ROLES, "see territories")
    try:
        h = service.hierarchy(session)
        report: service.CheckReport | None = service.check(session, h=h)
        problem = None
    except SalesOpsError as exc:
        h, report, problem = None, None, str(exc)
    proposals = approvals.list_proposals(session, kind=planning.KIND, limit=50)
    context = page_context(request, session, who) | {
        "title": "Territories",
        "period_only": True,
        "definitions": list(h.by_name.values()) if h else [],
        "report": report,
        "problem": problem,
        "proposals": proposals,
    }
    return templates.TemplateResponse(request, "territories.html", context)


@router.get("/territories/plans/{proposal_id}", response_class=HTMLResponse)
def plan_page(proposal_id: int, request: Request, session: SessionDep, who: WebUser) -> Response:
    who.scope.require_role(READ_ALL_ROLES, "see territory plans")
    proposal = approvals.get(session, proposal_id, kind=planning.KIND)
    reps = dict(session.execute(select(Rep.id, Rep.name)).tuples().all())
    actions = [
        a
        for a, move in ACTIONS.items()
        if _allowed(who, proposal, move)
        and proposal.state
        == {
            "submit": "draft",
            "approve": "submitted",
            "reject": "submitted",
            "apply": "approved",
            "rollback": "applied",
        }[a]
    ]
    context = page_context(request, session, who) | {
        "title": f"Territory plan {proposal.id}",
        "period_only": True,
        "proposal": proposal,
        "moves": proposal.payload.get("moves", []),
        "balance": proposal.payload.get("balance", {}),
        "reps": reps,
        "actions": actions,
        "history": approvals.history(session, proposal),
        "message": request.query_params.get("message"),
    }
    return templates.TemplateResponse(request, "territory_plan.html", context)


@router.post("/territories/plans/{proposal_id}/{action}")
async def plan_action(
    proposal_id: int, action: str, request: Request, session: SessionDep, who: forms.FormUser
) -> Response:
    proposal = approvals.get(session, proposal_id, kind=planning.KIND)
    data = await forms.read(request)
    reason = (data.get("reason") or "").strip() or None
    if action not in ACTIONS:
        return forms.done(f"/territories/plans/{proposal.id}")
    if action == "submit":
        approvals.submit(session, proposal, scope=who.scope)
    elif action == "approve":
        approvals.approve(session, proposal, scope=who.scope, reason=reason)
    elif action == "reject":
        approvals.reject(session, proposal, scope=who.scope, reason=reason or "")
    elif action == "apply":
        approvals.apply(session, proposal, scope=who.scope)
    else:
        approvals.roll_back(session, proposal, scope=who.scope, reason=reason or "")
    return forms.done(f"/territories/plans/{proposal.id}")
