"""Admins see every stored value the metrics cannot use, by table, id and field, with why:
on a page linked from the admin navigation and at GET /api/v1/quarantine; nobody else does."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from salesops import caching
from salesops.metrics import copies
from tests.orgchart import Org
from tests.web.test_pages import sign_in

Client = Callable[[str], TestClient]


def _poison(session: Session, org: Org) -> tuple[int, int]:
    """Two rows written around salesops: a currency with no rate (`<i>`, which the page must
    escape) and, on SQLite (PostgreSQL's NUMERIC(18, 2) refuses it), an amount too big."""
    first, second = org.opps["ann"][0].id, org.opps["cat"][0].id
    session.execute(text("UPDATE opportunities SET currency = '<i>' WHERE id = :id"), {"id": first})
    if session.get_bind().dialect.name == "sqlite":
        session.execute(
            text("UPDATE opportunities SET amount = 21489055625980145 WHERE id = :id"),
            {"id": second},
        )
    session.commit()
    copies.clear()
    return first, second


def test_the_api_lists_each_unusable_value_with_table_id_field_and_reason(
    client_as: Client, org: Org, session: Session
) -> None:
    admin = client_as("admin")
    assert admin.get("/api/v1/quarantine").json() == []
    first, second = _poison(session, org)
    rows = admin.get("/api/v1/quarantine").json()
    expected = [
        {
            "table": "opportunities",
            "id": first,
            "field": "currency",
            "value": "<i>",
            "reason": "no exchange rate for '<i>': load its rates or correct the currency",
            "effect": "left out of every figure until it has an exchange rate",
        }
    ]
    if session.get_bind().dialect.name == "sqlite":
        expected.append(
            {
                "table": "opportunities",
                "id": second,
                "field": "amount",
                "value": "21489055625980145.00",
                "reason": "must be between -1,000,000,000,000 and 1,000,000,000,000",
                "effect": "left out of every figure",
            }
        )
    assert rows == sorted(expected, key=lambda r: (r["id"], r["field"]))
    for who in ("director", "analyst", "ops_rep", "mia", "ann"):
        assert client_as(who).get("/api/v1/quarantine").status_code == 403, who


def test_the_admin_page_lists_them_escaped_and_is_linked_for_admins_only(
    app: FastAPI, session: Session, org: Org
) -> None:
    admin = sign_in(app, session, org, "admin")
    assert "Every stored value is usable" in admin.get("/admin/quarantine").text
    first, _ = _poison(session, org)
    page = admin.get("/admin/quarantine")
    assert page.status_code == 200
    assert 'href="/admin/quarantine"' in page.text
    assert f'<a href="/opportunities/{first}">{first}</a>' in page.text
    assert "<code>&lt;i&gt;</code>" in page.text
    assert "<i>" not in page.text.split('data-testid="quarantine"')[1]
    director = sign_in(app, session, org, "director")
    assert director.get("/admin/quarantine").status_code == 403
    assert 'href="/admin/quarantine"' not in director.get("/").text


def test_a_row_in_a_currency_without_rate_is_left_out_instead_of_stopping_every_metric(
    client_as: Client, org: Org, session: Session
) -> None:
    director = client_as("director")
    url = "/api/v1/metrics/pipeline_value"
    params = {"from": "2000-01-01", "to": "2199-12-31"}
    before = director.get(url, params=params)
    assert before.status_code == 200, before.text
    poisoned = org.opps["ann"][1]  # 2,000 of the 9,000 open
    session.execute(
        text("UPDATE opportunities SET currency = 'XYZ', version = version + 1 WHERE id = :id"),
        {"id": poisoned.id},
    )
    session.commit()
    copies.clear()
    caching.clear()  # a raw UPDATE moves no version, so the fingerprint would not see it
    after = director.get(url, params=params)
    # Before: 422 "no FX rate to USD for XYZ" for every user and every money metric.
    assert after.status_code == 200, after.text
    assert _total(after.json(), "pipeline_value") == _total(before.json(), "pipeline_value") - 2000
    counted = director.get("/api/v1/metrics/open_opportunities", params=params).json()
    assert _total(counted, "open_opportunities") == 6  # left out of counts too, not only sums


def _total(body: dict[str, Any], name: str) -> float:
    return sum(float(row[name] or 0) for row in body["rows"])
