"""Periods in progress are compared period-to-date; a finished period shows the pipeline it
started with. Every expected figure is worked out by hand next to the deals that make it."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from fastapi import FastAPI
from sqlalchemy.orm import Session

from salesops.models import Opportunity
from salesops.pipeline import service
from salesops.web import periods
from salesops.web.filters import Filters
from tests.factories import make_opportunity, make_rep
from tests.orgchart import Org
from tests.web.test_pages import sign_in

# 3 Nov 2026 is day 34 of Q4 2026 (31 days of October + 3); the same 34 days of Q3 2026 run
# from 1 Jul to 3 Aug.
TODAY = date(2026, 11, 3)


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


def build_book(session: Session) -> None:
    """Deals of one rep, Zed:

    Q2 2026  Q2X  $25,000 created 1 Mar, closes 15 Jun, still open   -> Q2 pipeline at start
    Q3 2026  P1   $30,000 created 10 Jun, closes 31 Aug, won 20 Aug   \\ Q3 pipeline at start
             P2   $20,000 created 5 Jun, closes 30 Sep, lost 10 Sep   /  = $50,000
             W1   $10,000 created 2 Jul, closes 20 Jul, won 20 Jul    (first 34 days of Q3)
    Q4 2026  W2   $12,000 created 1 Oct, closes 15 Oct, won 15 Oct
             O4   $40,000 created 1 Sep, closes 15 Dec, open          -> Q4 pipeline now

    Bookings: Q3 = $40,000, of which $10,000 in its first 34 days; Q4 so far = $12,000.
    """
    zed = make_rep(session, name="Zed")

    def deal(name: str, amount: int, created: date, closes: date) -> Opportunity:
        return make_opportunity(
            session, owner=zed, amount=amount, name=name, at=at(created), close_date=closes
        )

    deal("Q2X", 25_000, date(2026, 3, 1), date(2026, 6, 15))
    p1 = deal("P1", 30_000, date(2026, 6, 10), date(2026, 8, 31))
    p2 = deal("P2", 20_000, date(2026, 6, 5), date(2026, 9, 30))
    w1 = deal("W1", 10_000, date(2026, 7, 2), date(2026, 7, 20))
    w2 = deal("W2", 12_000, date(2026, 10, 1), date(2026, 10, 15))
    deal("O4", 40_000, date(2026, 9, 1), date(2026, 12, 15))
    service.close_opportunity(session, p1, won=True, at=at(date(2026, 8, 20)))
    service.close_opportunity(session, p2, won=False, at=at(date(2026, 9, 10)), loss_reason="price")
    service.close_opportunity(session, w1, won=True, at=at(date(2026, 7, 20)))
    service.close_opportunity(session, w2, won=True, at=at(date(2026, 10, 15)))
    session.commit()


@pytest.fixture
def on_3_nov_2026(today: pytest.MonkeyPatch) -> None:
    today.setattr(periods, "today", lambda: TODAY)


def test_a_period_in_progress_is_compared_with_the_same_days_of_the_previous_one() -> None:
    q4 = periods.comparison(Filters(period="2026-Q4"), TODAY)
    assert (q4.state, q4.days, q4.start, q4.moment) == (
        "current",
        34,
        date(2026, 7, 1),
        date(2026, 8, 3),
    )
    assert q4.flow_text == "same 34 days of Q3 2026"
    # 31 March is day 31 of March; February has 28 days, so the comparison stops at its end.
    march = periods.comparison(Filters(period="2026-03"), date(2026, 3, 31))
    assert (march.days, march.moment, march.label) == (31, date(2026, 2, 28), "Feb 2026")
    q3 = periods.comparison(Filters(period="2026-Q3"), TODAY)
    assert (q3.state, q3.start, q3.end, q3.flow_text) == (
        "past",
        date(2026, 4, 1),
        date(2026, 6, 30),
        "Q2 2026",
    )


def kpi(html: str, name: str) -> str:
    match = re.search(rf'data-testid="kpi-{name}">(.*?)</a>', html, re.S)
    assert match, f"no {name} card"
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(1)).split())


def test_bookings_one_month_in_compare_with_the_same_days_of_last_quarter(
    app: FastAPI, session: Session, org: Org, on_3_nov_2026: None
) -> None:
    build_book(session)
    page = sign_in(app, session, org, "director").get("/?period=2026-Q4").text
    # $12,000 against the $10,000 of 1 Jul-3 Aug: up 20% (the whole of Q3, $40,000, read -70%).
    assert kpi(page, "bookings") == "Bookings $12.0K ▲ 20.0% vs $10.0K · same 34 days of Q3 2026"
    # One win, no loss, against W1 alone by 3 Aug (P2's loss came later): no change.
    assert kpi(page, "win_rate") == "Win rate 100.0% 0.0% vs 100.0% · same 34 days of Q3 2026"
    # W2 took 14 days (1-15 Oct), W1 18 (2-20 Jul): 14 / 18 - 1 = -22.2%.
    assert kpi(page, "sales_cycle_length") == (
        "Sales cycle length 14 days ▼ 22.2% vs 18 days · same 34 days of Q3 2026"
    )
    # Open pipeline closing in Q4 now ($40,000, O4) against Q3's as it stood on 3 Aug: P1 and
    # P2 ($50,000); W1 had closed on 20 Jul. Down 20%.
    assert (
        kpi(page, "pipeline_value") == "Pipeline value $40.0K ▼ 20.0% vs $50.0K · day 34 of Q3 2026"
    )


def test_a_finished_period_shows_the_pipeline_it_started_with(
    app: FastAPI, session: Session, org: Org, on_3_nov_2026: None
) -> None:
    build_book(session)
    client = sign_in(app, session, org, "director")
    page = client.get("/?period=2026-Q3").text
    # On 1 Jul, P1 and P2 ($50,000) were open and due in Q3; on 1 Apr, Q2X ($25,000) was due in
    # Q2. Before, Q3 read "$0 ▼100%" (everything has closed since).
    assert kpi(page, "pipeline_value") == (
        "Pipeline value at the start of Q3 2026 $50.0K ▲ 100.0% vs $25.0K · start of Q2 2026"
    )
    # The whole of Q3's bookings ($40,000) against the whole of Q2's (none); win rate 2 of 3.
    assert kpi(page, "bookings") == "Bookings $40.0K no comparison vs $0 · Q2 2026"
    assert kpi(page, "win_rate") == "Win rate 66.7% no comparison vs – · Q2 2026"
    note = re.search(r'data-testid="pipeline-note">([^<]+)<', page)
    assert note
    assert "as they stood at its start (01 Jul 2026)" in note.group(1)
    assert "No open deals" not in page
    # The stage chart's bar and the card lead to the two deals as they stood then.
    link = re.search(r'href="(/deals\?[^"]*metric=pipeline_value[^"]*)"', page)
    assert link
    assert "as_of=2026-07-01" in link.group(1)
    deals = client.get(link.group(1).replace("&amp;", "&")).text
    assert re.search(r'data-testid="deal-count">2 deals<', deals)
    board = client.get("/leaderboard?period=2026-Q3").text
    assert "Pipeline at start" in board
    assert "$50.0K" in board
