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
from tests.insights_world import build_world
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


@pytest.fixture
def world(session: Session) -> Org:
    """The insight pages' organisation: contracts, leads, competitors and hires."""
    built = build_world(session)
    session.commit()
    return built.org


def test_every_table_and_chart_of_the_insight_pages_downloads_as_csv(
    app: FastAPI, session: Session, world: Org
) -> None:
    client = sign_in(app, session, world, "director")
    expected = {
        "/retention": {"retention-trend", "retention-table", "cohort-curves", "cohort-table"},
        "/competitors": {"competitor-table", "competitor-trend", "competitor-matrix"},
        "/lead-conversion": {"lead-sources", "lead-trend", "lead-table"},
        "/ramp": {"ramp-curves", "ramp-table"},
    }
    for path, names in expected.items():
        html = client.get(path, params={"period": "2025-Q1" if path != "/ramp" else "2024"}).text
        found = links(html)
        assert set(found) == names, (path, sorted(found))
        for href in found.values():
            assert len(rows(client, href)) > 1, href  # a header and figures
        charts = set(re.findall(r'data-chart="([\w-]+)-spec"', html))
        assert charts == set(re.findall(r'data-png="([\w-]+)"', html)), path
        assert charts, path


def test_insight_csvs_hold_the_figures_of_the_page_for_the_viewers_scope(
    app: FastAPI, session: Session, world: Org
) -> None:
    director = sign_in(app, session, world, "director")
    page = director.get("/lead-conversion", params={"period": "2025-Q1"}).text
    table = rows(director, links(page)["lead-table"])
    assert table[0] == [
        "source",
        "leads",
        "converted",
        "conversion",
        "won",
        "sale_rate",
        "bookings",
    ]
    web = next(r for r in table if r[0] == "Web")
    # Five Web leads, three converted (3/5), two won (2/5) for $3,000.
    assert [web[1], web[2], float(web[3]), web[4], float(web[5]), Decimal(web[6])] == [
        "5",
        "3",
        0.6,
        "2",
        0.4,
        Decimal(3000),
    ]
    retention = director.get("/retention", params={"period": "2025-Q1"}).text
    trend = {r[0]: r for r in rows(director, links(retention)["retention-table"])}
    # Q1 2025: Acme 1200 -> 1200, Initech 600 -> 600, Globex 500 -> 0: GRR 1800 / 2300.
    assert trend["Q1 2025"][1:3] == ["3", "1"]
    assert float(trend["Q1 2025"][4]) == pytest.approx(1800 / 2300)
    matrix = rows(
        director, links(director.get("/competitors?period=2025-Q1").text)["competitor-matrix"]
    )
    assert matrix[0] == ["competitor", "quarter", "closed", "won", "win_rate"]
    assert ["Rival B", "Q1 2025", "3", "2"] in [r[:4] for r in matrix]
    # Ann sees her own three Web leads only, in the CSV as on the page.
    ann = sign_in(app, session, world, "ann")
    mine = ann.get("/lead-conversion", params={"period": "2025-Q1"}).text
    web = next(r for r in rows(ann, links(mine)["lead-table"]) if r[0] == "Web")
    assert web[1:3] == ["3", "2"]


def test_drill_down_lists_download_every_row_and_show_a_totals_row(
    app: FastAPI, session: Session, world: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    from salesops.web import insights

    monkeypatch.setattr(insights, "PAGE_SIZE", 2)
    client = sign_in(app, session, world, "director")
    page = client.get("/lead-conversion", params={"period": "2025-Q1"}).text
    web = re.search(r"<tr><td>Web</td>.*?</tr>", page, re.S)
    assert web
    listed = client.get(re.findall(r'href="([^"]+)"', web.group(0))[0].replace("&amp;", "&"))
    assert re.search(r'data-testid="lead-count">5 leads<', listed.text)
    assert len(re.findall(r"<tr><td>", listed.text.split('data-testid="leads"')[1])) == 2
    assert 'data-testid="leads-total"' in listed.text
    table = rows(client, links(listed.text)["leads"])
    assert table[0][:2] == ["lead_id", "lead"]
    assert len(table) == 1 + 5  # all five leads, not the page's two
    assert {r[3] for r in table[1:]} == {"Web"}
    assert sum(Decimal(r[9] or 0) for r in table[1:]) == Decimal(3000)

    retention = client.get("/retention", params={"period": "2025-Q1"}).text
    q1 = re.search(r"<tr><td>Q1 2025</td>.*?</tr>", retention, re.S)
    assert q1
    accounts = client.get(re.findall(r'href="([^"]+)"', q1.group(0))[0].replace("&amp;", "&"))
    assert 'data-testid="accounts-total"' in accounts.text
    listed_accounts = rows(client, links(accounts.text)["accounts"])
    assert listed_accounts[0] == [
        "account_id",
        "account",
        "value_at_start",
        "value_at_end",
        "status",
    ]
    by_name = {r[1]: r for r in listed_accounts[1:]}
    assert set(by_name) == {"Acme", "Initech", "Globex"}
    assert sum(Decimal(r[2]) for r in by_name.values()) == Decimal(2300)
    assert by_name["Globex"][4] == "churned"
