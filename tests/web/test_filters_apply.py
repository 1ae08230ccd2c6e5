"""Every filter a dashboard page shows changes what the page shows; a filter that cannot
apply is not shown (or its figure says so) instead of being silently ignored."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from salesops.models import Account, Territory
from salesops.pipeline import service
from salesops.web import periods
from tests.orgchart import Org
from tests.web.test_pages import sign_in

NO_FILTERS = {"period": "2025-Q1", "team": "", "territory": "", "segment": "", "rep": ""}


@pytest.fixture
def varied(session: Session, org: Org, today: pytest.MonkeyPatch) -> dict[str, str]:
    """A value of each filter that selects some of the org's seven deals, not all of them.

    Bob's deal is in territory North; Initech (Cat's second deal) is an Enterprise account;
    Ann's second deal slipped from 31 Mar to 30 Apr on 1 Feb 2025 (pushed out of Q1).
    """
    north = Territory(name="North")
    session.add(north)
    session.flush()
    org.opps["bob"][0].territory_id = north.id
    initech = session.get(Account, org.accounts["initech"])
    assert initech is not None
    initech.segment = "Enterprise"
    service.change_close_date(
        session,
        org.opps["ann"][1],
        date(2025, 4, 30),
        at=datetime(2025, 2, 1, 9, tzinfo=UTC),
    )
    session.commit()
    return {
        "period": "2024-Q4",
        "team": str(org.teams["east"].id),
        "territory": str(north.id),
        "segment": "Enterprise",
        "rep": str(org.reps["bob"].id),
    }


def shown(html: str) -> str:
    """What a page shows: the text of its main part and its charts' figures, without the filter
    bar, the subtitle (which names the filters) or the links (which carry them)."""
    main = html[html.index("<main") :]
    main = re.sub(r'<form class="filters".*?</form>', " ", main, flags=re.S)
    main = re.sub(r'<div class="subtitle">.*?</div>', " ", main, flags=re.S)
    charts = []
    for spec in re.findall(r'<script type="application/json"[^>]*>(.*?)</script>', main, re.S):
        data = json.loads(spec)["data"]
        charts.append([{k: v for k, v in t.items() if k != "customdata"} for t in data])
    main = re.sub(r"<script.*?</script>", " ", main, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", main).split()) + json.dumps(charts)


def filters_on(html: str) -> list[str]:
    bar = re.search(r'<form class="filters".*?</form>', html, re.S)
    assert bar
    return re.findall(r'<select name="(\w+)"', bar.group(0))


def get(client: TestClient, path: str, **changes: str) -> str:
    reply = client.get(path, params={**NO_FILTERS, **changes})
    assert reply.status_code == 200, reply.text[:500]
    return reply.text


def test_every_filter_on_every_page_changes_what_it_shows(
    app: FastAPI, session: Session, org: Org, varied: dict[str, str]
) -> None:
    client = sign_in(app, session, org, "director")
    pages = ["/", "/pipeline", "/funnel", "/leaderboard", "/health", "/deals"]
    pages.append(f"/reps/{org.reps['ann'].id}")
    for path in pages:
        base = get(client, path)
        names = filters_on(base)
        expected = ["period"] if path.startswith("/reps/") else list(NO_FILTERS)
        assert names == expected, (path, names)
        for name in names:
            assert shown(get(client, path, **{name: varied[name]})) != shown(base), (path, name)


def test_the_deals_page_lists_the_deals_closing_in_the_period(
    app: FastAPI, session: Session, org: Org, varied: dict[str, str]
) -> None:
    client = sign_in(app, session, org, "director")
    count = r'data-testid="deal-count">(\d+) deals?<'
    # Before, every period listed all seven deals ("20,000 deals" under one quarter).
    q1 = get(client, "/deals")
    assert re.findall(count, q1) == ["6"]  # Ann's second deal now closes on 30 Apr
    assert "closing in Q1 2025 (01 Jan 2025 – 31 Mar 2025)" in q1
    assert re.findall(count, get(client, "/deals", period="2025-Q2")) == ["1"]
    assert re.findall(count, get(client, "/deals", period="2024-Q4")) == ["0"]
    # The team, territory, segment and rep filters narrow it further: East's members are Mia
    # (its manager) and Dan (East SMB), one deal each.
    assert re.findall(count, get(client, "/deals", team=varied["team"])) == ["2"]
    assert re.findall(count, get(client, "/deals", territory=varied["territory"])) == ["1"]
    assert re.findall(count, get(client, "/deals", segment="Enterprise")) == ["1"]


def test_lists_of_what_is_true_now_hide_the_period_instead_of_ignoring_it(
    app: FastAPI,
    session: Session,
    org: Org,
    varied: dict[str, str],
    today: pytest.MonkeyPatch,
) -> None:
    today.setattr(periods, "today", lambda: date(2025, 4, 15))
    client = sign_in(app, session, org, "director")
    past_due = get(client, "/deals", status="open", past_due="1")
    assert filters_on(past_due) == ["team", "territory", "segment", "rep"]
    # On 15 Apr, six deals are past their 31 Mar close date (Ann's second moved to 30 Apr).
    assert re.search(r'data-testid="deal-count">6 deals<', past_due)
    stalled = get(client, "/deals", metric="stalled_deals", team=varied["team"])
    assert "period" not in filters_on(stalled)
    # The health page's link keeps the team: East's 2 deals are past their close date.
    health = get(client, "/health", team=varied["team"])
    link = re.search(r'href="(/deals\?[^"]*past_due=1[^"]*)"', health)
    assert link
    assert f"team={varied['team']}" in link.group(1)
    followed = client.get(link.group(1).replace("&amp;", "&")).text
    assert re.search(r'data-testid="deal-count">2 deals<', followed)


def test_quota_figures_say_they_cannot_be_cut_by_segment_rather_than_ignore_it(
    app: FastAPI, session: Session, org: Org, varied: dict[str, str]
) -> None:
    client = sign_in(app, session, org, "director")
    page = get(client, "/", segment="Enterprise")
    card = re.search(r'data-testid="kpi-quota_attainment">(.*?)</a>', page, re.S)
    assert card
    assert "not available by segment" in card.group(1)
    assert "quotas are not set by segment" in page
    assert 'data-testid="quota-missing"' in get(client, "/leaderboard", segment="Enterprise")
