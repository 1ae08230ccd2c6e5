"""CRUD through the real app: writes go through services, land in the audit log, and every
error has the same shape."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from salesops.models import AccountOwner, AuditEntry, OpportunityEvent
from tests.orgchart import Org

Client = Callable[[str], TestClient]


def _audit(session: Session, entity: str, entity_id: int) -> list[AuditEntry]:
    return list(
        session.scalars(
            select(AuditEntry)
            .where(AuditEntry.entity == entity, AuditEntry.entity_id == str(entity_id))
            .order_by(AuditEntry.id)
        )
    )


def test_a_rep_creates_an_account_that_becomes_theirs_and_only_theirs(
    client_as: Client, org: Org, session: Session
) -> None:
    reply = client_as("ann").post(
        "/api/v1/accounts", json={"name": "Umbrella", "segment": "Enterprise", "employees": 900}
    )
    assert reply.status_code == 201, reply.text
    account_id = reply.json()["id"]
    owner = session.scalar(select(AccountOwner).where(AccountOwner.account_id == account_id))
    assert owner is not None
    assert owner.rep_id == org.reps["ann"].id
    assert client_as("cat").get(f"/api/v1/accounts/{account_id}").status_code == 404
    assert client_as("mia").get(f"/api/v1/accounts/{account_id}").status_code == 200
    entries = _audit(session, "account", account_id)
    assert [e.action for e in entries] == ["create"]
    assert entries[0].user_id == org.users["ann"].id
    assert entries[0].changes["name"] == {"old": None, "new": "Umbrella"}


def test_an_update_is_audited_with_old_and_new_values(
    client_as: Client, org: Org, session: Session
) -> None:
    acme = org.accounts["acme"]
    reply = client_as("ann").patch(f"/api/v1/accounts/{acme}", json={"industry": "Retail"})
    assert reply.status_code == 200
    assert reply.json()["industry"] == "Retail"
    (entry,) = _audit(session, "account", acme)
    assert entry.action == "update"
    assert entry.changes == {"industry": {"old": None, "new": "Retail"}}


def test_a_delete_is_audited_and_admins_read_it(client_as: Client, org: Org) -> None:
    lead = org.leads["ann"].id
    assert client_as("ann").delete(f"/api/v1/leads/{lead}").status_code == 204
    assert client_as("ann").get(f"/api/v1/leads/{lead}").status_code == 404
    log = client_as("admin").get("/api/v1/audit", params={"entity": "lead"}).json()
    assert log["total"] == 1
    assert log["items"][0]["action"] == "delete"
    assert log["items"][0]["changes"]["first_name"] == {"old": "ann", "new": None}


def test_stage_moves_and_closing_go_through_the_pipeline_service(
    client_as: Client, org: Org, session: Session
) -> None:
    ann = client_as("ann")
    created = ann.post(
        "/api/v1/opportunities",
        json={"name": "Big one", "amount": "25000", "close_date": "2025-05-31"},
    )
    assert created.status_code == 201, created.text
    opp = created.json()
    assert opp["owner_id"] == org.reps["ann"].id
    assert opp["stage"]["name"] == "Prospecting"
    moved = ann.post(f"/api/v1/opportunities/{opp['id']}/stage", json={"stage": "Proposal"})
    assert moved.json()["stage"]["name"] == "Proposal"
    assert moved.json()["forecast_category"] == "best_case"
    lost = ann.post(f"/api/v1/opportunities/{opp['id']}/close", json={"won": False})
    assert lost.status_code == 422
    assert lost.json()["error"]["message"] == "a lost opportunity needs a loss reason"
    won = ann.post(f"/api/v1/opportunities/{opp['id']}/close", json={"won": True})
    assert won.json()["stage"]["name"] == "Closed Won"
    assert won.json()["closed_at"] is not None
    again = ann.post(f"/api/v1/opportunities/{opp['id']}/close", json={"won": True})
    assert again.status_code == 409
    assert again.json()["error"]["type"] == "conflict"
    events = ann.get(f"/api/v1/opportunities/{opp['id']}/events").json()
    stage_events = [(e["old_value"], e["new_value"]) for e in events if e["field"] == "stage"]
    assert stage_events == [("Prospecting", "Proposal"), ("Proposal", "Closed Won")]
    assert all(e["by_user_id"] == org.users["ann"].id for e in events)
    stored = session.scalars(
        select(OpportunityEvent.field).where(OpportunityEvent.opportunity_id == opp["id"])
    ).all()
    assert sorted(stored) == ["created", "forecast_category", "forecast_category", "stage", "stage"]
    actions = [e.action for e in _audit(session, "opportunity", opp["id"])]
    assert actions == ["create", "stage", "close"]


def test_a_patch_of_tracked_fields_records_events(client_as: Client, org: Org) -> None:
    opp = org.opps["bob"][0].id
    bob = client_as("bob")
    reply = bob.patch(
        f"/api/v1/opportunities/{opp}", json={"amount": "1500", "close_date": "2025-04-30"}
    )
    assert reply.status_code == 200
    assert reply.json()["amount"] == "1500.00"
    fields = {e["field"]: e for e in bob.get(f"/api/v1/opportunities/{opp}/events").json()}
    assert (fields["amount"]["old_value"], fields["amount"]["new_value"]) == ("1000.00", "1500.00")
    assert fields["close_date"]["new_value"] == "2025-04-30"


def test_lists_filter_sort_and_page(client_as: Client, org: Org) -> None:
    director = client_as("director")
    by_amount = director.get("/api/v1/opportunities", params={"sort": "-amount", "limit": 3})
    body = by_amount.json()
    assert body["total"] == 7
    assert [o["amount"] for o in body["items"]] == ["2000.00", "2000.00", "1000.00"]
    ranged = director.get("/api/v1/opportunities", params={"amount_from": "1500"}).json()
    assert {o["id"] for o in ranged["items"]} == {org.opps["ann"][1].id, org.opps["cat"][1].id}
    either = director.get(
        "/api/v1/opportunities",
        params={"owner_id": f"{org.reps['ann'].id},{org.reps['bob'].id}"},
    ).json()
    assert either["total"] == 3
    assert director.get("/api/v1/opportunities", params={"status": "open"}).json()["total"] == 7
    assert director.get("/api/v1/opportunities", params={"status": "won"}).json()["total"] == 0
    found = director.get("/api/v1/accounts", params={"q": "glob"}).json()
    assert [a["name"] for a in found["items"]] == ["Globex"]


def test_every_error_has_one_shape(app: object, client_as: Client, org: Org) -> None:
    director = client_as("director")
    unknown = director.get("/api/v1/opportunities", params={"colour": "red"})
    assert unknown.status_code == 422
    body = unknown.json()["error"]
    assert body["type"] == "validation_failed"
    assert body["problems"] == [{"message": "unknown filter 'colour'", "location": "colour"}]
    bad_sort = director.get("/api/v1/accounts", params={"sort": "secret"}).json()["error"]
    assert bad_sort["problems"][0]["location"] == "sort"
    bad_body = director.post("/api/v1/opportunities", json={"name": "x"})
    assert bad_body.status_code == 422
    locations = {p["location"] for p in bad_body.json()["error"]["problems"]}
    assert {"amount", "close_date"} <= locations
    anonymous = TestClient(app).get("/api/v1/opportunities")  # type: ignore[arg-type]
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["type"] == "not_authenticated"
    wrong = TestClient(app, headers={"Authorization": "Bearer so_nope"})  # type: ignore[arg-type]
    assert wrong.get("/api/v1/me").json()["error"]["message"] == "invalid or revoked API token"


def test_a_revoked_token_stops_working_at_once(client_as: Client, org: Org) -> None:
    ann = client_as("ann")
    created = ann.post("/api/v1/tokens", json={"name": "script"})
    assert created.status_code == 201
    secret, token_id = created.json()["token"], created.json()["id"]
    assert secret.startswith("so_")
    listed = ann.get("/api/v1/tokens").json()
    assert "token" not in listed[0]
    assert "token_hash" not in listed[0]
    script = TestClient(ann.app, headers={"Authorization": f"Bearer {secret}"})
    assert script.get("/api/v1/me").status_code == 200
    assert client_as("cat").delete(f"/api/v1/tokens/{token_id}").status_code == 404
    assert ann.delete(f"/api/v1/tokens/{token_id}").status_code == 204
    assert script.get("/api/v1/me").status_code == 401


def test_admins_manage_users_and_disabling_cuts_access(client_as: Client, org: Org) -> None:
    admin = client_as("admin")
    ann = client_as("ann")
    ann_id = org.users["ann"].id
    reply = admin.patch(f"/api/v1/users/{ann_id}", json={"is_active": False})
    assert reply.status_code == 200
    assert reply.json()["is_active"] is False
    assert ann.get("/api/v1/me").status_code == 401
    created = admin.post(
        "/api/v1/users", json={"username": "newbie", "role": "analyst", "password": "long enough"}
    )
    assert created.status_code == 201
    weak = admin.post(
        "/api/v1/users", json={"username": "weak", "role": "analyst", "password": "x"}
    )
    assert weak.status_code == 422
    assert weak.json()["error"]["problems"][0]["location"] == "password"
    dup = admin.post("/api/v1/users", json={"username": "newbie", "role": "analyst"})
    assert dup.status_code == 409
    me = org.users["admin"].id
    assert admin.patch(f"/api/v1/users/{me}", json={"role": "analyst"}).status_code == 403


def test_the_openapi_document_and_docs_page_are_served_without_a_cdn(client_as: Client) -> None:
    client = client_as("analyst")
    spec = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/opportunities/{opp_id}/close" in spec["paths"]
    assert "/api/v1/metrics/{name}" in spec["paths"]
    docs = client.get("/api/v1/docs").text
    assert "/static/vendor/swagger-ui-bundle-5.35.0.js" in docs
    assert "cdn" not in docs.lower()
    assert client.get("/static/vendor/swagger-ui-bundle-5.35.0.js").status_code == 200
