"""Optimistic concurrency through the real app: ETag, If-Match, a version in the body, and a
stale write refused (412 for If-Match, 409 for a body version) without touching the row."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from salesops.models import AuditEntry, Opportunity, OpportunityEvent
from tests.orgchart import Org

Client = Callable[[str], TestClient]


def test_reading_a_deal_gives_its_version_as_etag_and_every_change_bumps_it(
    client_as: Client, org: Org
) -> None:
    ann = client_as("ann")
    deal = org.opps["ann"][0].id
    first = ann.get(f"/api/v1/opportunities/{deal}")
    assert first.headers["ETag"] == '"1"'
    assert first.json()["version"] == 1
    changed = ann.patch(
        f"/api/v1/opportunities/{deal}", json={"amount": "1234.00"}, headers={"If-Match": '"1"'}
    )
    assert changed.status_code == 200, changed.text
    assert changed.headers["ETag"] == '"2"'
    assert changed.json()["version"] == 2
    moved = ann.post(
        f"/api/v1/opportunities/{deal}/stage", json={"stage": "Proposal", "version": 2}
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["version"] == 3


def test_a_write_based_on_an_old_etag_is_refused_with_412_and_changes_nothing(
    client_as: Client, org: Org, session: Session
) -> None:
    ann, mia = client_as("ann"), client_as("mia")
    deal = org.opps["ann"][0].id
    etag = ann.get(f"/api/v1/opportunities/{deal}").headers["ETag"]
    # Her manager changes the deal in between.
    assert mia.patch(f"/api/v1/opportunities/{deal}", json={"amount": "700.00"}).status_code == 200
    events_before = session.scalar(
        select(OpportunityEvent.id).order_by(OpportunityEvent.id.desc()).limit(1)
    )
    stale = ann.patch(
        f"/api/v1/opportunities/{deal}", json={"amount": "999.00"}, headers={"If-Match": etag}
    )
    assert stale.status_code == 412, stale.text
    body = stale.json()["error"]
    assert body["type"] == "precondition_failed"
    assert "changed by someone else" in body["message"]
    assert "now at version 2" in body["message"]
    session.expire_all()
    assert session.get(Opportunity, deal).amount == 700  # type: ignore[union-attr]
    latest = session.scalar(
        select(OpportunityEvent.id).order_by(OpportunityEvent.id.desc()).limit(1)
    )
    assert latest == events_before  # no event recorded for the refused change


def test_a_stale_version_in_the_body_is_409_and_closing_checks_it_too(
    client_as: Client, org: Org
) -> None:
    ann = client_as("ann")
    deal = org.opps["ann"][0].id
    assert (
        ann.patch(f"/api/v1/opportunities/{deal}", json={"next_step": "Call CFO"}).json()["version"]
        == 2
    )
    stale = ann.patch(f"/api/v1/opportunities/{deal}", json={"amount": "5.00", "version": 1})
    assert stale.status_code == 409
    assert stale.json()["error"]["type"] == "stale_record"
    closing = ann.post(f"/api/v1/opportunities/{deal}/close", json={"won": True, "version": 1})
    assert closing.status_code == 409
    assert ann.post(f"/api/v1/opportunities/{deal}/close", json={"won": True}).status_code == 200


def test_if_match_star_and_a_list_of_tags_are_understood_and_a_foreign_tag_never_matches(
    client_as: Client, org: Org
) -> None:
    ann = client_as("ann")
    acme = org.accounts["acme"]
    url = f"/api/v1/accounts/{acme}"
    assert ann.patch(url, json={"industry": "A"}, headers={"If-Match": "*"}).status_code == 200
    assert ann.get(url).headers["ETag"] == '"2"'
    ok = ann.patch(url, json={"industry": "B"}, headers={"If-Match": 'W/"1", "2"'})
    assert ok.status_code == 200
    assert ok.headers["ETag"] == '"3"'
    assert ann.patch(url, json={"industry": "C"}, headers={"If-Match": '"abc"'}).status_code == 412
    assert ann.patch(url, json={"version": 0}).status_code == 422


def test_every_crud_resource_is_versioned_and_a_stale_delete_is_refused(
    client_as: Client, org: Org, session: Session
) -> None:
    ops = client_as("ops_rep")
    created = ops.post(
        "/api/v1/quotas",
        json={
            "rep_id": org.reps["ann"].id,
            "period_start": "2025-01-01",
            "period_end": "2025-03-31",
            "amount": "100000",
        },
    )
    assert created.status_code == 201, created.text
    assert created.headers["ETag"] == '"1"'
    quota = created.json()["id"]
    assert (
        ops.patch(f"/api/v1/quotas/{quota}", json={"amount": "120000", "version": 1}).json()[
            "version"
        ]
        == 2
    )
    assert ops.delete(f"/api/v1/quotas/{quota}", headers={"If-Match": '"1"'}).status_code == 412
    assert ops.delete(f"/api/v1/quotas/{quota}", headers={"If-Match": '"2"'}).status_code == 204
    for path, record in (
        ("reps", org.reps["ann"].id),
        ("teams", org.teams["east"].id),
        ("leads", org.leads["ann"].id),
    ):
        assert ops.get(f"/api/v1/{path}/{record}").headers["ETag"] == '"1"', path
    # The version is bookkeeping: the audit entry lists the fields that changed, not it.
    entries = session.scalars(
        select(AuditEntry).where(AuditEntry.entity == "quota", AuditEntry.action == "update")
    ).all()
    assert [sorted(e.changes) for e in entries] == [["amount"]]


def test_the_openapi_document_describes_if_match_and_412(client_as: Client) -> None:
    doc = client_as("ann").get("/api/v1/openapi.json").json()
    patch = doc["paths"]["/api/v1/opportunities/{opp_id}"]["patch"]
    assert "412" in patch["responses"]
    assert any(p["name"] == "If-Match" for p in patch["parameters"])
    assert "version" in doc["components"]["schemas"]["OpportunityUpdate"]["properties"]
