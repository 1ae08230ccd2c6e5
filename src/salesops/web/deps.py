"""Who is looking at a dashboard page, and the context every page template needs."""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import Depends, Form, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from salesops import caching
from salesops.api.deps import Principal, SessionDep, optional_principal
from salesops.auth.scoping import Scope
from salesops.errors import PermissionDenied
from salesops.models import Account, Rep, Team, Territory
from salesops.web.errors import LoginRequired
from salesops.web.filters import Filters, period_choices, read_filters


def web_principal(
    principal: Annotated[Principal | None, Depends(optional_principal)],
) -> Principal:
    """The signed-in user of a page (by session cookie); otherwise off to the sign-in page."""
    if principal is None or principal.web_session is None:
        raise LoginRequired("sign in to see this page")
    return principal


WebUser = Annotated[Principal, Depends(web_principal)]


def check_csrf(who: WebUser, csrf_token: Annotated[str, Form()] = "") -> Principal:
    """A form post must carry the session's CSRF token."""
    assert who.web_session is not None
    if not secrets.compare_digest(csrf_token, who.web_session.csrf_token):
        raise PermissionDenied("the form has expired; reload the page and try again")
    return who


def filter_options(session: Session, scope: Scope) -> dict[str, list[Any]]:
    """The filter bar's teams, territories, segments and reps, kept per data version.

    Every page shows the bar; its four lists (one a DISTINCT over all accounts) only change
    with the data, so a render costs one data-version lookup while nothing changed.
    """
    bind = session.get_bind()
    version = (str(bind.engine.url), caching.data_version(session))

    def shared() -> dict[str, list[Any]]:
        return {
            "filter_teams": [
                tuple(row)
                for row in session.execute(select(Team.id, Team.name).order_by(Team.name))
            ],
            "filter_territories": [
                tuple(row)
                for row in session.execute(
                    select(Territory.id, Territory.name).order_by(Territory.name)
                )
            ],
            "filter_segments": [
                s
                for s in session.scalars(
                    select(Account.segment).distinct().order_by(Account.segment)
                )
                if s
            ],
        }

    def reps() -> list[Any]:
        query = select(Rep.id, Rep.name).where(scope.reps()).order_by(Rep.name)
        return [tuple(row) for row in session.execute(query)]

    options = dict(caching.figures.get_or_compute(("filter-bar", *version), shared))
    # A sales rep filters by nobody else; the others see the reps of their scope.
    options["filter_reps"] = (
        []
        if scope.role == "sales_rep"
        else caching.figures.get_or_compute(("filter-reps", *version, scope.rep_ids), reps)
    )
    return options


def page_context(
    request: Request, session: Session, who: Principal, *, filters: Filters | None = None
) -> dict[str, Any]:
    """What the base template needs: the user, their CSRF token, the filter bar's choices."""
    filters = filters or read_filters(request)
    return {
        "user": who.user,
        "role": who.user.role,
        "scope": who.scope,
        "csrf_token": who.web_session.csrf_token if who.web_session else "",
        "filters": filters,
        "periods": period_choices(),
        **filter_options(session, who.scope),
        "path": request.url.path,
    }


__all__ = ["SessionDep", "WebUser", "check_csrf", "filter_options", "page_context"]
