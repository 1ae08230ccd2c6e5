"""Forecast dashboard pages through the real app, signed in, scoped to the caller."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal

from fastapi import FastAPI
from sqlalchemy.orm import Session

from salesops.forecasting import calls, service
from salesops.forecasting.engine import Options
from salesops.forecasting.periods import period_of
from salesops.models import Quota, Rep
from tests.appsupport import app, org, session
from tests.orgchart import Org
from tests.web.test_pages import sign_in

__all__ = ["app", "org", "session"]


def add_q1_quota(session: Session, rep: Rep, amount: int) -> None:
    session.add(
        Quota(
            rep_id=rep.id,
            period_start=date(2025, 1, 1),
            period_end=date(2025, 3, 31),
            amount=Decimal(amount),
        )
    )


def prepare(session: Session, org: Org) -> None:
    add_q1_quota(session, org.reps["ann"], 5000)
    service.run_forecast(
        session,
        as_of=datetime(2025, 1, 7, tzinfo=UTC),
        methods=["stage_weighted"],
        options=Options(grain="quarter", horizon=1, sims=300),
    )
    service.run_backtest(
        session,
        start=date(2024, 10, 1),
        end=date(2025, 1, 1),
        methods=["stage_weighted"],
        options=Options(grain="quarter", horizon=1, sims=200),
        save=True,
    )
    calls.submit_call(
        session,
        rep=org.reps["ann"],
        period=period_of(date(2025, 1, 1), "quarter"),
        commit=Decimal(1000),
        best_case=Decimal(2000),
        pipeline=Decimal(3000),
    )
    session.commit()


def test_the_forecast_pages_render_with_their_figures(
    app: FastAPI, session: Session, org: Org
) -> None:
    prepare(session, org)
    director = sign_in(app, session, org, "director")
    page = director.get("/forecast?period=2025-Q1")
    assert page.status_code == 200, page.text
    assert 'data-testid="forecast-chart"' in page.text
    assert "$5.0K" in page.text  # the quarter's quota, from Ann's quota row
    assert "Forecast accuracy" in page.text  # in the sidebar
    accuracy = director.get("/forecast/accuracy")
    assert "stage_weighted" in accuracy.text
    assert 'data-testid="accuracy-chart"' in accuracy.text
    # Coverage is read beside the interval's width and a score of the whole distribution.
    assert "Interval width" in accuracy.text
    assert "Quantile loss" in accuracy.text
    calls_page = director.get("/forecast/calls?period=2025-Q1")
    assert "Ann" in calls_page.text
    assert "$1.0K" in calls_page.text
    risk = director.get("/forecast/risk")
    assert risk.status_code == 200
    assert "cat deal 1" in risk.text


def test_a_rep_sees_only_their_own_deals_at_risk(app: FastAPI, session: Session, org: Org) -> None:
    prepare(session, org)
    ann = sign_in(app, session, org, "ann")
    risk = ann.get("/forecast/risk")
    assert risk.status_code == 200
    assert "ann deal 1" in risk.text
    assert "cat deal 1" not in risk.text
    assert "bob deal 1" not in risk.text


def test_the_forecast_page_shows_a_teams_chance_of_quota_and_periods_without_one(
    app: FastAPI, session: Session, org: Org
) -> None:
    prepare(session, org)
    # Dan is in East SMB, under East: his quota counts towards East's target.
    add_q1_quota(session, org.reps["dan"], 8000)
    service.run_forecast(
        session,
        as_of=datetime(2025, 1, 7, tzinfo=UTC),
        methods=["stage_weighted"],
        options=Options(grain="quarter", horizon=2, sims=300),
    )
    session.commit()
    director = sign_in(app, session, org, "director")
    team = org.teams["east"]
    page = director.get(f"/forecast?period=2025-Q1&team={team.id}")
    assert page.status_code == 200, page.text
    rows = page.text.split("<tbody>")[1].split("</tbody>")[0].split("</tr>")
    first, second = rows[0], rows[1]
    assert "2025-Q1" in first
    assert "$8.0K" in first
    assert first.rstrip().endswith("%</td>")  # a chance of reaching it, not "–"
    assert "2025-Q2" in second
    assert "no quota set" in second


def test_the_sidebar_marks_only_the_page_shown(app: FastAPI, session: Session, org: Org) -> None:
    director = sign_in(app, session, org, "director")
    for path, label in (
        ("/forecast/accuracy", "Forecast accuracy"),
        ("/forecast", "Forecast"),
        ("/forecast/risk", "Deals at risk"),
    ):
        page = director.get(path)
        assert page.status_code == 200, page.text
        active = re.findall(r'class="active">([^<]+)</a>', page.text)
        assert active == [label], path
