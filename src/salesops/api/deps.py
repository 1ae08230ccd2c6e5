"""Request dependencies: one database session per request, and who is calling."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from salesops.auth import service as auth
from salesops.auth.scoping import Scope, scope_for
from salesops.db.engine import WRITE_INTENT
from salesops.errors import PermissionDenied, SalesOpsError
from salesops.models import User, WebSession

SESSION_COOKIE = "salesops_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class NotAuthenticated(SalesOpsError):
    """No valid session cookie or bearer token came with the request."""

    http_status = 401
    exit_code = 5


F = TypeVar("F", bound=Callable[..., Any])


def computes_before_writing(endpoint: F) -> F:
    """Mark an endpoint that computes for long before it writes (a forecast run, a backtest):
    it must not hold SQLite's write lock while it computes, which would stall every writer."""
    endpoint.computes_before_writing = True  # type: ignore[attr-defined]
    return endpoint


def _takes_write_lock_first(request: Request) -> bool:
    if request.method in SAFE_METHODS:
        return False
    route = request.scope.get("route")
    endpoint = getattr(route, "endpoint", None)
    return not getattr(endpoint, "computes_before_writing", False)


def get_session(request: Request) -> Iterator[Session]:
    """A unit of work per request: committed when the endpoint succeeds, else rolled back."""
    session: Session = request.app.state.session_factory()
    owns = getattr(request.app.state, "owns_sessions", True)
    if owns and _takes_write_lock_first(request):
        # A write takes SQLite's write lock up front, waiting for it (see salesops.db.engine).
        session.connection(execution_options={WRITE_INTENT: True})  # type: ignore[misc]
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        # Tests lend the app their own rolled-back session; the lender closes it.
        if owns:
            session.close()


# Function scope: the commit runs before the response is sent, so a failed commit is an error
# reply rather than a success the database never saw.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


@dataclass(frozen=True)
class Principal:
    """The caller: their user, their scope, and the browser session when signed in by cookie."""

    user: User
    scope: Scope
    web_session: WebSession | None = None


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def optional_principal(request: Request, session: SessionDep) -> Principal | None:
    """The caller if a bearer token or session cookie identifies one."""
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    principal: Principal | None = None
    token = _bearer(request)
    if token is not None:
        user = auth.resolve_token(session, token)
        if user is None:
            raise NotAuthenticated("invalid or revoked API token")
        principal = Principal(user, scope_for(session, user))
    else:
        cookie = request.cookies.get(SESSION_COOKIE)
        found = auth.resolve_session(session, cookie) if cookie else None
        if found is not None:
            record, user = found
            principal = Principal(user, scope_for(session, user), record)
    request.state.principal = principal
    return principal


def current_principal(
    request: Request, principal: Annotated[Principal | None, Depends(optional_principal)]
) -> Principal:
    """The caller; a request without credentials is refused with 401."""
    if principal is None:
        raise NotAuthenticated("sign in or send an API token (Authorization: Bearer ...)")
    if principal.web_session is not None and request.method not in SAFE_METHODS:
        # A cookie rides along with cross-site requests; the CSRF token does not.
        sent = request.headers.get(CSRF_HEADER, "")
        if not secrets.compare_digest(sent, principal.web_session.csrf_token):
            raise PermissionDenied(f"missing or wrong {CSRF_HEADER} header")
    return principal


CurrentUser = Annotated[Principal, Depends(current_principal)]
