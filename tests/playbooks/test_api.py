"""Playbook endpoints and exit criteria through the REST API, with role scoping."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from salesops.models import PlaybookRevision
from tests.orgchart import Org
from tests.playbooks.conftest import SHIPPED

Client = Callable[[str], TestClient]


def test_a_warned_stage_move_lands_with_a_warning_header_naming_the_gaps(
    client_as: Client, org: Org, meddicc: PlaybookRevision
) -> None:
    deal = org.opps["ann"][0].id  # in Prospecting, on Acme, no next step, no meeting
    reply = client_as("ann").post(
        f"/api/v1/opportunities/{deal}/stage", json={"stage": "Qualification"}
    )
    assert reply.status_code == 200, reply.text
    assert reply.json()["stage"]["name"] == "Qualification"
    warning = reply.headers["Warning"]
    assert warning.startswith('299 salesops "exit criteria not met leaving Prospecting')
    assert "a next step" in warning
    assert "1 meeting(s) logged (has 0)" in warning
    assert "an account" not in warning


def test_a_blocked_move_is_422_naming_each_missing_item_and_the_deal_stays(
    client_as: Client, org: Org, meddicc: PlaybookRevision
) -> None:
    ann = client_as("ann")
    deal = org.opps["ann"][0].id
    assert (
        ann.patch(f"/api/v1/opportunities/{deal}", json={"stage": "Discovery"}).status_code == 200
    )
    reply = ann.patch(f"/api/v1/opportunities/{deal}", json={"stage": "Proposal"})
    assert reply.status_code == 422
    body = reply.text
    assert "Economic buyer met" in body
    assert "Decision process mapped" in body
    assert ann.get(f"/api/v1/opportunities/{deal}").json()["stage"]["name"] == "Discovery"
    check = ann.get(f"/api/v1/playbooks/deals/{deal}/check", params={"stage": "Proposal"})
    assert check.status_code == 200
    assert check.json()["blocked"] is True
    assert len(check.json()["missing"]) == 4
    for key in ("economic_buyer", "decision_criteria", "decision_process"):
        tick = ann.put(f"/api/v1/playbooks/deals/{deal}/checklist/{key}", json={"done": True})
        assert tick.status_code == 200, tick.text
    play = tick.json()
    assert [m["key"] for m in play["missing_to_leave_stage"]] == ["next_step"]
    moved = ann.patch(
        f"/api/v1/opportunities/{deal}", json={"stage": "Proposal", "next_step": "Send it"}
    )
    assert moved.status_code == 200
    assert "Warning" not in moved.headers


def test_checklists_follow_the_deals_scope_and_analysts_only_read(
    client_as: Client, org: Org, meddicc: PlaybookRevision
) -> None:
    cats = org.opps["cat"][0].id
    url = f"/api/v1/playbooks/deals/{cats}/checklist/champion"
    assert client_as("ann").put(url, json={"done": True}).status_code == 404
    assert client_as("ann").get(f"/api/v1/playbooks/deals/{cats}").status_code == 404
    assert client_as("analyst").put(url, json={"done": True}).status_code == 403
    assert client_as("analyst").get(f"/api/v1/playbooks/deals/{cats}").status_code == 200
    assert client_as("will").put(url, json={"done": True}).status_code == 200


def test_only_ops_directors_and_admins_load_playbooks_and_everyone_reads_them(
    client_as: Client, org: Org
) -> None:
    text = SHIPPED.read_text(encoding="utf-8")
    for who in ("ann", "mia", "analyst"):
        reply = client_as(who).post("/api/v1/playbooks", json={"source": text})
        assert reply.status_code == 403, who
    assert client_as("ann").get("/api/v1/playbooks/active").status_code == 404
    reply = client_as("ops_rep").post("/api/v1/playbooks", json={"source": text})
    assert reply.status_code == 201, reply.text
    assert reply.json()["methodology"] == "MEDDICC"
    active = client_as("ann").get("/api/v1/playbooks/active").json()
    assert [s["stage"] for s in active["stages"]][:2] == ["Prospecting", "Qualification"]
    bad = client_as("director").post(
        "/api/v1/playbooks", json={"source": "methodology: X\nstages:\n  Nope: {}\n"}
    )
    assert bad.status_code == 422
    assert "playbook.yaml:3: stages.Nope" in bad.text
