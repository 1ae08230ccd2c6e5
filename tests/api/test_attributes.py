"""Custom attributes through the API: typed, bounded, refused with the field named."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.orgchart import Org

Client = Callable[[str], TestClient]


def test_account_attributes_are_stored_and_read_back(client_as: Client, org: Org) -> None:
    acme = org.accounts["acme"]
    attributes = {"tier": "gold", "seats": 40, "renewal": True, "score": 0.75}
    reply = client_as("ann").patch(f"/api/v1/accounts/{acme}", json={"attributes": attributes})
    assert reply.status_code == 200, reply.text
    assert client_as("ann").get(f"/api/v1/accounts/{acme}").json()["attributes"] == attributes


def test_nested_or_oversized_attributes_are_a_422_naming_the_field(
    client_as: Client, org: Org
) -> None:
    acme = org.accounts["acme"]
    for bad in ({"tier": {"nested": 1}}, {"note": "x" * 501}, {"bad name!": 1}, {"t": "a\x00"}):
        reply = client_as("ann").patch(f"/api/v1/accounts/{acme}", json={"attributes": bad})
        assert reply.status_code == 422, (bad, reply.text)
        assert "attributes" in reply.text


def test_deal_attributes_are_changed_through_a_patch_and_audited(
    client_as: Client, org: Org
) -> None:
    deal = org.opps["ann"][0].id
    ann = client_as("ann")
    reply = ann.patch(f"/api/v1/opportunities/{deal}", json={"attributes": {"size": "L"}})
    assert reply.status_code == 200, reply.text
    assert reply.json()["attributes"] == {"size": "L"}
    cleared = ann.patch(f"/api/v1/opportunities/{deal}", json={"attributes": {}})
    assert cleared.json()["attributes"] is None
    bad = ann.patch(f"/api/v1/opportunities/{deal}", json={"attributes": {"x": [1]}})
    assert bad.status_code == 422
    log = client_as("admin").get("/api/v1/audit", params={"entity": "opportunity"}).json()
    changes = [e["changes"].get("attributes") for e in log["items"] if e["entity_id"] == str(deal)]
    assert {"old": None, "new": {"size": "L"}} in changes
