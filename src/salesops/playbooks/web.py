"""Dashboard parts of playbooks: the playbook page, and on a deal's page its stage's play,
its checklist (ticked from the page) and what it lacks to leave its stage.

A stage change from the deal's edit form goes through `pipeline.access.update` like the API:
a blocked move comes back next to the Stage field, a warned one lands and the page says what
was missing (read back from the audit entry the gate wrote).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from salesops.api.deps import Principal
from salesops.models import AuditEntry, Opportunity
from salesops.pipeline import access
from salesops.playbooks import gate, service, web_feedback, web_hygiene
from salesops.web import forms
from salesops.web.deps import SessionDep, WebUser, page_context
from salesops.web.nav import NavItem, register
from salesops.web.templating import add_template_dir, templates

router = APIRouter(include_in_schema=False)
router.include_router(web_hygiene.router)
router.include_router(web_feedback.router)
add_template_dir(Path(__file__).resolve().parent / "templates")
register(NavItem("Playbook", "/playbook", "book", 70))


def last_warning(session: Session, opp: Opportunity) -> list[str]:
    """The missing items of the latest warned move of `opp` (for the page after a save)."""
    entry = session.scalar(
        select(AuditEntry)
        .where(
            AuditEntry.action == "exit_warning",
            AuditEntry.entity == "opportunity",
            AuditEntry.entity_id == str(opp.id),
        )
        .order_by(AuditEntry.id.desc())
        .limit(1)
    )
    return [str(m) for m in entry.changes.get("missing", [])] if entry else []


def deal_context(
    request: Request, session: Session, who: Principal, opp: Opportunity
) -> dict[str, Any]:
    """What the deal page's playbook card needs."""
    warned = request.query_params.get("warned") == "1"
    return web_hygiene.coaching_context(session, who, opp) | {
        "deal_play": service.deal_play(session, opp),
        "can_tick": forms.allowed(lambda: who.scope.require_record_write("change checklists")),
        "exit_warning": last_warning(session, opp) if warned else [],
    }


def saved_location(session: Session, opp_id: int) -> str:
    """Where the deal form goes after a save: flagged when the playbook warned about it."""
    warned = bool(gate.warnings(session))
    return f"/opportunities/{opp_id}?saved=1" + ("&warned=1" if warned else "")


@router.post("/opportunities/{opp_id}/checklist")
async def tick(opp_id: int, request: Request, session: SessionDep, who: forms.FormUser) -> Response:
    opp = access.get_visible(session, opp_id, scope=who.scope)
    who.scope.require_record_write("change checklists")
    data = await forms.read(request)
    # Refusals (an unknown item, a read-only role) raise and show the error page.
    service.set_checklist_item(
        session, opp, data.get("key", ""), done=data.get("done") == "1", scope=who.scope
    )
    return forms.done(f"/opportunities/{opp_id}#playbook")


@router.get("/playbook", response_class=HTMLResponse)
def playbook_page(request: Request, session: SessionDep, who: WebUser) -> Response:
    revision = gate.active_revision(session)
    context = page_context(request, session, who) | {
        "revision": revision,
        "playbook": gate.playbook_of(revision) if revision else None,
        "revisions": service.revisions(session),
    }
    return templates.TemplateResponse(request, "playbook.html", context)
