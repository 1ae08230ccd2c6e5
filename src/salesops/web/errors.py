"""Errors on dashboard pages: a friendly page (or a redirect to sign in), never JSON."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from salesops.errors import SalesOpsError


class LoginRequired(SalesOpsError):
    """A dashboard page was asked for without a session."""

    http_status = 401


def html_error(request: Request, exc: SalesOpsError) -> Response:
    from salesops.web.templating import templates

    if isinstance(exc, LoginRequired) or exc.http_status == 401:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
    return templates.TemplateResponse(
        request,
        "error.html",
        {"status": exc.http_status, "message": str(exc), "user": None},
        status_code=exc.http_status,
    )
