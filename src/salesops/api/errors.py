"""One error shape for the whole API: `{"error": {"type", "message", "problems": [...]}}`."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from salesops.errors import SalesOpsError, ValidationFailed


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


def install(app: FastAPI) -> None:
    """Map every salesops error (and FastAPI's own) to the one error shape."""
    app.add_exception_handler(SalesOpsError, salesops_error)
    app.add_exception_handler(RequestValidationError, request_validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
