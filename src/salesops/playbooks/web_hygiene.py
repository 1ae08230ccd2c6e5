"""The hygiene page (a manager works through their team's flagged deals, rep by rep) and the
coaching notes card of a deal's page."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from salesops.api.deps import Principal
from salesops.errors import Problem, ValidationFailed
from salesops.models import Opportunity, Rep, User
from salesops.pipeline import access
from salesops.playbooks import inspection
from salesops.playbooks.hygiene import FLAGS
from salesops.web import forms
from salesops.web.deps import SessionDep, WebUser, page_context
from salesops.web.nav import NavItem, register
from salesops.web.templating import templates

router = APIRouter(include_in_schema=False)
register(NavItem("Deal hygiene", "/hygiene", "check", 65))


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 10 else None


@router.get("/hygiene", response_class=HTMLResponse)
def hygiene_page(request: Request, session: SessionDep, who: WebUser) -> Response:
    rep_id = _int(request.query_params.get("rep"))
    flag = request.query_params.get("flag") or None
    if flag not in FLAGS:
        flag = None
    found = inspection.inspect(session, scope=who.scope, rep_id=rep_id)
    flagged = sorted(
        (d for d in found.deals if d.flags and (flag is None or flag in {f.code for f in d.flags})),
        key=lambda d: (-len(d.flags), d.deal.id),
    )
    trend: dict[int, list[Any]] = defaultdict(list)
    for snap in inspection.trend(session, scope=who.scope, rep_id=rep_id):
        trend[snap.rep_id].append(snap)
    reps = session.execute(select(Rep.id, Rep.name).where(who.scope.reps()).order_by(Rep.name))
    context = page_context(request, session, who) | {
        "found": found,
        "flagged": flagged[:500],
        "flagged_total": len(flagged),
        "trend": {rep: snaps[-8:] for rep, snaps in trend.items()},
        "notes": inspection.open_note_counts(session, [d.deal.id for d in flagged[:500]]),
        "rep_options": [(str(i), n) for i, n in reps],
        "flag_options": list(FLAGS.items()),
        "rep_id": rep_id,
        "flag": flag,
    }
    return templates.TemplateResponse(request, "hygiene.html", context)


def coaching_context(session: Session, who: Principal, opp: Opportunity) -> dict[str, Any]:
    """What the deal page's coaching card needs."""
    notes = inspection.notes(session, opp)
    ids = {n.author_id for n in notes if n.author_id is not None}
    rows = session.execute(select(User.id, User.username).where(User.id.in_(ids))).all()
    authors: dict[int, str] = {row[0]: row[1] for row in rows}
    return {
        "coaching_notes": notes,
        "note_authors": authors,
        "can_coach": who.scope.role in inspection.COACHES,
        "can_resolve": forms.allowed(lambda: who.scope.require_record_write("resolve notes")),
        "flag_options": list(FLAGS.items()),
    }


@router.post("/opportunities/{opp_id}/notes")
async def add_note(
    opp_id: int, request: Request, session: SessionDep, who: forms.FormUser
) -> Response:
    opp = access.get_visible(session, opp_id, scope=who.scope)
    data = await forms.read(request)
    text = data.get("text", "")
    if not text or len(text) > 4000:
        raise ValidationFailed(
            "a coaching note needs text", [Problem("1 to 4000 characters", "text")]
        )
    inspection.add_note(session, opp, scope=who.scope, text=text, flag=data.get("flag") or None)
    return forms.done(f"/opportunities/{opp_id}#coaching")


@router.post("/coaching-notes/{note_id}/resolve")
async def resolve_note(note_id: int, session: SessionDep, who: forms.FormUser) -> Response:
    note = inspection.resolve_note(session, note_id, scope=who.scope)
    return forms.done(f"/opportunities/{note.opportunity_id}#coaching")
