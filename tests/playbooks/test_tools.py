"""The sales tool stack: cost per active user, unused seats, overlaps, usage import that names
unknown tools and stores nothing, software selection ranked and decided; roles."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from salesops.errors import ValidationFailed
from salesops.playbooks.toolstack import ToolFacts, overlaps, rank, report
from tests.orgchart import Org

Client = Callable[[str], TestClient]


def test_cost_per_active_user_and_unused_seats_come_from_the_latest_month() -> None:
    tool = ToolFacts(
        "Dialer", 50, Decimal(60_000), ("calling",), {date(2025, 1, 1): 45, date(2025, 2, 1): 20}
    )
    r = report(tool)
    # 60,000 / 12 / 20 active = 250.00 a month each; 30 seats unused at 1,200 a seat.
    assert (r.active_users, r.unused_seats) == (20, 30)
    assert r.cost_per_active_user == Decimal("250.00")
    assert r.unused_cost == Decimal("36000.00")
    idle = report(ToolFacts("Idle", 10, Decimal(1200), (), {}))
    assert (idle.cost_per_active_user, idle.unused_cost) == (None, Decimal("1200.00"))


def test_capabilities_paid_for_twice_are_overlaps() -> None:
    stack = [
        ToolFacts("A", 1, Decimal(1), ("calling", "recording"), {}),
        ToolFacts("B", 1, Decimal(1), ("recording", "email"), {}),
        ToolFacts("C", 1, Decimal(1), ("email",), {}),
    ]
    assert overlaps(stack) == {"email": ["B", "C"], "recording": ["A", "B"]}


def test_candidates_are_ranked_by_weighted_score_and_bad_scores_named() -> None:
    reqs = {"crm sync": Decimal(3), "price": Decimal(1)}
    ranked = rank(reqs, {"X": {"crm sync": 5, "price": 1}, "Y": {"crm sync": 3, "price": 5}})
    # X: (3*5 + 1*1) / 4 = 4.00; Y: (3*3 + 1*5) / 4 = 3.50
    assert [(r.candidate, r.score) for r in ranked] == [
        ("X", Decimal("4.00")),
        ("Y", Decimal("3.50")),
    ]
    with pytest.raises(ValidationFailed) as caught:
        rank(reqs, {"Z": {"crm sync": 7, "colour": 2}})
    assert {p.location for p in caught.value.problems} == {
        "candidates.Z.price",
        "candidates.Z.crm sync",
        "candidates.Z.colour",
    }


def test_the_stack_through_the_api(client_as: Client, org: Org) -> None:
    ops = client_as("ops_rep")
    body = {"name": "Dialer", "seats": 50, "annual_cost": "60000", "capabilities": ["calling"]}
    assert client_as("mia").post("/api/v1/tools", json=body).status_code == 403
    assert ops.post("/api/v1/tools", json=body).status_code == 201
    body2 = {
        "name": "Suite",
        "seats": 10,
        "annual_cost": "12000",
        "capabilities": ["calling", "email"],
    }
    assert ops.post("/api/v1/tools", json=body2).status_code == 201
    bad = ops.post(
        "/api/v1/tools/usage",
        json={
            "csv": "tool,month,active_users\nDialer,2025-02,20\nDialler,2025-02,3\nSuite,Feb,1\n"
        },
    )
    assert bad.status_code == 422
    problems = {(p["location"], p["message"]) for p in bad.json()["error"]["problems"]}
    assert problems == {
        ("usage.csv:3", "unknown tool 'Dialler'"),
        ("usage.csv:4", "month must be YYYY-MM, got 'Feb'"),
    }
    assert ops.get("/api/v1/tools").json()["tools"][0]["active_users"] == 0  # nothing stored
    good = ops.post(
        "/api/v1/tools/usage", json={"csv": "tool,month,active_users\nDialer,2025-02,20\n"}
    )
    assert good.json() == {"rows": 1}
    found = client_as("analyst").get("/api/v1/tools").json()
    dialer = found["tools"][0]
    assert (dialer["cost_per_active_user"], dialer["unused_seats"]) == ("250.00", 30)
    assert found["overlaps"] == {"calling": ["Dialer", "Suite"]}
    assert found["unused_cost"] == "48000.00"  # 36,000 of Dialer + all 12,000 of Suite
    assert client_as("ann").get("/api/v1/tools").status_code == 403
    ev = ops.post(
        "/api/v1/tools/evaluations",
        json={
            "name": "Conversation intelligence",
            "requirements": {"crm sync": "3", "price": "1"},
            "candidates": {"X": {"crm sync": 5, "price": 1}, "Y": {"crm sync": 3, "price": 5}},
        },
    )
    assert ev.status_code == 201, ev.text
    assert [r["candidate"] for r in ev.json()["ranking"]] == ["X", "Y"]
    url = f"/api/v1/tools/evaluations/{ev.json()['id']}/decision"
    assert ops.post(url, json={"candidate": "W"}).status_code == 422
    decided = ops.post(url, json={"candidate": "X", "rationale": "Best CRM sync"})
    assert decided.json()["decision"] == "X"
