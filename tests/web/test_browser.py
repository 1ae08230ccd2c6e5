"""Chromium drives the served app: sign in, overview, a filter, drill-down, a deal, sign out."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from salesops.api import create_app
from salesops.auth import service as auth
from salesops.config import Settings
from salesops.db import make_engine, session_scope
from salesops.web import periods
from tests.databases import fresh_sqlite_url, migrated_engine
from tests.orgchart import PASSWORD, Org, build_org
from tests.web.browser import LiveServer, launch_browser, require_chromium
from tests.web.conftest import IN_Q1_2025

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Org]]:
    require_chromium()
    url = fresh_sqlite_url(tmp_path_factory.mktemp("browser"), "browser")
    migrated_engine(url).dispose()
    engine = make_engine(url)
    from salesops.pipeline import stages

    with session_scope(engine) as session:
        stages.ensure_stages(session)
        org = build_org(session)
        for name in ("director", "ann", "admin"):
            auth.set_password(session, org.users[name], PASSWORD)
    app = create_app(Settings(database_url=url), engine=engine)
    with pytest.MonkeyPatch.context() as patch, LiveServer(app) as server:
        # Q1 2025 in progress: its seven deals are the open pipeline (tests.web.conftest).
        patch.setattr(periods, "today", lambda: IN_Q1_2025)
        yield server.url, org
    engine.dispose()


@pytest.fixture(scope="module")
def browser(served: tuple[str, Org]) -> Iterator[Any]:
    yield from launch_browser()


def sign_in(browser: Any, base: str, username: str, path: str) -> Any:
    page = browser.new_page(viewport={"width": 1366, "height": 860})
    page.set_default_timeout(90_000)
    page.goto(f"{base}{path}")
    assert "/login?next=" in page.url
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert "/login" not in page.url
    return page


def test_a_director_signs_in_filters_drills_down_opens_a_deal_and_signs_out(
    served: tuple[str, Org], browser: Any
) -> None:
    base, org = served
    page = sign_in(browser, base, "t_director", "/?period=2025-Q1")
    assert page.get_by_test_id("role").inner_text() == "director"
    page.wait_for_selector("#trend .main-svg")  # Plotly drew the bookings chart
    assert "$9.0K" in page.get_by_test_id("kpi-pipeline_value").inner_text()
    # The East team: Dan is its only member (through the East SMB sub-team).
    page.select_option("[data-testid=filter-team]", str(org.teams["east"].id))
    page.wait_for_url(re.compile(rf".*team={org.teams['east'].id}.*"))
    assert "$1.0K" in page.get_by_test_id("kpi-pipeline_value").inner_text()
    page.get_by_test_id("kpi-pipeline_value").click()
    page.wait_for_url(re.compile(r".*/deals\?.*metric=pipeline_value.*"))
    assert page.get_by_test_id("deal-count").inner_text() == "1 deal"
    page.get_by_role("link", name="dan deal 1").click()
    page.wait_for_url(re.compile(rf".*/opportunities/{org.opps['dan'][0].id}$"))
    assert "Created in Prospecting" in page.get_by_test_id("timeline").inner_text()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r".*/login$"))
    page.goto(f"{base}/deals")
    assert "/login" in page.url


def test_a_sales_rep_sees_only_their_own_deals(served: tuple[str, Org], browser: Any) -> None:
    base, org = served
    page = sign_in(browser, base, "t_ann", "/deals?period=2025-Q1")
    names = page.locator("[data-testid=deals] tbody td:first-child a").all_inner_texts()
    assert sorted(names) == ["ann deal 1", "ann deal 2"]
    page.goto(f"{base}/opportunities/{org.opps['cat'][0].id}")
    assert "404" in page.content()


def test_a_sales_rep_downloads_a_table_as_csv_and_a_chart_as_png(
    served: tuple[str, Org], browser: Any
) -> None:
    base, _ = served
    page = sign_in(browser, base, "t_ann", "/deals?period=2025-Q1")
    assert page.get_by_test_id("deal-totals").inner_text().split() == [
        "Total",
        "2",
        "deals",
        "$3,000",
    ]
    with page.expect_download() as table:
        page.get_by_test_id("csv-deals").click()
    lines = Path(table.value.path()).read_text().splitlines()
    assert lines[0].startswith("id,deal,account,owner,stage,amount")
    assert sorted(line.split(",")[1] for line in lines[1:]) == ["ann deal 1", "ann deal 2"]
    page.goto(f"{base}/?period=2025-Q1")
    page.wait_for_selector("#by-stage .main-svg")
    page.screenshot(path="/tmp/h4-overview-rep.png", full_page=True)
    with page.expect_download() as chart:
        page.get_by_test_id("png-by-stage").click()
    assert chart.value.suggested_filename == "by-stage.png"
    assert Path(chart.value.path()).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_security_policy_blocks_nothing_the_dashboard_uses_and_forbids_framing(
    served: tuple[str, Org], browser: Any
) -> None:
    """Every page renders its charts and htmx under the Content-Security-Policy with no
    violation reported; a page of another origin cannot frame the admin's Users form."""
    base, _org = served
    page = sign_in(browser, base, "t_admin", "/")
    violations: list[str] = []
    page.on(
        "console",
        lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation', e => "
        "console.error('Content Security Policy violation: ' + e.violatedDirective "
        "+ ' ' + e.blockedURI));"
    )
    for path, drawn in (
        ("/?period=2025-Q1", "#trend .main-svg"),
        ("/pipeline?period=2025-Q1", ".main-svg"),
        ("/funnel?period=2025-Q1", ".main-svg"),
        ("/leaderboard?period=2025-Q1", "table"),
        ("/health", "main"),
        ("/deals?period=2025-Q1", "[data-testid=deals]"),
        ("/forecast", "main"),
        ("/admin/users", "[data-testid=users]"),
        ("/admin/audit", "[data-testid=audit]"),
        ("/admin/quarantine", "[data-testid=quarantine]"),
        ("/api/v1/docs", ".swagger-ui .info"),
    ):
        page.goto(f"{base}{path}")
        page.wait_for_selector(drawn)
        page.wait_for_load_state("networkidle")
        name = path.strip("/").split("?")[0].replace("/", "-") or "overview"
        page.screenshot(path=f"/tmp/csp-{name}.png", full_page=True)
    assert violations == []
    # The admin's own browser, showing a document of another origin.
    framer = page
    framer.goto("about:blank")
    framer.set_content(f'<iframe src="{base}/admin/users" width="800" height="400"></iframe>')
    framer.wait_for_timeout(2000)
    (child,) = framer.main_frame.child_frames
    try:
        shown = child.evaluate("document.body ? document.body.innerText : ''")
    except Exception:  # the blocked frame is Chromium's error page, closed to scripts
        shown = ""
    assert "Role and access" not in shown
    assert "Sign in" not in shown
