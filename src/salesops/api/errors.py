"""One error shape for the whole API: `{"error": {"type", "message", "problems": [...]}}`."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from salesops.db.engine import is_lock_timeout
from salesops.errors import Busy, Conflict, SalesOpsError, ValidationFailed


def _type_name(exc: BaseException) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(exc).__name__).lower()


def error_body(
    kind: str, message: str, problems: list[dict[str, str]] | None = None
) -> dict[str, Any]:
    return {"error": {"type": kind, "message": message, "problems": problems or []}}


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


async def salesops_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SalesOpsError)
    if not _is_api(request):
        from salesops.web.errors import html_error

        return html_error(request, exc)
    problems = (
        [{"message": p.message, "location": p.location} for p in exc.problems]
        if isinstance(exc, ValidationFailed)
        else []
    )
    message = exc.message if isinstance(exc, ValidationFailed) else str(exc)
    headers = {}
    retry_after = getattr(exc, "retry_after", None)
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    if exc.http_status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse(
        error_body(_type_name(exc), message, problems), exc.http_status, headers=headers
    )


async def request_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problems = [
        {
            "message": str(err.get("msg", "invalid")),
            "location": ".".join(str(p) for p in err.get("loc", ()) if p != "body"),
        }
        for err in exc.errors()
    ]
    return JSONResponse(error_body("validation_failed", "the request is invalid", problems), 422)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if not _is_api(request) and exc.status_code == 404:
        from salesops.errors import NotFound
        from salesops.web.errors import html_error

        return html_error(request, NotFound("page not found"))
    kinds = {404: "not_found", 405: "method_not_allowed", 401: "not_authenticated"}
    return JSONResponse(
        error_body(kinds.get(exc.status_code, "http_error"), str(exc.detail)),
        exc.status_code,
        headers=getattr(exc, "headers", None),
    )


async def database_error(request: Request, exc: Exception) -> Response:
    """Database refusals that reach the boundary: a lock held too long is a 503 to retry,
    a value or reference the database refuses is the caller's 422/409, never a 500."""
    if isinstance(exc, OperationalError) and is_lock_timeout(exc):
        return await salesops_error(
            request, Busy("the database is busy with another write; try again in a moment")
        )
    if isinstance(exc, IntegrityError):
        reason = str(exc.orig).splitlines()[0] if exc.orig else "constraint violated"
        return await salesops_error(
            request, Conflict(f"the change conflicts with stored data: {reason}")
        )
    if isinstance(exc, DataError):
        reason = str(exc.orig).splitlines()[0] if exc.orig else "value out of range"
        return await salesops_error(
            request, ValidationFailed(f"a value cannot be stored: {reason}")
        )
    raise exc


async def overflow_error(request: Request, exc: Exception) -> Response:
    return await salesops_error(
        request, ValidationFailed("a number in the request is too large to be an id or a count")
    )


def install(app: FastAPI) -> None:
    """Map every salesops error (and FastAPI's own) to the one error shape."""
    app.add_exception_handler(SalesOpsError, salesops_error)
    app.add_exception_handler(OperationalError, database_error)
    app.add_exception_handler(IntegrityError, database_error)
    app.add_exception_handler(DataError, database_error)
    app.add_exception_handler(OverflowError, overflow_error)
    app.add_exception_handler(RequestValidationError, request_validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
