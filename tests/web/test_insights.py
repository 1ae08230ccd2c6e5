"""The insight pages (retention, competitors, lead conversion, ramp) through the real app: each
role sees its own scope, the figures match tests/insights_world.py, and every drill-down link
on the page opens the records behind the figure."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi import FastAPI
from sqlalchemy.orm import Session

from tests.insights_world import World, build_world
from tests.orgchart import Org
from tests.web.test_pages import sign_in

Q1 = "period=2025-Q1"
YEAR_2024 = "period=2024"  # ramp: the eight quarters ending with 2024 hold the 2024 hires
PAGES = ("/retention", "/competitors", "/lead-conversion", "/ramp")


@pytest.fixture
def org(session: Session) -> Org:
    """The permission-test organisation with contracts, leads, competitors and hires."""
    world = build_world(session)
    session.commit()
    session.info["world"] = world
    return world.org


def world_of(session: Session) -> World:
    world: World = session.info["world"]
    return world


def table(page: str, testid: str) -> list[list[str]]:
    """The rows of a table (cells as plain text), header row excluded."""
    found = re.search(rf'<table[^>]*data-testid="{testid}".*?</table>', page, re.S)
    assert found, f"table {testid} is on the page"
    body = re.search(r"<tbody>(.*?)</tbody>", found.group(0), re.S)
    assert body
    rows = []
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body.group(1), re.S):
        cells = re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)
        rows.append([" ".join(html.unescape(re.sub(r"<[^>]+>", " ", c)).split()) for c in cells])
    return rows


def row_of(page: str, testid: str, first: str) -> list[str]:
    rows = [r for r in table(page, testid) if r and r[0] == first]
    assert rows, f"{first!r} is a row of {testid}: {table(page, testid)}"
    return rows[0]


def link(page: str, testid: str, first: str, index: int) -> str:
    """The href of the `index`-th link in the row of `testid` that starts with `first`."""
    found = re.search(rf'<table[^>]*data-testid="{testid}".*?</table>', page, re.S)
    assert found
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", found.group(0), re.S):
        cells = re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)
        if cells and re.sub(r"<[^>]+>", "", cells[0]).strip() == first:
            hrefs = re.findall(r'href="([^"]+)"', row)
            return html.unescape(hrefs[index])
    raise AssertionError(f"no row {first!r} in {testid}")


def count(page: str, testid: str) -> str:
    found = re.search(rf'data-testid="{testid}">([^<]+)<', page)
    assert found, testid
    return found.group(1)


@pytest.mark.parametrize(("name", "web_leads"), [("analyst", "5"), ("mia", "3")])
def test_every_insight_page_renders_for_each_role_and_is_in_the_sidebar(
    app: FastAPI, session: Session, org: Org, name: str, web_leads: str
) -> None:
    client = sign_in(app, session, org, name)
    pages = {}
    for path in PAGES:
        reply = client.get(f"{path}?{Q1}")
        assert reply.status_code == 200, (path, reply.text[:500])
        for href in PAGES:
            assert f'href="{href}"' in reply.text
        pages[path] = reply.text
    # The analyst sees the company; Mia her team (Ann, Bob, Dan): Ann's three Web leads.
    assert row_of(pages["/lead-conversion"], "lead-table", "Web")[1] == web_leads


def test_competitor_win_rates_and_deal_counts_match_the_hand_counts_for_each_scope(
    app: FastAPI, session: Session, org: Org
) -> None:
    director = sign_in(app, session, org, "director").get(f"/competitors?{Q1}").text
    assert row_of(director, "competitor-table", "Rival A") == [
        "Rival A",
        "3",
        "1",
        "2",
        "33%",
        "$1.0K",
    ]
    assert row_of(director, "competitor-table", "Rival B") == [
        "Rival B",
        "3",
        "2",
        "1",
        "67%",
        "$5.0K",
    ]
    matrix = row_of(director, "competitor-matrix", "Rival B")
    assert matrix[-2:] == ["67% 2/3", "3"]  # Q1 2025 is the last of the eight quarters
    for name in ("ann", "mia"):  # Mia's team: Ann, Bob and Dan; Cat is Will's
        page = sign_in(app, session, org, name).get(f"/competitors?{Q1}").text
        assert row_of(page, "competitor-table", "Rival A") == [
            "Rival A",
            "2",
            "1",
            "1",
            "50%",
            "$1.0K",
        ]
        assert row_of(page, "competitor-table", "Rival B") == ["Rival B", "1", "0", "1", "0%", "–"]
        assert "$5.0K" not in page  # Cat's wins
    cat = sign_in(app, session, org, "cat").get(f"/competitors?{Q1}").text
    assert row_of(cat, "competitor-table", "Rival B") == ["Rival B", "2", "2", "0", "100%", "$5.0K"]


def test_competitor_figures_drill_down_to_the_deals_behind_them(
    app: FastAPI, session: Session, org: Org
) -> None:
    client = sign_in(app, session, org, "director")
    page = client.get(f"/competitors?{Q1}").text
    closed, won, lost = (link(page, "competitor-table", "Rival A", i) for i in range(3))
    assert count(client.get(closed).text, "deal-count") == "3 deals"
    won_page = client.get(won).text
    assert count(won_page, "deal-count") == "1 deal"
    assert "ann won 1000 Rival A" in won_page
    assert count(client.get(lost).text, "deal-count") == "2 deals"
    cell = link(page, "competitor-matrix", "Rival B", -1)
    assert parse_qs(urlsplit(cell).query)["quarter"] == ["2025-01-01"]
    assert count(client.get(cell).text, "deal-count") == "3 deals"
    ann = sign_in(app, session, org, "ann")
    mine = ann.get(f"/competitors?{Q1}").text
    drilled = ann.get(link(mine, "competitor-table", "Rival A", 0)).text
    assert count(drilled, "deal-count") == "2 deals"
    assert "cat lost 700" not in drilled


def test_lead_conversion_by_source_matches_the_hand_counts_and_drills_into_leads(
    app: FastAPI, session: Session, org: Org
) -> None:
    client = sign_in(app, session, org, "director")
    page = client.get(f"/lead-conversion?{Q1}").text
    assert row_of(page, "lead-table", "Web") == ["Web", "5", "3", "60.0%", "2", "40.0%", "$3.0K"]
    assert row_of(page, "lead-table", "Event") == ["Event", "1", "0", "0.0%", "0", "0.0%", "–"]
    leads, converted, won, booked = (link(page, "lead-table", "Web", i) for i in range(4))
    assert count(client.get(leads).text, "lead-count") == "5 leads"
    converted_page = client.get(converted).text
    assert count(converted_page, "lead-count") == "3 leads"
    assert "ann won 1000 Rival A" in converted_page  # the deal each lead converted into
    assert count(client.get(won).text, "lead-count") == "2 leads"
    total = client.get(booked).text
    assert "$3,000" in re.search(r'data-testid="leads-total".*?</tr>', total, re.S).group(0)  # type: ignore[union-attr]
    ann = sign_in(app, session, org, "ann")
    mine = ann.get(f"/lead-conversion?{Q1}").text
    assert row_of(mine, "lead-table", "Web") == ["Web", "3", "2", "66.7%", "1", "33.3%", "$1.0K"]
    listed = ann.get(link(mine, "lead-table", "Web", 0)).text
    assert count(listed, "lead-count") == "3 leads"
    assert "cat Web" not in listed


def test_retention_and_cohort_figures_match_the_contracts_and_drill_into_accounts(
    app: FastAPI, session: Session, org: Org
) -> None:
    client = sign_in(app, session, org, "director")
    page = client.get(f"/retention?{Q1}").text
    # Q1 2025: Acme 1200 -> 1200, Initech 600 -> 600, Globex 500 -> 0.
    assert "78.3%" in re.search(
        r'data-testid="kpi-gross_revenue_retention".*?</a>', page, re.S
    ).group(0)  # type: ignore[union-attr]
    assert row_of(page, "retention-table", "Q1 2025") == [
        "Q1 2025",
        "3",
        "1 (33%)",
        "78.3%",
        "78.3%",
    ]
    churned = client.get(link(page, "retention-table", "Q1 2025", 1)).text
    assert count(churned, "account-count") == "1 account"
    assert "Globex" in churned
    # Cohort Q1 2024 (Acme 1000, Initech 800): 12 months on 1800 of 1800; 18 months 1200.
    cohort = row_of(page, "cohort-table", "Q1 2024")
    assert cohort[:4] == ["Q1 2024", "2", "$1.8K", "100%"]
    assert cohort[7] == "100%"  # 12 months
    assert cohort[9] == "67%"  # 18 months
    accounts = client.get(link(page, "cohort-table", "Q1 2024", 4)).text  # 12 months
    assert count(accounts, "account-count") == "2 accounts"
    for text in ("Acme", "Initech", "contracted", "expanded", "+$200", "−$200"):
        assert text in accounts
    ann = sign_in(app, session, org, "ann")
    mine = ann.get(f"/retention?{Q1}").text
    assert row_of(mine, "retention-table", "Q1 2025") == [
        "Q1 2025",
        "1",
        "0 (0%)",
        "100.0%",
        "100.0%",
    ]
    listed = ann.get(link(mine, "retention-table", "Q1 2025", 0)).text
    assert "Acme" in listed
    assert "Globex" not in listed
    assert "Initech" not in listed
    forged = ann.get(f"/retention/accounts?{Q1}&metric=churn_rate&only=churned").text
    assert count(forged, "account-count") == "0 accounts"


def test_ramp_cohorts_match_the_hand_computed_bookings_per_rep_and_drill_into_deals(
    app: FastAPI, session: Session, org: Org
) -> None:
    client = sign_in(app, session, org, "director")
    page = client.get(f"/ramp?{YEAR_2024}").text
    q1 = row_of(page, "ramp-table", "Q1 2024")
    # Ann, Bob, Cat: month 0 (1000 + 0 + 1500) / 3, month 1 (2000 + 600 + 0) / 3. Full monthly
    # quota: 3000 a quarter prorated by days (January 1021.98, February 956.04): Cat reached
    # it in his hire month, Ann in her month 1, Bob never: median 0.5 months, 2 ramped.
    assert q1[:5] == ["Q1 2024", "3", "0.5 mo (2 ramped)", "$833", "$867"]
    # Dan: 900 in April against 989.01.
    assert row_of(page, "ramp-table", "Q2 2024")[:4] == ["Q2 2024", "1", "not yet", "$900"]
    deals = client.get(link(page, "ramp-table", "Q1 2024", 1)).text  # month 1
    assert count(deals, "deal-count") == "2 deals"
    assert "ann won 2000" in deals
    assert "bob won 600" in deals
    ann = sign_in(app, session, org, "ann")
    mine = ann.get(f"/ramp?{YEAR_2024}").text
    assert row_of(mine, "ramp-table", "Q1 2024")[:5] == [
        "Q1 2024",
        "1",
        "1.0 mo (1 ramped)",
        "$1.0K",
        "$2.0K",
    ]
    assert "Q2 2024" not in mine  # Dan's cohort
    drilled = ann.get(link(mine, "ramp-table", "Q1 2024", 0)).text
    assert count(drilled, "deal-count") == "1 deal"


def test_a_filter_the_figures_cannot_apply_is_said_not_ignored_silently(
    app: FastAPI, session: Session, org: Org
) -> None:
    client = sign_in(app, session, org, "director")
    team = org.teams["east"].id
    retention = client.get(f"/retention?{Q1}&team={team}").text
    assert "The team filter does not apply" in retention
    competitors = client.get(f"/competitors?{Q1}&team={team}").text
    assert 'data-testid="ignored-filters"' not in competitors
    # East is Mia's team tree: Dan only (through East SMB), who met no competitor.
    assert "Rival A" not in table(competitors, "competitor-table")[0][0]


def test_drill_lists_refuse_metrics_about_other_records(
    app: FastAPI, session: Session, org: Org
) -> None:
    client = sign_in(app, session, org, "director")
    assert client.get(f"/retention/accounts?{Q1}&metric=bookings").status_code == 422
    assert client.get(f"/lead-conversion/leads?{Q1}&metric=churn_rate").status_code == 422
