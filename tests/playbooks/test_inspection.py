"""Deal hygiene from the database: flags from events and activities, the won-deal limit,
role scoping, snapshots for the trend, and coaching notes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from salesops.auth.scoping import system_scope
from salesops.models import Activity, Contact, PlaybookRevision
from salesops.pipeline import service, stages
from salesops.playbooks import inspection
from tests.factories import T0, make_opportunity, make_rep
from tests.orgchart import Org

Client = Callable[[str], TestClient]
SCOPE = system_scope()


def test_flags_come_from_the_deals_events_activities_and_the_won_deals(
    session: Session, meddicc: PlaybookRevision
) -> None:
    rep = make_rep(session, name="Zed")
    proposal, won = stages.by_name(session, "Proposal"), stages.by_name(session, "Closed Won")
    # Five won deals that spent 10, 20, 30, 40, 50 days in Proposal: the limit is 46 days.
    for days in (10, 20, 30, 40, 50):
        deal = make_opportunity(session, owner=rep, stage=proposal)
        service.move_stage(session, deal, won, at=T0 + timedelta(days=days))
    stuck = make_opportunity(session, owner=rep, stage="Negotiation", close_date=date(2025, 3, 31))
    service.move_stage(session, stuck, proposal, at=T0)
    service.change_amount(session, stuck, Decimal(5000), at=datetime(2025, 3, 25, tzinfo=UTC))
    stuck.next_step = "Chase legal"
    a, b = Contact(first_name="A"), Contact(first_name="B")
    session.add_all([a, b])
    session.flush()
    for contact, day in ((a, 60), (b, 65)):
        session.add(
            Activity(
                kind="call",
                occurred_at=T0 + timedelta(days=day),
                opportunity_id=stuck.id,
                contact_id=contact.id,
            )
        )
    session.flush()
    at = datetime(2025, 3, 20, tzinfo=UTC) + timedelta(days=7)  # 27 March
    found = inspection.inspect(session, scope=SCOPE, at=at, rep_id=rep.id)
    assert found.limits["Proposal"] == 46.0
    (item,) = found.deals
    flags = {f.code: f.detail for f in item.flags}
    assert set(flags) == {"stale", "stuck_in_stage", "late_amount_change", "missing_exit_criteria"}
    assert flags["stale"] == "15 days since last activity"  # 12 March -> 27 March
    assert flags["stuck_in_stage"] == "80 days in Proposal; won deals: 46"
    assert flags["late_amount_change"].startswith("10000.00 -> 5000.00 on 2025-03-25")
    # Criteria of the stages it passed (not of Proposal, its to-do list); it has 2 calls.
    assert flags["missing_exit_criteria"] == (
        "Prospecting: an account; Prospecting: 1 meeting(s) logged (has 0);"
        " Qualification: Metrics quantified (the gain the customer expects);"
        " Qualification: Pain identified and confirmed by the customer;"
        " Qualification: Champion found and tested; Discovery: Economic buyer met;"
        " Discovery: Decision criteria written down;"
        " Discovery: Decision process mapped (steps, dates, people)"
    )
    (score,) = found.reps
    assert score.score == Decimal("0.4286")  # 1 - 4/7


def test_each_role_inspects_only_its_deals_and_snapshots_make_a_trend(
    client_as: Client, org: Org
) -> None:
    params = {"as_of": "2025-02-15"}
    ann = client_as("ann").get("/api/v1/playbooks/hygiene/deals", params=params)
    assert ann.status_code == 200, ann.text
    assert {d["opportunity_id"] for d in ann.json()} == org.opp_ids("ann")
    assert {f["code"] for f in ann.json()[0]["flags"]} == {
        "no_next_step",
        "stale",
        "single_threaded",
    }
    mia = client_as("mia").get("/api/v1/playbooks/hygiene/reps", params=params).json()
    assert {r["rep"] for r in mia} == {"Mia East", "Ann", "Bob", "Dan"}
    assert all(r["score"] == "0.5714" for r in mia)  # 3 of 7 checks fail on each deal
    cats = org.reps["cat"].id
    assert (
        client_as("ann").get("/api/v1/playbooks/hygiene/deals", params={"rep_id": cats}).status_code
        == 404
    )
    assert client_as("mia").post("/api/v1/playbooks/hygiene/snapshots").status_code == 403
    taken = client_as("ops_rep").post("/api/v1/playbooks/hygiene/snapshots")
    assert taken.status_code == 201
    assert taken.json() == {"reps": 5}
    trend = client_as("will").get("/api/v1/playbooks/hygiene/trend").json()
    assert {t["rep_id"] for t in trend} == {org.reps["cat"].id}


def test_managers_coach_on_their_teams_deals_and_the_rep_resolves(
    client_as: Client, org: Org
) -> None:
    deal = org.opps["ann"][0].id
    body = {"text": "Who else have you met there?", "flag": "single_threaded"}
    assert (
        client_as("ann").post(f"/api/v1/playbooks/deals/{deal}/notes", json=body).status_code == 403
    )
    assert (
        client_as("will").post(f"/api/v1/playbooks/deals/{deal}/notes", json=body).status_code
        == 404
    )
    bad = client_as("mia").post(
        f"/api/v1/playbooks/deals/{deal}/notes", json={"text": "x", "flag": "nope"}
    )
    assert bad.status_code == 422
    note = client_as("mia").post(f"/api/v1/playbooks/deals/{deal}/notes", json=body)
    assert note.status_code == 201, note.text
    note_id = note.json()["id"]
    listed = client_as("ann").get("/api/v1/playbooks/hygiene/deals", params={"as_of": "2025-02-15"})
    assert {d["open_notes"] for d in listed.json() if d["opportunity_id"] == deal} == {1}
    assert client_as("cat").post(f"/api/v1/playbooks/notes/{note_id}/resolve").status_code == 404
    resolved = client_as("ann").post(f"/api/v1/playbooks/notes/{note_id}/resolve")
    assert resolved.status_code == 200
    assert resolved.json()["resolved_at"] is not None
    notes = client_as("ann").get(f"/api/v1/playbooks/deals/{deal}/notes").json()
    assert [n["text"] for n in notes] == ["Who else have you met there?"]
