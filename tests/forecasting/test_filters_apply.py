"""Every filter a forecasting page shows changes what it shows; the ones it cannot apply are
not shown (issue 18, item 7), in the style of tests/web/test_filters_apply.py.

The organisation is tests/orgchart.py (seven open deals closing 2025-03-31: Ann 1,000 + 2,000,
Bob 1,000, Dan 1,000, Mia 1,000, Cat 1,000 + 2,000) with the stage-weighted run of
tests/forecasting/test_scoping.py (5% of each deal) and quotas for Ann, Dan and Cat.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from fastapi import FastAPI
from sqlalchemy.orm import Session

from salesops.forecasting import calls
from salesops.forecasting.periods import period_of
from tests.appsupport import app, org, session
from tests.forecasting.test_scoping import _run
from tests.orgchart import Org
from tests.web.test_filters_apply import filters_on, shown
from tests.web.test_pages import sign_in

__all__ = ["app", "org", "session"]

Q1 = {"period": "2025-Q1", "team": "", "territory": "", "segment": "", "rep": ""}


def _call(session: Session, org: Org, who: str, quarter: date, commit: int) -> None:
    calls.submit_call(
        session,
        rep=org.reps[who],
        period=period_of(quarter, "quarter"),
        commit=Decimal(commit),
        best_case=Decimal(commit * 2),
        pipeline=Decimal(commit * 3),
    )


def test_every_filter_a_forecasting_page_shows_changes_what_it_shows(
    app: FastAPI, session: Session, org: Org
) -> None:
    _run(session, org)
    _call(session, org, "ann", date(2025, 1, 1), 1_100)
    _call(session, org, "cat", date(2025, 1, 1), 1_300)
    _call(session, org, "dan", date(2025, 4, 1), 1_700)
    session.commit()
    varied = {
        "period": "2025-Q2",
        "team": str(org.teams["east"].id),
        "rep": str(org.reps["bob"].id),
    }
    client = sign_in(app, session, org, "director")
    expected = {
        "/forecast": ["team", "rep"],
        "/forecast/accuracy": [],
        "/forecast/calls": ["period", "team"],
        "/forecast/risk": ["team", "rep"],
    }
    for path, names in expected.items():
        base = client.get(path, params=Q1)
        assert base.status_code == 200, (path, base.text[:300])
        assert filters_on(base.text) == names, path
        for name in names:
            changed = client.get(path, params=Q1 | {name: varied[name]})
            assert changed.status_code == 200, (path, name)
            assert shown(changed.text) != shown(base.text), (path, name)


def test_the_forecast_page_shows_the_chosen_team_or_the_chosen_reps_own_line(
    app: FastAPI, session: Session, org: Org
) -> None:
    _run(session, org)
    client = sign_in(app, session, org, "director")
    company = client.get("/forecast", params=Q1).text
    assert "$20.0K" in company  # the company's quota
    bob = client.get("/forecast", params=Q1 | {"rep": org.reps["bob"].id}).text
    assert "Forecast of Bob&#39;s deals" in bob
    table = bob.split('data-testid="forecast-table"')[1].split("</table>")[0]
    assert "$50" in table  # 5% of Bob's one deal of 1,000
    assert "no quota set" in table
    assert "$20.0K" not in bob
    # The period selector is hidden: the subtitle names what the page covers instead.
    assert "the periods of the latest forecast run" in bob
    assert 'data-testid="csv-forecast-chart"' in bob  # the rep's chart downloads too
    # A manager may choose only reps she sees: Cat is Will's.
    mia = sign_in(app, session, org, "mia")
    assert filters_on(mia.get("/forecast", params=Q1).text) == ["team", "rep"]
    cat = mia.get("/forecast", params=Q1 | {"rep": org.reps["cat"].id}).text
    assert 'data-testid="forecast-not-visible"' in cat
    assert "$150" not in cat  # 5% of Cat's 3,000
    # A rep has their own line and nothing to choose.
    assert filters_on(sign_in(app, session, org, "ann").get("/forecast", params=Q1).text) == []


def test_the_calls_page_shows_the_chosen_teams_roll_up_and_its_callers_scores(
    app: FastAPI, session: Session, org: Org
) -> None:
    _call(session, org, "ann", date(2025, 1, 1), 1_100)
    _call(session, org, "dan", date(2025, 1, 1), 1_700)
    _call(session, org, "cat", date(2025, 1, 1), 1_300)
    session.commit()
    client = sign_in(app, session, org, "director")
    everyone = client.get("/forecast/calls", params=Q1).text
    assert "$1,300" in everyone or "$1.3K" in everyone  # Cat's commit
    east = client.get("/forecast/calls", params=Q1 | {"team": org.teams["east"].id}).text
    rollup = east.split('data-testid="calls-table"')[1].split("</table>")[0]
    assert "East" in rollup
    assert "Cat" not in rollup  # West's rep
    # The scores table keeps only East's callers (Dan; Q1 2025 has ended by now).
    scores = east.split("Call accuracy")[1]
    assert "Cat" not in scores
    assert "Dan" in scores
