"""Security headers, sign-in locks and their unlock, and disabled users' tokens, through the
real app."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from salesops.auth import service as auth
from salesops.models import AuditEntry
from tests.orgchart import PASSWORD, Org

Client = Callable[[str], TestClient]


def _form_token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


def _sign_in(client: TestClient, username: str, password: str) -> int:
    token = _form_token(client.get("/login").text)
    reply = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token},
        follow_redirects=False,
    )
    return reply.status_code


def _assert_protected(reply: object) -> None:
    headers = reply.headers  # type: ignore[attr-defined]
    policy = headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy
    assert "script-src 'self'" in policy
    assert "unsafe-eval" not in policy
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"


def test_the_admin_users_page_cannot_be_framed_or_cached(
    app: FastAPI, session: Session, org: Org
) -> None:
    auth.set_password(session, org.users["admin"], PASSWORD)
    session.commit()
    client = TestClient(app)
    assert _sign_in(client, "t_admin", PASSWORD) == 303
    page = client.get("/admin/users")
    assert page.status_code == 200
    _assert_protected(page)
    assert page.headers["cache-control"] == "no-store"
    login = TestClient(app).get("/login")
    _assert_protected(login)
    assert login.headers["cache-control"] == "no-store"


def test_api_responses_and_errors_carry_the_headers_and_are_not_cached(
    client_as: Client,
) -> None:
    for reply in (
        client_as("admin").get("/api/v1/users"),
        client_as("ann").get("/api/v1/users"),  # 403
        TestClient(client_as("admin").app).get("/api/v1/me"),  # 401
    ):
        _assert_protected(reply)
        assert reply.headers["cache-control"] == "no-store"


def test_public_assets_stay_cacheable_and_the_api_docs_allow_only_their_own_script(
    app: FastAPI,
) -> None:
    client = TestClient(app)
    plotly = client.get("/assets/plotly.min.js")
    assert plotly.headers["cache-control"] == "public, max-age=604800"
    assert plotly.headers["x-content-type-options"] == "nosniff"
    assert client.get("/static/app.js").headers.get("cache-control") != "no-store"
    docs = client.get("/api/v1/docs")
    policy = docs.headers["content-security-policy"]
    assert re.search(r"script-src 'self' 'sha256-[A-Za-z0-9+/=]+'$", policy.split(";")[1].strip())
    assert "frame-ancestors 'none'" in policy


def test_wrong_passwords_from_one_address_do_not_lock_the_admin_out_elsewhere(
    app: FastAPI, session: Session, org: Org, client_as: Client
) -> None:
    auth.set_password(session, org.users["admin"], PASSWORD)
    session.commit()
    attacker = TestClient(app, client=("203.0.113.9", 5000))
    for _ in range(5):
        assert _sign_in(attacker, "t_admin", "wrong-guess") == 401
    assert _sign_in(attacker, "t_admin", PASSWORD) == 429
    owner = TestClient(app, client=("10.1.2.3", 5000))
    assert _sign_in(owner, "t_admin", PASSWORD) == 303


def test_an_admin_unlocks_a_username_through_the_api_and_it_is_audited(
    app: FastAPI, session: Session, org: Org, client_as: Client
) -> None:
    ann = org.users["ann"]
    auth.set_password(session, ann, PASSWORD)
    session.commit()
    browser = TestClient(app, client=("10.9.9.9", 5000))
    for _ in range(5):
        assert _sign_in(browser, "t_ann", "wrong-guess") == 401
    assert _sign_in(browser, "t_ann", PASSWORD) == 429
    assert client_as("director").post(f"/api/v1/users/{ann.id}/unlock").status_code == 403
    admin = client_as("admin")
    reply = admin.post(f"/api/v1/users/{ann.id}/unlock", json={"ip": "10.9.9.9"})
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"username": "t_ann", "cleared": 5}
    assert _sign_in(browser, "t_ann", PASSWORD) == 303
    entry = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "unlock", AuditEntry.entity_id == str(ann.id))
    ).one()
    assert entry.user_id == org.users["admin"].id
    assert entry.changes["source"] == "10.9.9.9"


def test_disabling_a_user_revokes_their_tokens_for_good(
    app: FastAPI, session: Session, org: Org, client_as: Client
) -> None:
    rep = client_as("ann")
    assert rep.get("/api/v1/me").status_code == 200
    admin = client_as("admin")
    ann_id = org.users["ann"].id
    assert admin.patch(f"/api/v1/users/{ann_id}", json={"is_active": False}).status_code == 200
    assert rep.get("/api/v1/me").status_code == 401
    assert admin.patch(f"/api/v1/users/{ann_id}", json={"is_active": True}).status_code == 200
    assert rep.get("/api/v1/me").status_code == 401
    changes = session.scalars(
        select(AuditEntry.changes)
        .where(AuditEntry.entity == "user", AuditEntry.entity_id == str(ann_id))
        .order_by(AuditEntry.id)
    ).all()
    assert [c.get("is_active") for c in changes][-2:] == [
        {"old": True, "new": False},
        {"old": False, "new": True},
    ]
