"""The feedback pages: the list (submit, vote), and one item with its history and, for Sales
Ops, the triage form. Writes go through `playbooks.feedback`, as the API's do."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from salesops.crm import versioning
from salesops.models import User
from salesops.playbooks import feedback
from salesops.playbooks.feedback_api import FeedbackCreate, FeedbackTriage
from salesops.web import forms
from salesops.web.deps import SessionDep, WebUser, page_context
from salesops.web.nav import NavItem, register
from salesops.web.templating import templates

router = APIRouter(include_in_schema=False)
register(NavItem("Feedback", "/feedback", "chat", 75))
CREATE_FIELDS = ("category", "title", "text", "opportunity_id")
TRIAGE = ("status", "owner_id", "response", "change_made")


def _list(request: Request, session: Any, who: Any, state: forms.FormState | None) -> Response:
    status = request.query_params.get("status") or None
    category = request.query_params.get("category") or None
    context = page_context(request, session, who) | {
        "items": feedback.items(
            session,
            scope=who.scope,
            status=status if status in feedback.STATUSES else None,
            category=category if category in feedback.CATEGORIES else None,
        ),
        "form": state or forms.FormState({"category": "process"}),
        "categories": feedback.CATEGORIES,
        "category_options": [(c, c) for c in feedback.CATEGORIES],
        "statuses": feedback.STATUSES,
        "status": status,
        "category": category,
        "me": who.user.id,
    }
    response = templates.TemplateResponse(request, "feedback.html", context)
    if state is not None:
        response.status_code = state.status
    return response


@router.get("/feedback", response_class=HTMLResponse)
def feedback_page(request: Request, session: SessionDep, who: WebUser) -> Response:
    return _list(request, session, who, None)


@router.post("/feedback")
async def submit(request: Request, session: SessionDep, who: forms.FormUser) -> Response:
    data = await forms.read(request)
    state = forms.FormState()
    body = forms.parse(FeedbackCreate, data, state, fields=CREATE_FIELDS)
    if isinstance(body, FeedbackCreate) and state.ok:
        forms.attempt(
            session,
            state,
            lambda: feedback.submit(session, scope=who.scope, **body.model_dump()),
            fields=CREATE_FIELDS,
        )
    if state.ok:
        return forms.done("/feedback?sent=1")
    return _list(request, session, who, state)


@router.post("/feedback/{feedback_id}/vote")
async def vote(
    feedback_id: int, request: Request, session: SessionDep, who: forms.FormUser
) -> Response:
    data = await forms.read(request)
    item = feedback.get(session, feedback_id)
    feedback.vote(session, item, scope=who.scope, up=data.get("up", "1") == "1")
    back = f"/feedback/{feedback_id}"
    return forms.done(back if data.get("back") == back else "/feedback")


def _detail(
    request: Request, session: Any, who: Any, feedback_id: int, state: forms.FormState | None
) -> Response:
    found = feedback.item(session, feedback_id, scope=who.scope)
    f = found.feedback
    users = dict(session.execute(select(User.id, User.username)).all())
    shown = {
        "status": f.status,
        "owner_id": str(f.owner_id or ""),
        "response": f.response or "",
        "change_made": f.change_made or "",
        "version": str(f.version),
    }
    context = page_context(request, session, who) | {
        "item": found,
        "history": feedback.history(session, f),
        "users": users,
        "form": state or forms.FormState(shown),
        "can_triage": forms.allowed(lambda: who.scope.require_planning("triage feedback")),
        "status_options": [(s, s.replace("_", " ")) for s in feedback.STATUSES],
        "owner_options": [("", "nobody")] + [(str(i), n) for i, n in sorted(users.items())],
        "me": who.user.id,
    }
    response = templates.TemplateResponse(request, "feedback_item.html", context)
    if state is not None:
        response.status_code = state.status
    return response


@router.get("/feedback/{feedback_id}", response_class=HTMLResponse)
def item_page(feedback_id: int, request: Request, session: SessionDep, who: WebUser) -> Response:
    return _detail(request, session, who, feedback_id, None)


@router.post("/feedback/{feedback_id}")
async def triage(
    feedback_id: int, request: Request, session: SessionDep, who: forms.FormUser
) -> Response:
    item = feedback.get(session, feedback_id)
    who.scope.require_planning("triage feedback")
    data = await forms.read(request)
    state = forms.FormState()
    body = forms.parse(FeedbackTriage, data, state, fields=(*TRIAGE, "version"))
    if isinstance(body, FeedbackTriage) and state.ok:
        changes = body.model_dump(exclude={"version"})
        changes["owner_id"] = body.owner_id
        expected = versioning.from_body(body.version)
        forms.attempt(
            session,
            state,
            lambda: feedback.triage(
                session, item, scope=who.scope, expected=(expected,), **changes
            ),
            fields=TRIAGE,
        )
    if state.ok:
        return forms.done(f"/feedback/{feedback_id}?saved=1")
    return _detail(request, session, who, feedback_id, state)
