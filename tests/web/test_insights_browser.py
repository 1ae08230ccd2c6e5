"""Chromium opens each insight page, draws its charts, clicks a chart and a table figure through
to the records behind them; screenshots go to /tmp/salesops-insights-*.png."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from salesops.api import create_app
from salesops.auth import service as auth
from salesops.config import Settings
from salesops.db import make_engine, session_scope
from tests.databases import fresh_sqlite_url, migrated_engine
from tests.insights_world import build_world
from tests.orgchart import PASSWORD, Org
from tests.web.browser import LiveServer, launch_browser, require_chromium

pytestmark = pytest.mark.browser

CHARTS = {
    "/retention?period=2025-Q1": ("retention-trend", "cohort-curves"),
    "/competitors?period=2025-Q1": ("competitor-trend",),
    "/lead-conversion?period=2025-Q1": ("lead-sources", "lead-trend"),
    "/ramp?period=2024": ("ramp-curves",),
}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Org]]:
    require_chromium()
    url = fresh_sqlite_url(tmp_path_factory.mktemp("insights"), "insights")
    migrated_engine(url).dispose()
    engine = make_engine(url)
    from salesops.pipeline import stages

    with session_scope(engine) as session:
        stages.ensure_stages(session)
        org = build_world(session).org
        for name in ("director", "ann"):
            auth.set_password(session, org.users[name], PASSWORD)
    app = create_app(Settings(database_url=url), engine=engine)
    with LiveServer(app) as server:
        yield server.url, org
    engine.dispose()


@pytest.fixture(scope="module")
def browser(served: tuple[str, Org]) -> Iterator[Any]:
    yield from launch_browser()


def signed_in(browser: Any, base: str, username: str) -> Any:
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    page.set_default_timeout(120_000)
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert "/login" not in page.url
    return page


def test_a_director_sees_every_insight_chart_drawn_and_clicks_through_to_the_records(
    served: tuple[str, Org], browser: Any
) -> None:
    base, _ = served
    page = signed_in(browser, base, "t_director")
    for path, charts in CHARTS.items():
        page.goto(f"{base}{path}")
        for chart in charts:
            page.wait_for_selector(f"#{chart} .main-svg")
        name = path.strip("/").split("?")[0]
        page.screenshot(path=f"/tmp/salesops-insights-{name}.png", full_page=True)
    # A bar of the leads chart: the Web leads (5), as the metrics service counts them.
    page.goto(f"{base}/lead-conversion?period=2025-Q1")
    page.wait_for_selector("#lead-sources .main-svg")
    bar = page.locator("#lead-sources .bars .point path").first
    box = bar.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_url(re.compile(r".*/lead-conversion/leads\?.*lead_source=Web.*"))
    assert page.get_by_test_id("lead-count").inner_text() == "5 leads"
    # A table figure: the deals closed against Rival A.
    page.goto(f"{base}/competitors?period=2025-Q1")
    page.get_by_test_id("competitor-table").get_by_role("link", name="3").first.click()
    page.wait_for_url(re.compile(r".*/deals\?.*competitor=Rival.*"))
    assert page.get_by_test_id("deal-count").inner_text() == "3 deals"
    page.screenshot(path="/tmp/salesops-insights-drill.png", full_page=True)


def test_a_rep_sees_only_their_own_competitors_and_leads(
    served: tuple[str, Org], browser: Any
) -> None:
    base, _ = served
    page = signed_in(browser, base, "t_ann")
    page.goto(f"{base}/competitors?period=2025-Q1")
    page.wait_for_selector("#competitor-trend .main-svg")
    rows = page.get_by_test_id("competitor-table").inner_text()
    assert "Rival A\t2\t1\t1\t50%" in rows
    assert "$5.0K" not in rows  # Cat's wins against Rival B
    page.screenshot(path="/tmp/salesops-insights-competitors-rep.png", full_page=True)
    page.goto(f"{base}/lead-conversion?period=2025-Q1")
    assert "Web\t3\t2" in page.get_by_test_id("lead-table").inner_text()
