"""Feedback through the API: submit, vote once, triage by Sales Ops with history, scoping."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.orgchart import Org

Client = Callable[[str], TestClient]


def test_feedback_is_submitted_voted_triaged_and_its_history_kept(
    client_as: Client, org: Org
) -> None:
    ann, bob, ops = client_as("ann"), client_as("bob"), client_as("ops_rep")
    deal = org.opps["ann"][0].id
    body = {
        "category": "tools",
        "title": "CPQ is slow",
        "text": "Quotes take 3 minutes",
        "opportunity_id": deal,
    }
    created = ann.post("/api/v1/feedback", json=body)
    assert created.status_code == 201, created.text
    item = created.json()
    assert (item["status"], item["votes"], item["opportunity_id"]) == ("new", 0, deal)
    url = f"/api/v1/feedback/{item['id']}"

    assert ann.post(f"{url}/vote").status_code == 409  # not on your own
    assert bob.post(f"{url}/vote").json()["votes"] == 1
    again = bob.post(f"{url}/vote").json()
    assert (again["votes"], again["voted"]) == (1, True)  # one vote each
    assert ops.post(f"{url}/vote").json()["votes"] == 2
    # Bob does not see Ann's deal: the item is shown without it.
    assert bob.get(url).json()["opportunity_id"] is None

    assert ann.patch(url, json={"status": "planned"}).status_code == 403
    assert client_as("mia").patch(url, json={"status": "planned"}).status_code == 403
    triage = {
        "status": "done",
        "owner_id": org.users["ops_rep"].id,
        "response": "Moved the CPQ to the new instance",
        "change_made": "CPQ runs on the EU instance since 1 March",
        "version": 1,
    }
    done = ops.patch(url, json=triage)
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "done"
    stale = ops.patch(url, json={"status": "declined"}, headers={"If-Match": '"1"'})
    assert stale.status_code == 412
    detail = ann.get(url).json()
    assert [h["action"] for h in detail["history"]] == ["create", "triage"]
    assert detail["history"][1]["changes"]["status"] == {"old": "new", "new": "done"}
    assert detail["history"][1]["changes"]["change_made"]["new"].startswith("CPQ runs")

    listed = bob.get("/api/v1/feedback", params={"status": "done"}).json()
    assert [f["id"] for f in listed] == [item["id"]]
    assert bob.delete(f"{url}/vote").json()["votes"] == 1


def test_bad_feedback_is_refused_with_the_field_named(client_as: Client, org: Org) -> None:
    ann = client_as("ann")
    cats = org.opps["cat"][0].id
    reply = ann.post(
        "/api/v1/feedback",
        json={"category": "leads", "title": "x", "text": "y", "opportunity_id": cats},
    )
    assert reply.status_code == 404
    reply = ann.post("/api/v1/feedback", json={"category": "weather", "title": "x", "text": "y"})
    assert reply.status_code == 422
    reply = ann.post("/api/v1/feedback", json={"category": "leads", "title": " ", "text": "y"})
    assert reply.status_code == 422
    assert "title" in reply.text
    assert ann.get("/api/v1/feedback/999999").status_code == 404
