"""The forecasting REST API through the real app: who may run, see and call what."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from tests.appsupport import app, client_as, org, session
from tests.orgchart import Org

__all__ = ["app", "client_as", "org", "session"]

Client = Callable[[str], TestClient]
RUN = {"as_of": "2025-01-07", "methods": ["stage_weighted"], "horizon": 1, "sims": 2000}


def test_a_director_runs_a_forecast_and_a_rep_may_not(client_as: Client, org: Org) -> None:
    reply = client_as("director").post("/api/v1/forecasts/runs", json=RUN)
    assert reply.status_code == 201, reply.text
    [run] = reply.json()
    assert run["method"] == "stage_weighted"
    # A day means the end of that day, as in the metrics.
    assert run["as_of"].startswith("2025-01-07T23:59:59.999999")
    company = [ln for ln in run["lines"] if ln["team_id"] is None]
    # Seven open Prospecting deals (5%) worth 9,000 in all, closing 2025-03-31.
    assert float(company[0]["expected"]) == pytest.approx(450, rel=0.1)
    assert client_as("ann").post("/api/v1/forecasts/runs", json=RUN).status_code == 403
    listed = client_as("analyst").get("/api/v1/forecasts/runs").json()
    assert [r["id"] for r in listed] == [run["id"]]


def test_predictions_and_risky_deals_are_scoped_to_the_callers_deals(
    client_as: Client, org: Org
) -> None:
    [run] = client_as("director").post("/api/v1/forecasts/runs", json=RUN).json()
    url = f"/api/v1/forecasts/runs/{run['id']}/predictions"
    everyone = client_as("director").get(url).json()
    assert {p["opportunity_id"] for p in everyone} == org.all_opp_ids
    anns = client_as("ann").get(url).json()
    assert {p["opportunity_id"] for p in anns} == org.opp_ids("ann")
    reply = client_as("ann").get("/api/v1/forecasts/risk")
    assert reply.status_code == 200, reply.text
    risk = reply.json()
    assert risk["run"]["id"] == run["id"]
    assert {d["opportunity_id"] for d in risk["deals"]} <= org.opp_ids("ann")
    assert risk["deals"]  # every deal is at 5%: likely to be lost


def test_calls_are_submitted_by_reps_adjusted_by_managers_and_rolled_up(
    client_as: Client, org: Org
) -> None:
    call = {"period": "2025-Q1", "commit": "1000", "best_case": "1500", "pipeline": "3000"}
    assert client_as("ann").post("/api/v1/forecasts/calls", json=call).status_code == 201
    team_call = {
        **call,
        "commit": "5000",
        "best_case": "6000",
        "pipeline": "9000",
        "team_id": org.teams["east"].id,
    }
    assert client_as("mia").post("/api/v1/forecasts/calls", json=team_call).status_code == 201
    assert client_as("cat").post("/api/v1/forecasts/calls", json=team_call).status_code == 403
    bad = client_as("ann").post("/api/v1/forecasts/calls", json={**call, "commit": "2000"})
    assert bad.status_code == 422

    tree = client_as("director").get("/api/v1/forecasts/calls", params={"period": "2025-Q1"})
    by_team = {t["team"]: t for t in tree.json()}
    assert by_team["East"]["commit"] == "5000.00"
    assert by_team["East"]["adjusted"] is True
    assert by_team["West"]["commit"] == "0.00"
    mine = client_as("mia").get("/api/v1/forecasts/calls", params={"period": "2025-Q1"}).json()
    assert [t["team"] for t in mine] == ["East"]
    own = client_as("ann").get("/api/v1/forecasts/calls", params={"period": "2025-Q1"}).json()
    assert [c["commit"] for c in own] == ["1000.00"]


def test_ops_backtest_through_the_api_and_a_read_only_analyst_may_not(
    client_as: Client, org: Org
) -> None:
    body = {"methods": ["stage_weighted"], "from": "2024-10-01", "to": "2025-01-01", "sims": 200}
    refused = client_as("analyst").post("/api/v1/forecasts/backtest", json=body)
    assert refused.status_code == 403, refused.text
    assert "cannot run backtests" in refused.json()["error"]["message"]
    reply = client_as("ops_rep").post(
        "/api/v1/forecasts/backtest",
        json={"methods": ["stage_weighted"], "from": "2024-10-01", "to": "2025-01-01", "sims": 200},
    )
    assert reply.status_code == 200, reply.text
    [score] = reply.json()
    assert score["method"] == "stage_weighted"
    assert [p["period"] for p in score["periods"]] == ["2024-Q4", "2025-Q1"]
    future = client_as("ops_rep").post(
        "/api/v1/forecasts/backtest",
        json={"methods": ["stage_weighted"], "from": "2031-01-01", "to": "2031-04-01", "sims": 200},
    )
    assert future.status_code == 422, future.text
    assert "a backtest scores periods that have ended" in future.text
