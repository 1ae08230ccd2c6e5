"""One mechanism for every dashboard form that writes: CSRF, parsing with messages next to each
field, optimistic concurrency, and the services' own permission checks and audit.

A write route takes `who: FormUser` (the signed-in user whose CSRF token matched), reads the
posted fields with `await forms.read(request)`, parses them with the API's own Pydantic model
(`forms.parse`), and runs one service call inside `forms.attempt`. The service checks the
permission and writes the audit entry, exactly as for the API; `attempt` turns its errors into
a `FormState` the page renders (field messages, a form message, or "someone else changed this
record") after rolling the request's transaction back. See docs/web.md, "Forms".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from salesops.api.deps import Principal
from salesops.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    SalesOpsError,
    StaleRecord,
    ValidationFailed,
)
from salesops.web.deps import check_csrf

T = TypeVar("T")
FormUser = Annotated[Principal, Depends(check_csrf)]

# HTTP status of a page shown again because its form was refused.
INVALID = 422
STALE = 409


@dataclass
class FormState:
    """What a form shows: the values (as typed, or the record's), and what was wrong."""

    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    message: str | None = None
    # Set when the record changed since the form was shown: `values` then hold the record's
    # new values and `mine` what the user had typed (shown so they can apply it again).
    stale: bool = False
    mine: dict[str, str] = field(default_factory=dict)
    status: int = 200

    @property
    def ok(self) -> bool:
        return not self.errors and self.message is None and not self.stale

    def value(self, name: str, default: object = "") -> str:
        return self.values.get(name, "" if default is None else str(default))

    def error(self, name: str) -> str | None:
        messages = self.errors.get(name)
        return "; ".join(messages) if messages else None

    def add(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)
        self.status = INVALID


async def read(request: Request) -> dict[str, str]:
    """The posted text fields (files are read with `files`), without the CSRF token."""
    data = await request.form()
    return {
        key: value.strip()
        for key, value in data.multi_items()
        if isinstance(value, str) and key != "csrf_token"
    }


async def files(request: Request, name: str) -> list[UploadFile]:
    """The files posted in field `name` (an empty file input sends one nameless part)."""
    data = await request.form()
    return [f for f in data.getlist(name) if isinstance(f, UploadFile) and f.filename]


def _location(loc: Iterable[object]) -> str:
    parts = [str(p) for p in loc if p != "body"]
    return parts[0] if parts else ""


def _friendly(error: Mapping[str, Any]) -> str:
    kind = str(error.get("type", ""))
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return "required"
    if kind in {"decimal_parsing", "float_parsing", "int_parsing"}:
        return "enter a number"
    if kind.startswith("date"):
        return "enter a date (YYYY-MM-DD)"
    if kind in {"greater_than_equal", "greater_than"}:
        return f"must be at least {ctx.get('ge', ctx.get('gt'))}"
    if kind in {"less_than_equal", "less_than"}:
        return f"must be at most {ctx.get('le', ctx.get('lt'))}"
    if kind == "string_too_long":
        return f"at most {ctx.get('max_length')} characters"
    return str(error.get("msg", "invalid"))


def parse(
    model: type[BaseModel], data: Mapping[str, str], state: FormState, *, fields: Iterable[str]
) -> BaseModel | None:
    """Validate `fields` of `data` with `model` (the API's request model); an empty field is
    left out, as if not sent. Problems go next to their field in `state`."""
    state.values.update({name: data.get(name, "") for name in fields})
    given = {name: data[name] for name in fields if data.get(name, "") != ""}
    try:
        return model.model_validate(given)
    except ValidationError as exc:
        for error in exc.errors():
            state.add(_location(error["loc"]) or "form", _friendly(error))
        return None


def attempt(
    session: Session,
    state: FormState,
    action: Callable[[], T],
    *,
    fields: Iterable[str] = (),
    reload: Callable[[], Mapping[str, str]] | None = None,
) -> T | None:
    """Run one service call for the form; on a refusal roll the request back and say why.

    A ValidationFailed problem whose location is one of `fields` is shown next to that field;
    the rest become the form's message. A stale write shows the record's new values, from
    `reload`, called after the rollback.
    """
    known = set(fields) | set(state.values)
    try:
        result = action()
        session.flush()
        return result
    except ValidationFailed as exc:
        session.rollback()
        general = []
        for problem in exc.problems:
            if problem.location in known:
                state.add(problem.location, problem.message)
            else:
                general.append(str(problem))
        if general or not exc.problems:
            state.message = f"{exc.message}: {'; '.join(general)}" if general else exc.message
        state.status = INVALID
    except StaleRecord as exc:
        session.rollback()
        state.stale, state.status = True, STALE
        state.message = str(exc)
        if reload is not None:
            state.mine = dict(state.values)
            state.values = dict(reload())
    except (PermissionDenied, NotFound, Conflict) as exc:
        session.rollback()
        state.message, state.status = str(exc), exc.http_status
    return None


def done(url: str) -> RedirectResponse:
    """After a successful write: back to the page (post, redirect, get)."""
    return RedirectResponse(url, status_code=303)


def allowed(check: Callable[[], None]) -> bool:
    """Whether a permission check of a service passes (to show or hide write controls)."""
    try:
        check()
    except SalesOpsError:
        return False
    return True


__all__ = [
    "FormState",
    "FormUser",
    "allowed",
    "attempt",
    "done",
    "files",
    "parse",
    "read",
]
