"""Dashboard pages through the real app: sign-in, CSRF, scoping, drill-down, no CDN."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from salesops.api.deps import SESSION_COOKIE
from salesops.auth import service as auth
from tests.orgchart import PASSWORD, Org

Q1 = "period=2025-Q1"


@pytest.fixture(autouse=True)
def in_q1_2025(today: pytest.MonkeyPatch) -> None:
    """These pages are read while Q1 2025 is in progress (its deals are open)."""


def _form_token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the form carries a CSRF token"
    return match.group(1)


def sign_in(
    app: FastAPI, session: Session, org: Org, name: str, *, https: bool = False
) -> TestClient:
    auth.set_password(session, org.users[name], PASSWORD)
    session.commit()
    client = TestClient(app, base_url="https://testserver" if https else "http://testserver")
    token = _form_token(client.get("/login").text)
    reply = client.post(
        "/login",
        data={"username": org.users[name].username, "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert reply.status_code == 303, reply.text
    return client


def test_pages_need_a_session_and_send_you_back_after_sign_in(
    app: FastAPI, session: Session, org: Org
) -> None:
    anonymous = TestClient(app)
    reply = anonymous.get("/deals?status=open", follow_redirects=False)
    assert reply.status_code == 303
    assert reply.headers["location"] == "/login?next=/deals%3Fstatus%3Dopen"
    auth.set_password(session, org.users["ann"], PASSWORD)
    session.commit()
    token = _form_token(anonymous.get("/login").text)
    signed = anonymous.post(
        "/login",
        data={"username": "t_ann", "password": PASSWORD, "csrf_token": token, "next": "/deals"},
        follow_redirects=False,
    )
    assert signed.headers["location"] == "/deals"
    cookie = signed.headers["set-cookie"]
    assert f"{SESSION_COOKIE}=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Secure" not in cookie  # plain http on localhost: a Secure cookie would never return
    evil = anonymous.post(
        "/login",
        data={"username": "t_ann", "password": PASSWORD, "csrf_token": token, "next": "//evil.com"},
        follow_redirects=False,
    )
    assert evil.status_code == 400  # the login form token was used up by the first sign-in


def test_the_session_cookie_is_secure_over_https(app: FastAPI, session: Session, org: Org) -> None:
    client = sign_in(app, session, org, "director", https=True)
    assert client.cookies.get(SESSION_COOKIE)
    reply = client.get("/login", follow_redirects=False)
    assert reply.status_code == 303  # already signed in


def test_sign_in_without_the_form_token_or_with_a_bad_password_fails(
    app: FastAPI, session: Session, org: Org
) -> None:
    auth.set_password(session, org.users["ann"], PASSWORD)
    session.commit()
    client = TestClient(app)
    client.get("/login")
    forged = client.post(
        "/login", data={"username": "t_ann", "password": PASSWORD, "csrf_token": "x"}
    )
    assert forged.status_code == 400
    for _ in range(5):
        token = _form_token(client.get("/login").text)
        wrong = client.post(
            "/login", data={"username": "t_ann", "password": "nope", "csrf_token": token}
        )
        assert wrong.status_code == 401
        assert "Wrong username or password" in wrong.text
    token = _form_token(client.get("/login").text)
    locked = client.post(
        "/login", data={"username": "t_ann", "password": PASSWORD, "csrf_token": token}
    )
    assert locked.status_code == 429
    assert "too many failed sign-ins" in locked.text


def test_sign_out_needs_the_csrf_token_and_ends_the_session(
    app: FastAPI, session: Session, org: Org
) -> None:
    client = sign_in(app, session, org, "ann")
    page = client.get("/deals")
    assert page.status_code == 200
    assert client.post("/logout", data={"csrf_token": "forged"}).status_code == 403
    out = client.post(
        "/logout", data={"csrf_token": _form_token(page.text)}, follow_redirects=False
    )
    assert out.status_code == 303
    client.cookies.clear()
    assert client.get("/deals", follow_redirects=False).status_code == 303


def test_api_writes_with_a_session_cookie_need_the_csrf_header(
    app: FastAPI, session: Session, org: Org
) -> None:
    client = sign_in(app, session, org, "ann")
    acme = org.accounts["acme"]
    assert client.patch(f"/api/v1/accounts/{acme}", json={"industry": "Toys"}).status_code == 403
    token = _form_token(client.get("/deals").text)
    ok = client.patch(
        f"/api/v1/accounts/{acme}", json={"industry": "Toys"}, headers={"X-CSRF-Token": token}
    )
    assert ok.status_code == 200
    assert client.get("/api/v1/me").json()["user"]["username"] == "t_ann"


def test_a_rep_sees_only_their_deals_on_every_page(
    app: FastAPI, session: Session, org: Org
) -> None:
    client = sign_in(app, session, org, "ann")
    deals = client.get(f"/deals?{Q1}").text
    assert "ann deal 1" in deals
    assert "ann deal 2" in deals
    assert "cat deal" not in deals
    assert "bob deal" not in deals
    drilled = client.get(f"/deals?{Q1}&metric=pipeline_value").text
    assert re.search(r'data-testid="deal-count">2 deals<', drilled)
    board = client.get(f"/leaderboard?{Q1}").text
    assert ">Ann</a>" in board
    assert "Cat" not in board
    assert "Mia East" not in board
    assert client.get(f"/opportunities/{org.opps['cat'][0].id}").status_code == 404
    assert client.get(f"/accounts/{org.accounts['globex']}").status_code == 404
    assert client.get(f"/reps/{org.reps['bob'].id}").status_code == 404
    own = client.get(f"/opportunities/{org.opps['ann'][0].id}")
    assert own.status_code == 200
    assert "Created in <b>Prospecting</b>" in own.text


def test_a_manager_drills_down_to_their_teams_deals(
    app: FastAPI, session: Session, org: Org
) -> None:
    client = sign_in(app, session, org, "mia")
    drilled = client.get(f"/deals?{Q1}&metric=open_opportunities").text
    assert re.search(r'data-testid="deal-count">5 deals<', drilled)
    by_owner = client.get(f"/deals?{Q1}&metric=open_opportunities&owner=Bob").text
    assert "bob deal 1" in by_owner
    assert "ann deal" not in by_owner


def test_dashboards_render_with_local_assets_only(app: FastAPI, session: Session, org: Org) -> None:
    client = sign_in(app, session, org, "director")
    for path in ("/", "/pipeline", "/funnel", "/leaderboard", "/health"):
        page = client.get(f"{path}?{Q1}")
        assert page.status_code == 200, page.text[:2000]
        sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert all(not s.startswith(("http:", "https:", "//")) for s in sources), sources
        assert "/static/vendor/htmx-2.0.11.min.js" in sources
        if path != "/leaderboard":
            assert "/assets/plotly.min.js" in sources
    overview = client.get(f"/?{Q1}").text
    # 7 open deals of 1000-2000 closing in Q1 2025: the pipeline KPI reads $9.0K.
    assert re.search(
        r'data-testid="kpi-pipeline_value">\s*<div class="label">Pipeline value</div>'
        r'\s*<div class="value">\$9\.0K<',
        overview,
    )


def test_filters_persist_from_page_to_page(app: FastAPI, session: Session, org: Org) -> None:
    client = sign_in(app, session, org, "director")
    client.get(f"/deals?{Q1}&team={org.teams['east'].id}")
    page = client.get("/deals").text
    assert '<option value="2025-Q1" selected>Q1 2025</option>' in page
    assert f'<option value="{org.teams["east"].id}" selected>East</option>' in page
    # The team filter applies: East is Mia's team with Dan in its sub-team.
    assert re.search(r'data-testid="deal-count">2 deals<', page)


def test_the_plotly_bundle_comes_from_the_installed_wheel(app: FastAPI) -> None:
    reply = TestClient(app).get("/assets/plotly.min.js")
    assert reply.status_code == 200
    assert len(reply.content) > 1_000_000
    assert TestClient(app).get("/static/vendor/htmx-2.0.11.min.js").status_code == 200


def test_the_audit_page_is_for_admins(app: FastAPI, session: Session, org: Org) -> None:
    assert sign_in(app, session, org, "director").get("/admin/audit").status_code == 403
    admin = sign_in(app, session, org, "admin")
    admin.get("/deals")
    page = admin.get("/admin/audit")
    assert page.status_code == 200
    assert 'data-testid="audit"' in page.text


def test_an_admin_changes_a_role_through_a_csrf_protected_form(
    app: FastAPI, session: Session, org: Org
) -> None:
    admin = sign_in(app, session, org, "admin")
    page = admin.get("/admin/users")
    assert page.status_code == 200
    ann = org.users["ann"]
    form = {"role": "analyst", "active": "on"}
    forged = admin.post(f"/admin/users/{ann.id}", data={**form, "csrf_token": "x"})
    assert forged.status_code == 403
    saved = admin.post(
        f"/admin/users/{ann.id}",
        data={**form, "csrf_token": _form_token(page.text)},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    session.refresh(ann)
    assert ann.role == "analyst"
    log = admin.get("/admin/audit").text
    assert "analyst" in log
    assert sign_in(app, session, org, "director").get("/admin/users").status_code == 403


def test_the_deal_list_says_more_than_when_counting_stopped_and_keeps_a_next_link(
    app: FastAPI, session: Session, org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    from salesops.crm import records
    from salesops.web import deals as pages

    monkeypatch.setattr(records, "COUNT_LIMIT", 3)
    monkeypatch.setattr(pages, "PAGE_SIZE", 2)
    client = sign_in(app, session, org, "director")
    first = client.get("/deals?period=2025").text
    assert re.search(r'data-testid="deal-count">more than 3 deals<', first)
    assert "page 1 of 2+" in first
    assert "page=2" in first
    # The last page (1 of the 7 deals) knows the exact total from its own rows.
    last = client.get("/deals?period=2025&page=4").text
    assert re.search(r'data-testid="deal-count">7 deals<', last)
    assert "page 4 of 4<" in last
