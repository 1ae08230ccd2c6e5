"""Metrics through the API count only what the caller may see (figures checked by hand)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from salesops.metrics import compare
from tests.metrics.test_compare_to_date import won_deals
from tests.orgchart import Org

Client = Callable[[str], TestClient]
Q1 = {"from": "2025-01-01", "to": "2025-03-31"}

# Open deals closing 2025-03-31: Ann 1000 + 2000, Bob 1000, Dan 1000, Mia 1000, Cat 1000 + 2000.
EXPECTED_PIPELINE = {
    "ann": "3000.00",
    "mia": "6000.00",
    "will": "3000.00",
    "dan": "1000.00",
    "director": "9000.00",
    "analyst": "9000.00",
}


@pytest.mark.parametrize(("who", "expected"), EXPECTED_PIPELINE.items())
def test_a_metric_totals_only_the_callers_deals(
    client_as: Client, org: Org, who: str, expected: str
) -> None:
    reply = client_as(who).get("/api/v1/metrics/pipeline_value", params=Q1)
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["unit"] == "money"
    assert body["rows"] == [{"pipeline_value": expected}]


def test_slicing_by_owner_never_shows_another_team(client_as: Client, org: Org) -> None:
    reply = client_as("mia").get("/api/v1/metrics/open_opportunities", params={**Q1, "by": "owner"})
    rows = {r["owner"]: r["open_opportunities"] for r in reply.json()["rows"]}
    assert rows == {"Ann": 2, "Bob": 1, "Dan": 1, "Mia East": 1}


def test_the_deals_behind_a_metric_are_scoped(client_as: Client, org: Org) -> None:
    rows = client_as("ann").get("/api/v1/metrics/pipeline_value/deals", params=Q1).json()
    assert {r["id"] for r in rows} == org.opp_ids("ann")
    everyone = client_as("ops_rep").get("/api/v1/metrics/pipeline_value/deals", params=Q1).json()
    assert {r["id"] for r in everyone} == org.all_opp_ids


def test_the_funnel_and_waterfall_are_scoped(client_as: Client, org: Org) -> None:
    funnel = client_as("cat").get("/api/v1/funnel", params=Q1).json()
    assert funnel[0]["stage"] == "Prospecting"
    assert funnel[0]["entered"] == 2
    assert funnel[0]["advanced"] == 0
    assert funnel[0]["dropped"] == 2
    assert funnel[0]["drop_off"] == 1.0
    (moves,) = (
        client_as("will")
        .get(
            "/api/v1/waterfall",
            params={"from": "2025-01-01", "to": "2025-02-01", "close_to": "2025-03-31"},
        )
        .json()
    )
    assert moves["reconciles"] is True
    steps = {s["step"]: (s["amount"], s["deals"]) for s in moves["steps"]}
    assert steps["new"] == ("3000.00", 2)
    assert steps["ending"] == ("3000.00", 2)


def test_metric_errors_use_the_common_shape(client_as: Client) -> None:
    client = client_as("analyst")
    unknown = client.get("/api/v1/metrics/happiness")
    assert unknown.status_code == 404
    assert unknown.json()["error"]["type"] == "not_found"
    bad = client.get("/api/v1/metrics/win_rate", params={"by": "colour"})
    assert bad.status_code == 422
    assert "colour" in bad.json()["error"]["problems"][0]["message"]
    catalog = client.get("/api/v1/metrics").json()
    assert {"bookings", "win_rate", "pipeline_coverage"} <= {m["name"] for m in catalog}


def test_compare_previous_of_a_quarter_in_progress_is_period_to_date(
    client_as: Client, org: Org, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Q3 2025: $10,000 won, $3,000 of it by 3 Aug; Q4: $3,600 by 3 Nov (34 days each).
    monkeypatch.setattr(compare, "today", lambda: date(2025, 11, 3))
    won_deals(session)
    session.commit()
    reply = client_as("director").get(
        "/api/v1/metrics/bookings",
        params={"from": "2025-10-01", "to": "2025-12-31", "compare": "previous"},
    )
    assert reply.status_code == 200, reply.text
    body = reply.json()
    # Was: previous 10000.00, pct_change -0.64 (the whole of Q3).
    assert body["rows"] == [
        {"bookings": "3600.00", "previous": "3000.00", "delta": "600.00", "pct_change": 0.2}
    ]
    assert body["compared_with"] == (
        "period to date: 2025-10-01 to 2025-11-03 (34 days) with the same days of the period"
        " before, 2025-07-01 to 2025-08-03"
    )
