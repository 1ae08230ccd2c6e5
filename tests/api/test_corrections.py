"""What the hardening issue left to do: users are versioned like every other record, a wrong
currency can be corrected and a wrong deal deleted, and quota rules live in the service that
the API, imports and the Quotas form share."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from salesops.models import (
    Activity,
    AuditEntry,
    FxRate,
    Opportunity,
    OpportunityEvent,
    User,
)
from tests.orgchart import Org

Client = Callable[[str], TestClient]


def test_a_stale_change_of_a_user_is_refused_and_changes_nothing(
    client_as: Client, org: Org, session: Session
) -> None:
    admin = client_as("admin")
    bob = org.users["bob"].id
    read = admin.get(f"/api/v1/users/{bob}")
    assert read.status_code == 200, read.text
    assert read.headers["ETag"] == '"1"'
    assert read.json()["version"] == 1
    # Another admin makes Bob a manager in between.
    first = admin.patch(
        f"/api/v1/users/{bob}", json={"role": "manager"}, headers={"If-Match": '"1"'}
    )
    assert first.status_code == 200, first.text
    assert first.headers["ETag"] == '"2"'
    # Disabling him on the strength of the old read is refused: 412 for If-Match, 409 for a body.
    stale = admin.patch(
        f"/api/v1/users/{bob}", json={"is_active": False}, headers={"If-Match": '"1"'}
    )
    assert stale.status_code == 412, stale.text
    assert "now at version 2" in stale.json()["error"]["message"]
    body = admin.patch(f"/api/v1/users/{bob}", json={"is_active": False, "version": 1})
    assert body.status_code == 409, body.text
    session.expire_all()
    user = session.get(User, bob)
    assert user is not None
    assert (user.is_active, user.role, user.version) == (True, "manager", 2)
    assert client_as("ann").get(f"/api/v1/users/{bob}").status_code == 403


def test_a_currency_without_exchange_rate_is_refused_and_a_wrong_one_can_be_corrected(
    client_as: Client, org: Org, session: Session
) -> None:
    ann = client_as("ann")
    deal = org.opps["ann"][0].id
    refused = ann.patch(f"/api/v1/opportunities/{deal}", json={"currency": "XYZ"})
    assert refused.status_code == 422, refused.text
    assert "no exchange rate for 'XYZ'" in refused.text
    session.add(FxRate(currency="EUR", rate_date=date(2025, 1, 1), rate=Decimal("1.10")))
    session.commit()
    fixed = ann.patch(f"/api/v1/opportunities/{deal}", json={"currency": "eur", "version": 1})
    assert fixed.status_code == 200, fixed.text
    assert fixed.json()["currency"] == "EUR"
    entry = session.scalars(
        select(AuditEntry).where(AuditEntry.entity == "opportunity", AuditEntry.action == "update")
    ).one()
    assert entry.changes["currency"] == {"old": "USD", "new": "EUR"}
    # Contracts and quotas (generic records) take the same check.
    ops = client_as("ops_rep")
    quota = {
        "rep_id": org.reps["ann"].id,
        "period_start": "2025-01-01",
        "period_end": "2025-03-31",
        "amount": "1000",
    }
    bad = ops.post("/api/v1/quotas", json=quota | {"currency": "XYZ"})
    assert bad.status_code == 422, bad.text
    assert bad.json()["error"]["problems"][0]["location"] == "currency"
    assert ops.post("/api/v1/quotas", json=quota | {"currency": "EUR"}).status_code == 201


def test_deleting_a_deal_takes_its_history_and_is_refused_while_records_point_at_it(
    client_as: Client, org: Org, session: Session
) -> None:
    ann, cat = client_as("ann"), client_as("cat")
    first, second = (o.id for o in org.opps["ann"])
    ann.patch(f"/api/v1/opportunities/{first}", json={"amount": "1500.00"})
    call = Activity(kind="call", subject="intro", opportunity_id=second, rep_id=org.reps["ann"].id)
    call.occurred_at = org.opps["ann"][1].created_at
    session.add(call)
    session.commit()
    # Outside her scope a deal does not exist; an analyst may not delete.
    assert cat.delete(f"/api/v1/opportunities/{first}").status_code == 404
    assert client_as("analyst").delete(f"/api/v1/opportunities/{first}").status_code == 403
    refused = ann.delete(f"/api/v1/opportunities/{second}")
    assert refused.status_code == 409, refused.text
    assert "1 activities point at it" in refused.json()["error"]["message"]
    assert (
        ann.delete(f"/api/v1/opportunities/{first}", headers={"If-Match": '"1"'}).status_code == 412
    )
    assert (
        ann.delete(f"/api/v1/opportunities/{first}", headers={"If-Match": '"2"'}).status_code == 204
    )
    session.expire_all()
    assert session.get(Opportunity, first) is None
    events = select(func.count()).where(OpportunityEvent.opportunity_id == first)
    assert session.scalar(events) == 0
    entry = session.scalars(
        select(AuditEntry).where(AuditEntry.entity == "opportunity", AuditEntry.action == "delete")
    ).one()
    assert entry.entity_id == str(first)
    assert entry.changes["amount"]["old"] == "1500.00"
    assert ann.get(f"/api/v1/opportunities/{first}").status_code == 404


def test_quota_rules_are_the_services_so_the_api_refuses_what_the_form_refuses(
    client_as: Client, org: Org
) -> None:
    ops = client_as("ops_rep")
    base = {
        "rep_id": org.reps["ann"].id,
        "period_start": "2025-04-01",
        "period_end": "2025-06-30",
        "amount": "1000",
    }
    cases = {
        "period_end": base | {"period_end": "2025-03-01"},
        "amount": base | {"amount": "-5"},
        "ramp_factor": base | {"ramp_factor": "1.5"},
        "holder": base | {"team_id": org.teams["east"].id},
    }
    for location, body in cases.items():
        reply = ops.post("/api/v1/quotas", json=body)
        assert reply.status_code == 422, (location, reply.text)
        assert [p["location"] for p in reply.json()["error"]["problems"]] == [location]
    created = ops.post("/api/v1/quotas", json=base).json()
    moved = ops.patch(f"/api/v1/quotas/{created['id']}", json={"period_start": "2025-07-01"})
    assert moved.status_code == 422, moved.text
    assert "must not be before the start (2025-07-01)" in moved.text
