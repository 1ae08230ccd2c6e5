"""Forecast calls from the dashboard: a rep's own call, a manager's adjusted team call, field
messages, the audit entry, and no form for an analyst (the service refuses them too)."""

from __future__ import annotations

import re
from decimal import Decimal

from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session

from salesops.models import AuditEntry, ForecastSubmission
from tests.appsupport import app, org, session
from tests.orgchart import Org
from tests.web.test_pages import _form_token, sign_in

__all__ = ["app", "org", "session"]
PAGE = "/forecast/calls?period=2025-Q1"


def test_a_rep_submits_their_call_and_sees_it_in_the_roll_up(
    app: FastAPI, session: Session, org: Org
) -> None:
    ann = sign_in(app, session, org, "ann")
    page = ann.get(PAGE).text
    assert 'data-testid="call-form"' in page
    assert 'name="team_id"' not in page  # a rep calls only their own numbers
    form = {
        "csrf_token": _form_token(page),
        "period": "2025-Q1",
        "commit": "1000",
        "best_case": "1500",
        "pipeline": "3000",
        "note": "two deals in legal",
    }
    reply = ann.post("/forecast/calls", data=form, follow_redirects=False)
    assert reply.status_code == 303, reply.text
    sub = session.scalars(select(ForecastSubmission)).one()
    assert (sub.rep_id, sub.team_id, sub.commit_amount) == (org.reps["ann"].id, None, 1000)
    assert sub.submitted_by_id == org.users["ann"].id
    (entry,) = session.scalars(select(AuditEntry).where(AuditEntry.entity == "forecast_submission"))
    assert entry.user_id == org.users["ann"].id
    assert entry.changes["commit"] == {"old": None, "new": "1000.00"}
    after = ann.get(reply.headers["location"]).text
    assert 'data-testid="call-saved"' in after
    assert 'value="1000.00"' in after  # the form starts from the standing call


def test_a_call_that_does_not_add_up_is_explained_next_to_its_fields(
    app: FastAPI, session: Session, org: Org
) -> None:
    ann = sign_in(app, session, org, "ann")
    token = _form_token(ann.get(PAGE).text)
    reply = ann.post(
        "/forecast/calls",
        data={
            "csrf_token": token,
            "period": "2025-Q1",
            "commit": "5000",
            "best_case": "100",
            "pipeline": "x",
        },
    )
    assert reply.status_code == 422
    assert re.search(r'data-testid="error-pipeline">enter a number', reply.text)
    reply = ann.post(
        "/forecast/calls",
        data={
            "csrf_token": token,
            "period": "2025-Q1",
            "commit": "5000",
            "best_case": "100",
            "pipeline": "200",
        },
    )
    assert reply.status_code == 422
    assert re.search(r'data-testid="error-commit">commit 5000 exceeds best case 100', reply.text)
    assert session.scalars(select(ForecastSubmission)).first() is None


def test_a_manager_adjusts_their_teams_call_and_not_another_teams(
    app: FastAPI, session: Session, org: Org
) -> None:
    mia = sign_in(app, session, org, "mia")
    page = mia.get(PAGE).text
    east, west = org.teams["east"].id, org.teams["west"].id
    form_html = page[page.index('data-testid="call-form"') :]
    form_html = form_html[: form_html.index("</form>")]
    assert f'<option value="{east}"' in form_html
    assert f'<option value="{west}"' not in form_html
    form = {
        "csrf_token": _form_token(page),
        "period": "2025-Q1",
        "team_id": str(east),
        "commit": "9000",
        "best_case": "12000",
        "pipeline": "20000",
    }
    saved = mia.post("/forecast/calls", data=form, follow_redirects=False)
    assert saved.status_code == 303
    again = mia.get(saved.headers["location"]).text
    assert f'<option value="{east}" selected' in again  # the form stays on the team's call
    assert 'value="12000.00"' in again
    sub = session.scalars(select(ForecastSubmission)).one()
    assert (sub.team_id, sub.best_case_amount) == (east, Decimal("12000.00"))
    assert "adjusted" in mia.get(PAGE).text
    refused = mia.post("/forecast/calls", data=form | {"team_id": str(west)})
    assert refused.status_code == 403
    assert "does not manage team" in refused.text


def test_an_analyst_gets_no_call_form_and_cannot_post_one(
    app: FastAPI, session: Session, org: Org
) -> None:
    analyst = sign_in(app, session, org, "analyst")
    page = analyst.get(PAGE).text
    assert 'data-testid="call-form"' not in page
    refused = analyst.post(
        "/forecast/calls",
        data={
            "csrf_token": _form_token(page),
            "period": "2025-Q1",
            "commit": "1",
            "best_case": "1",
            "pipeline": "1",
        },
    )
    assert refused.status_code == 403
    assert session.scalars(select(ForecastSubmission)).first() is None
