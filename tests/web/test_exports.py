"""Export what you see: every table and chart of every page downloads as CSV with the page's
filters and scoping; drill-down lists carry a totals row; CSV cells cannot run as formulas."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from salesops.csvsafe import csv_text, restore_cell, safe_cell
from salesops.web.export import chart_table
from tests.orgchart import Org
from tests.web.test_pages import sign_in

Q1 = {"period": "2025-Q1", "team": "", "territory": "", "segment": "", "rep": ""}


@pytest.fixture(autouse=True)
def in_q1_2025(today: pytest.MonkeyPatch) -> None:
    """Q1 2025 in progress: the org's seven deals are open and due in it."""


def rows(client: TestClient, href: str) -> list[list[str]]:
    reply = client.get(href.replace("&amp;", "&"))
    assert reply.status_code == 200, (href, reply.text[:300])
    assert reply.headers["content-type"].startswith("text/csv"), href
    assert reply.headers["content-disposition"].startswith("attachment; filename="), href
    return list(csv.reader(io.StringIO(reply.text)))


def links(html: str) -> dict[str, str]:
    """The page's CSV links by their test id."""
    found = re.findall(r'href="([^"]+)" download data-testid="csv-([^"]+)"', html)
    return {name: href for href, name in found}


def test_spreadsheet_formulas_in_text_cells_are_quoted_and_numbers_left_alone() -> None:
    for text in ("=SUM(A1:A9)", "+1", "-2+3", "-A1", "@cmd", "\tx", "\rx", "'=x", "''+1"):
        assert safe_cell(text) == "'" + text
        assert restore_cell(safe_cell(text)) == text
    # Plain negative numbers as text (a rejected row's amount) are numbers to a sheet too.
    for value in ("a=b", "Acme", "", "'quoted", "-2", "-1500.25", -2, Decimal("-1500.00"), None):
        assert safe_cell(value) == value
        if isinstance(value, str):
            assert restore_cell(value) == value
    assert csv_text(["name", "amount"], [["=1+1", -5]]) == "name,amount\r\n'=1+1,-5\r\n"


def test_every_table_and_chart_of_every_page_downloads_as_csv(
    app: FastAPI, session: Session, org: Org
) -> None:
    client = sign_in(app, session, org, "director")
    expected = {
        "/": {"trend", "by-stage", "by-category", "leaders", "stalled_biggest"},
        "/pipeline": {"waterfall", "by-stage", "by-category"},
        "/funnel": {"funnel", "stages"},
        "/leaderboard": {"leaders"},
        "/health": {"stalled_by_owner", "stalled_biggest"},
        "/deals": {"deals"},
        f"/reps/{org.reps['ann'].id}": {"open_deals", "won_deals"},
        f"/accounts/{org.accounts['acme']}": {"opps"},
        "/forecast/accuracy": {"accuracy-table"},
        "/forecast/calls": {"calls-table", "scores-table"},
    }
    for path, names in expected.items():
        html = client.get(path, params=Q1).text
        found = links(html)
        assert names <= set(found), (path, sorted(found))
        for href in found.values():
            assert rows(client, href)[0], href  # a header at least
        # Every chart drawn also offers its PNG.
        charts = set(re.findall(r'data-chart="([\w-]+)-spec"', html))
        assert charts == set(re.findall(r'data-png="([\w-]+)"', html)), path
    assert client.get("/?export=nothing").status_code == 404


def test_the_leaderboard_csv_is_the_table_with_its_filters(
    app: FastAPI, session: Session, org: Org
) -> None:
    client = sign_in(app, session, org, "director")
    html = client.get("/leaderboard", params=Q1 | {"rep": org.reps["cat"].id}).text
    table = rows(client, links(html)["leaders"])
    # Only Cat, whose open pipeline is two deals of $1,000 and $2,000.
    assert table[0] == [
        "rep",
        "bookings",
        "quota",
        "attainment",
        "win_rate",
        "deals_won",
        "open_pipeline",
    ]
    by_rep = {r[0]: r for r in table[1:]}
    assert set(by_rep) == {"Cat"}
    assert Decimal(by_rep["Cat"][6]) == Decimal("3000")


def test_a_reps_deal_csv_has_only_their_deals_and_escapes_formulas(
    app: FastAPI, session: Session, org: Org
) -> None:
    org.opps["ann"][0].name = '=HYPERLINK("http://evil","x")'
    session.commit()
    client = sign_in(app, session, org, "ann")
    html = client.get("/deals", params=Q1).text
    table = rows(client, links(html)["deals"])
    assert table[0][:6] == ["id", "deal", "account", "owner", "stage", "amount"]
    assert sorted(r[1] for r in table[1:]) == ['\'=HYPERLINK("http://evil","x")', "ann deal 2"]
    assert {r[3] for r in table[1:]} == {"Ann"}
    assert sum(Decimal(r[5]) for r in table[1:]) == Decimal("3000")
    # The API's export escapes the same way (one helper for every CSV people open).
    api = client.get("/api/v1/opportunities/export.csv").text
    assert "'=HYPERLINK" in api


def test_the_deal_list_ends_with_a_totals_row_over_every_page(
    app: FastAPI, session: Session, org: Org
) -> None:
    client = sign_in(app, session, org, "director")
    html = client.get("/deals", params=Q1).text
    total = re.search(r'data-testid="deal-totals">(.*?)</tr>', html, re.S)
    assert total
    text = " ".join(re.sub(r"<[^>]+>", " ", total.group(1)).split())
    # Ann 1,000 + 2,000, Bob 1,000, Dan 1,000, Mia 1,000, Cat 1,000 + 2,000.
    assert text == "Total 7 deals $9,000"
    drilled = client.get("/deals", params=Q1 | {"metric": "pipeline_value", "owner": "Cat"}).text
    total = re.search(r'data-testid="deal-totals">(.*?)</tr>', drilled, re.S)
    assert total
    assert " ".join(re.sub(r"<[^>]+>", " ", total.group(1)).split()) == "Total 2 deals $3,000"


def test_a_chart_csv_holds_the_figures_it_draws(app: FastAPI, session: Session, org: Org) -> None:
    client = sign_in(app, session, org, "director")
    html = client.get("/", params=Q1).text
    table = rows(client, links(html)["by-stage"])
    assert table[0] == ["category", "value"]
    assert sum(Decimal(r[1]) for r in table[1:]) == Decimal("9000")


def test_a_waterfall_chart_csv_shows_its_running_totals() -> None:
    spec = (
        '{"data": [{"type": "waterfall", "x": ["Start", "New", "Won", "End"],'
        ' "y": [100, 50, -30, 0], "measure": ["absolute", "relative", "relative", "total"]}]}'
    )
    header, body = chart_table(spec)
    assert header == ["category", "value"]
    assert body == [["Start", 100.0], ["New", 50], ["Won", -30], ["End", 120.0]]


def test_the_admin_tables_download_for_admins_only(
    app: FastAPI, session: Session, org: Org
) -> None:
    admin = sign_in(app, session, org, "admin")
    users = rows(admin, links(admin.get("/admin/users").text)["users"])
    assert users[0] == ["username", "full_name", "role", "active", "password_set", "created_at"]
    assert "t_ann" in {r[0] for r in users[1:]}
    assert not any("argon2" in cell for r in users for cell in r)  # no password hashes
    audit = rows(admin, links(admin.get("/admin/audit").text)["audit"])
    assert audit[0] == ["at", "who", "action", "entity", "entity_id", "changes"]
    director = sign_in(app, session, org, "director")
    assert director.get("/admin/users?export=users").status_code == 403
    assert director.get("/admin/audit?export=entries").status_code == 403
