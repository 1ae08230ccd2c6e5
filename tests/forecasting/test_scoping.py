"""Forecast runs, pages and calls show each caller only their part: a rep their own deals,
a manager their teams, the company only to the roles that see it (issue 18, item 1).

The organisation is tests/orgchart.py: seven open Prospecting deals (5%) closing 2025-03-31,
Ann 1,000 + 2,000, Bob 1,000, Dan 1,000 (East SMB, under Mia's East), Mia 1,000, Cat 1,000 +
2,000 (reports to Will, who has none): 9,000 in all. A stage-weighted run as of 2025-01-07
therefore expects 5% of each.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from salesops.db.types import utc_now
from salesops.forecasting import calls, service
from salesops.forecasting.engine import Options
from salesops.forecasting.periods import period_of
from salesops.models import ForecastRun, Quota, Rep
from salesops.web.templating import money
from tests.appsupport import app, client_as, org, session
from tests.orgchart import Org
from tests.web.test_pages import sign_in

__all__ = ["app", "client_as", "org", "session"]

Client = Callable[[str], TestClient]


def _quota(session: Session, rep: Rep, amount: int) -> None:
    session.add(
        Quota(
            rep_id=rep.id,
            period_start=date(2025, 1, 1),
            period_end=date(2025, 3, 31),
            amount=Decimal(amount),
        )
    )


def _run(session: Session, org: Org) -> ForecastRun:
    _quota(session, org.reps["ann"], 5_000)
    _quota(session, org.reps["dan"], 8_000)
    _quota(session, org.reps["cat"], 7_000)
    [run] = service.run_forecast(
        session,
        as_of=datetime(2025, 1, 7, tzinfo=UTC),
        methods=["stage_weighted"],
        options=Options(grain="quarter", horizon=1, sims=300),
    )
    session.commit()
    return run


def _team_ids(view: dict[str, object]) -> set[int | None]:
    return {ln["team_id"] for ln in view["lines"]}  # type: ignore[attr-defined,index]


def test_a_run_read_by_a_rep_holds_only_the_line_of_their_own_deals(
    client_as: Client, session: Session, org: Org
) -> None:
    run = _run(session, org)
    reply = client_as("ann").get(f"/api/v1/forecasts/runs/{run.id}")
    assert reply.status_code == 200, reply.text
    view = reply.json()
    # No company line, no team line: Ann sees neither.
    assert view["lines"] == []
    [own] = view["own_lines"]
    # 5% of Ann's 1,000 + 2,000; nothing booked before the run.
    assert own["period_start"] == "2025-01-01"
    assert own["from_pipeline"] == "150.00"
    assert own["booked_before_as_of"] == "0.00"
    assert own["expected"] == "150.00"
    assert own["open_deals"] == 2
    assert "per-deal predictions" in view["own_basis"]
    listed = client_as("ann").get("/api/v1/forecasts/runs").json()
    assert [r["id"] for r in listed] == [run.id]
    assert listed[0]["lines"] == []


def test_a_manager_reads_their_teams_lines_and_never_the_company_line(
    client_as: Client, session: Session, org: Org
) -> None:
    run = _run(session, org)
    mine = client_as("mia").get(f"/api/v1/forecasts/runs/{run.id}").json()
    east, smb = org.teams["east"].id, org.teams["smb"].id
    # Dan (East SMB, under East) is the only team member with an open deal: both teams get a
    # line, the same ones the director reads.
    assert _team_ids(mine) == {east, smb}
    everything = client_as("director").get(f"/api/v1/forecasts/runs/{run.id}").json()
    assert mine["lines"] == [ln for ln in everything["lines"] if ln["team_id"] in (east, smb)]
    # Her own deal line: Mia, Ann, Bob and Dan's 6,000 at 5%.
    assert [ln["expected"] for ln in mine["own_lines"]] == ["300.00"]
    wills = client_as("will").get(f"/api/v1/forecasts/runs/{run.id}").json()
    assert wills["lines"] == []  # West has no member with a deal: no team line
    assert [ln["expected"] for ln in wills["own_lines"]] == ["150.00"]  # Cat's 3,000 (Will: none)


@pytest.mark.parametrize("who", ["analyst", "ops_rep", "director", "admin"])
def test_the_roles_that_see_the_company_read_every_line(
    client_as: Client, session: Session, org: Org, who: str
) -> None:
    run = _run(session, org)
    view = client_as(who).get(f"/api/v1/forecasts/runs/{run.id}").json()
    assert _team_ids(view) == {None, org.teams["east"].id, org.teams["smb"].id}
    assert view["lines"] == service.run_summary(run)["lines"]
    assert "own_lines" not in view


def test_risk_gives_company_figures_only_to_the_roles_that_see_the_company(
    client_as: Client, session: Session, org: Org
) -> None:
    _run(session, org)
    anns = client_as("ann").get("/api/v1/forecasts/risk").json()
    assert anns["shortfalls"] == []
    assert anns["coverage"] == []
    mias = client_as("mia").get("/api/v1/forecasts/risk").json()
    east, smb = org.teams["east"].id, org.teams["smb"].id
    assert {c["team_id"] for c in mias["coverage"]} == {east, smb}
    # A manager's periods against target are her teams': East's is Dan's 8,000 (East SMB).
    by_team = {s["team_id"]: s for s in mias["shortfalls"]}
    assert set(by_team) == {east, smb}
    assert by_team[east]["target"] == "8000.00"
    assert by_team[east]["team"] == "East"
    director = client_as("director").get("/api/v1/forecasts/risk").json()
    [short] = director["shortfalls"]
    assert short["team_id"] is None
    assert short["target"] == "20000.00"  # Ann 5,000 + Dan 8,000 + Cat 7,000


def _company_expected(run: ForecastRun) -> str:
    """The company line's expected value as the page prints it (its P50 is $0 here)."""
    [line] = [ln for ln in run.lines if ln.team_id is None]
    shown = money(float(line.expected))
    assert shown not in ("$0", "$150", "$50")  # tells the company's figure apart
    return shown


def _table(page: str) -> str:
    return page.split('data-testid="forecast-table"')[1].split("</table>")[0]


def test_a_reps_forecast_page_shows_their_own_deals_not_the_company(
    app: FastAPI, session: Session, org: Org
) -> None:
    expected = _company_expected(_run(session, org))
    page = sign_in(app, session, org, "ann").get("/forecast?period=2025-Q1")
    assert page.status_code == 200, page.text
    table = _table(page.text)
    assert "$5.0K" in table  # her quota
    assert "$150" in table  # 5% of her 3,000
    # The company's quota (20,000) and forecast are nowhere on the page.
    assert "$20.0K" not in page.text
    assert expected not in page.text
    assert "Forecast of your deals" in page.text
    assert "per-deal predictions" in page.text  # the page says how the line is made
    # A team in the saved filter does not open a team's (or the company's) figures to a rep.
    other = sign_in(app, session, org, "ann").get(f"/forecast?team={org.teams['west'].id}")
    assert "$20.0K" not in other.text
    assert "$150" in _table(other.text)


def test_a_managers_forecast_page_shows_their_team_and_refuses_other_teams(
    app: FastAPI, session: Session, org: Org
) -> None:
    expected = _company_expected(_run(session, org))
    mia = sign_in(app, session, org, "mia")
    page = mia.get("/forecast?period=2025-Q1")
    assert page.status_code == 200, page.text
    table = _table(page.text)
    assert "East" in page.text
    assert "$8.0K" in table  # East's target: Dan's quota (East SMB is under East)
    assert "$20.0K" not in page.text
    assert expected not in page.text
    # Her tree: East, and East SMB under it, each with its line and target.
    teams = page.text.split('data-testid="forecast-teams"')[1].split("</table>")[0]
    rows = teams.split("<tbody>")[1].split("</tr>")
    assert ">East</a>" in rows[0]
    assert "$8.0K" in rows[0]
    assert ">East SMB</a>" in rows[1]
    assert "$8.0K" in rows[1]  # Dan's quota is East SMB's too
    assert "West" not in teams
    west = mia.get(f"/forecast?team={org.teams['west'].id}")
    assert 'data-testid="forecast-not-visible"' in west.text
    assert "$7.0K" not in west.text
    assert "$20.0K" not in west.text
    director = sign_in(app, session, org, "director").get("/forecast?period=2025-Q1")
    assert "$20.0K" in _table(director.text)
    assert expected in _table(director.text)


def test_backtest_accuracy_is_company_figures_shown_only_to_the_roles_that_see_the_company(
    app: FastAPI, session: Session, org: Org
) -> None:
    service.run_backtest(
        session,
        start=date(2024, 10, 1),
        end=date(2025, 1, 1),
        methods=["stage_weighted"],
        options=Options(grain="quarter", horizon=1, sims=200),
        save=True,
    )
    session.commit()
    for who in ("ann", "mia"):
        page = sign_in(app, session, org, who).get("/forecast/accuracy")
        assert page.status_code == 200
        assert 'data-testid="accuracy-hidden"' in page.text
        assert "stage_weighted" not in page.text
    page = sign_in(app, session, org, "analyst").get("/forecast/accuracy")
    assert "stage_weighted" in page.text


def test_call_accuracy_scores_only_ended_periods_names_the_callers_and_stays_in_scope(
    client_as: Client, org: Org
) -> None:
    today = utc_now().date()
    current = period_of(today, "quarter")
    for period in ("2025-Q1", current.label):
        call = {"period": period, "commit": "100", "best_case": "150", "pipeline": "300"}
        for who in ("ann", "cat"):
            assert client_as(who).post("/api/v1/forecasts/calls", json=call).status_code == 201
    params = {"period": ["2025-Q1", current.label]}
    mine = client_as("mia").get("/api/v1/forecasts/calls/accuracy", params=params).json()
    # Only the ended quarter is scored; Cat (Will's report) is outside Mia's scope.
    assert [(c["period"], c["rep"]) for c in mine["calls"]] == [("2025-Q1", "Ann")]
    assert [s["rep"] for s in mine["summary"]] == ["Ann"]
    [open_one] = mine["not_scored"]
    assert open_one["period"] == current.label
    assert "has not ended" in open_one["reason"]
    everyone = client_as("director").get("/api/v1/forecasts/calls/accuracy", params=params)
    assert {c["rep"] for c in everyone.json()["calls"]} == {"Ann", "Cat"}


def test_the_calls_page_says_a_period_still_running_is_not_scored(
    app: FastAPI, session: Session, org: Org
) -> None:
    current = period_of(utc_now().date(), "quarter")
    calls.submit_call(
        session,
        rep=org.reps["ann"],
        period=current,
        commit=Decimal(100),
        best_case=Decimal(150),
        pipeline=Decimal(300),
    )
    session.commit()
    page = sign_in(app, session, org, "director").get(f"/forecast/calls?period={current.label}")
    assert page.status_code == 200, page.text
    accuracy = page.text.split("Call accuracy")[1]
    assert f"Not scored yet: {current.label} has not ended" in accuracy
    assert "$100" not in accuracy  # the call is in the roll-up, not scored
