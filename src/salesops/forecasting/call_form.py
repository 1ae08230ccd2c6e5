"""Submit and adjust forecast calls on the Forecast calls page.

The form posts to the same service as `POST /api/v1/forecasts/calls` (`calls.submit_as`):
a rep calls their own numbers, a manager also an adjusted call for a team they manage, an
analyst nothing; every call is a new audited row (calls are never edited in place, so there is
no version to go stale: the latest call stands).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from salesops.api.deps import Principal
from salesops.forecasting import calls as calling
from salesops.forecasting.api import CallRequest
from salesops.forecasting.periods import Period
from salesops.models import Rep, Team
from salesops.web import forms
from salesops.web.deps import SessionDep

router = APIRouter(include_in_schema=False)
FIELDS = ("period", "team_id", "commit", "best_case", "pipeline", "note")


def _can_call(who: Principal) -> bool:
    return who.scope.own_rep_id is not None and forms.allowed(
        lambda: who.scope.require_record_write("submit forecast calls")
    )


def _values(sub: Any, period: Period, team_id: int | None) -> dict[str, str]:
    values = {"period": period.label, "team_id": "" if team_id is None else str(team_id)}
    if sub is not None:
        values |= {
            "commit": str(sub.commit_amount),
            "best_case": str(sub.best_case_amount),
            "pipeline": str(sub.pipeline_amount),
            "note": sub.note or "",
        }
    return values


def context(request: Request, session: Session, who: Principal, period: Period) -> dict[str, Any]:
    """What forecast_calls.html needs for the call form (nothing for a role that cannot call)."""
    if not _can_call(who):
        return {"can_call": False}
    assert who.scope.own_rep_id is not None
    rep = session.get(Rep, who.scope.own_rep_id)
    managed = sorted(calling.managed_teams(session, rep)) if rep is not None else []
    names = dict(session.execute(select(Team.id, Team.name)).tuples().all())
    options = [("", "my own deals")] + [(str(t), f"team {names.get(t, t)}") for t in managed]
    state = getattr(request.state, "call_form", None)
    if state is None:
        # After a team's call is saved the form stays on that team, with its standing call.
        raw = request.query_params.get("call_team", "")
        team_id = int(raw) if raw.isdigit() and int(raw) in managed else None
        standing = calling.standing_call(session, period, who.scope.own_rep_id, team_id)
        state = forms.FormState(_values(standing, period, team_id))
    return {
        "can_call": True,
        "call_form": state,
        "call_team_options": options,
        "call_saved": request.query_params.get("saved") == "call",
    }


@router.post("/forecast/calls")
async def submit(request: Request, session: SessionDep, who: forms.FormUser) -> Response:
    from salesops.forecasting.cli import parse_period
    from salesops.forecasting.web import calls_page

    who.scope.require_record_write("submit forecast calls")
    data = await forms.read(request)
    state = forms.FormState()
    body = forms.parse(CallRequest, data, state, fields=FIELDS)
    if isinstance(body, CallRequest):
        call = body
        forms.attempt(
            session,
            state,
            lambda: calling.submit_as(
                session,
                scope=who.scope,
                by=who.user,
                period=parse_period(call.period),
                commit=call.commit,
                best_case=call.best_case,
                pipeline=call.pipeline,
                team_id=call.team_id,
                note=call.note,
            ),
            fields=FIELDS,
        )
    if state.ok:
        team = data.get("team_id", "")
        return forms.done(
            f"/forecast/calls?period={data.get('period', '')}&saved=call"
            + (f"&call_team={team}" if team.isdigit() else "")
        )
    request.state.call_form = state
    response = calls_page(request, session, who)
    response.status_code = state.status
    return response
