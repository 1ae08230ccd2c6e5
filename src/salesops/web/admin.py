"""Admin pages: users (roles, access) and the values metrics cannot use — the audit log page
lives with the record pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from salesops.api.deps import Principal
from salesops.auth import service as auth
from salesops.crm import versioning
from salesops.errors import StaleRecord
from salesops.metrics import quarantine
from salesops.models import Rep, Role
from salesops.web import export
from salesops.web.deps import SessionDep, WebUser, check_csrf, page_context
from salesops.web.nav import NavItem, register

router = APIRouter(include_in_schema=False)
register(NavItem("Quarantine", "/admin/quarantine", "alert", 905, frozenset({Role.ADMIN})))


@router.get("/admin/users", response_class=HTMLResponse)
def users_page(request: Request, session: SessionDep, who: WebUser) -> Response:
    who.scope.require_admin("manage users")
    return _users_page(request, session, who)


def _users_page(
    request: Request, session: Session, who: Principal, *, stale: str | None = None
) -> Response:
    reps = {r.user_id: r for r in session.scalars(select(Rep).where(Rep.user_id.is_not(None)))}
    context = page_context(request, session, who) | {
        "title": "Users",
        "users": auth.list_users(session),
        "reps": reps,
        "roles": [r.value for r in Role],
        "saved": request.query_params.get("saved"),
        "stale": stale,
    }
    return export.render(request, "users.html", context, status_code=409 if stale else 200)


@router.post("/admin/users/{user_id}")
def change_user(
    user_id: int,
    session: SessionDep,
    who: Annotated[Principal, Depends(check_csrf)],
    request: Request,
    role: Annotated[str, Form()],
    active: Annotated[str, Form()] = "",
    version: Annotated[str, Form()] = "",
) -> Response:
    """Save a user's role and access; the form's version guards against overwriting a change
    another admin saved since the page was shown (409 with the page as it is now)."""
    who.scope.require_admin("manage users")
    expected = versioning.from_body(int(version)) if version.isdigit() else None
    try:
        user = auth.update_user(
            session,
            auth.user_by_id(session, user_id),
            role=role,
            is_active=active == "on",
            by=who.user,
            via="web",
            expected=(expected,),
        )
    except StaleRecord as exc:
        session.rollback()
        return _users_page(request, session, who, stale=str(exc))
    return RedirectResponse(f"/admin/users?saved={user.username}", status_code=303)


@router.get("/admin/quarantine", response_class=HTMLResponse)
def quarantine_page(request: Request, session: SessionDep, who: WebUser) -> Response:
    """Stored values metrics cannot use (left out of the copy, or blocking money metrics),
    by table, id and field, with why and what to do."""
    who.scope.require_admin("see the values metrics cannot use")
    context = page_context(request, session, who) | {
        "title": "Quarantine",
        "rows": quarantine.quarantined(session),
        "left_out": quarantine.LEFT_OUT,
    }
    return export.render(request, "quarantine.html", context)
