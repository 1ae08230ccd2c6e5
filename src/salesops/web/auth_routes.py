"""Sign in and sign out of the dashboard."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from salesops.api.deps import SESSION_COOKIE, Principal, SessionDep, client_ip, optional_principal
from salesops.auth import service as auth
from salesops.auth.service import SESSION_LIFETIME
from salesops.errors import PermissionDenied
from salesops.web.deps import check_csrf
from salesops.web.templating import templates

router = APIRouter(include_in_schema=False)
LOGIN_CSRF_COOKIE = "salesops_login_csrf"


def _safe_next(target: str | None) -> str:
    # Only same-site paths: an open redirect would make the sign-in page a phishing tool.
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


def _login_page(
    request: Request, *, next_url: str, error: str | None = None, status: int = 200
) -> Response:
    token = secrets.token_urlsafe(24)
    response = templates.TemplateResponse(
        request,
        "login.html",
        {"next": next_url, "error": error, "csrf_token": token, "user": None},
        status_code=status,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        max_age=3600,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(
    request: Request,
    principal: Annotated[Principal | None, Depends(optional_principal)],
    next: str | None = None,
) -> Response:
    if principal is not None and principal.web_session is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return _login_page(request, next_url=_safe_next(next))


@router.post("/login")
def login(
    request: Request,
    session: SessionDep,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    cookie_token = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie_token or not secrets.compare_digest(csrf_token, cookie_token):
        return _login_page(
            request, next_url=_safe_next(next), error="The form expired; try again.", status=400
        )
    try:
        user = auth.authenticate(session, username, password, ip=client_ip(request))
    except auth.TooManyAttempts as exc:
        # Returned, not raised: the request still commits the recorded attempt.
        return _login_page(request, next_url=_safe_next(next), error=str(exc), status=429)
    except PermissionDenied:
        return _login_page(
            request, next_url=_safe_next(next), error="Wrong username or password.", status=401
        )
    opened = auth.open_session(session, user, ip=client_ip(request))
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        opened.cookie,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


@router.post("/logout")
def logout(
    request: Request, session: SessionDep, who: Annotated[Principal, Depends(check_csrf)]
) -> Response:
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        auth.close_session(session, cookie)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
