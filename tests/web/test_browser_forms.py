"""Chromium fills in the dashboard's forms as a rep, a manager, ops and an analyst would.

Screenshots of each form go to $SALESOPS_SCREENSHOTS (default: the test's temporary folder).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from salesops.api import create_app
from salesops.auth import service as auth
from salesops.config import Settings
from salesops.db import make_engine, session_scope
from tests.databases import fresh_sqlite_url, migrated_engine
from tests.orgchart import PASSWORD, Org, build_org
from tests.web.browser import LiveServer, launch_browser, require_chromium
from tests.web.test_browser import sign_in

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Org, Path]]:
    require_chromium()
    folder = tmp_path_factory.mktemp("forms")
    url = fresh_sqlite_url(folder, "forms")
    migrated_engine(url).dispose()
    engine = make_engine(url)
    from salesops.pipeline import stages

    with session_scope(engine) as session:
        stages.ensure_stages(session)
        org = build_org(session)
        for name in ("ann", "mia", "analyst", "ops_rep"):
            auth.set_password(session, org.users[name], PASSWORD)
    shots = Path(os.environ.get("SALESOPS_SCREENSHOTS", folder))
    shots.mkdir(parents=True, exist_ok=True)
    app = create_app(Settings(database_url=url), engine=engine)
    with LiveServer(app) as server:
        yield server.url, org, shots
    engine.dispose()


@pytest.fixture(scope="module")
def browser(served: tuple[str, Org, Path]) -> Iterator[Any]:
    yield from launch_browser()


def test_a_rep_corrects_a_mistake_updates_their_deal_and_meets_a_stale_form(
    served: tuple[str, Org, Path], browser: Any
) -> None:
    base, org, shots = served
    deal = org.opps["ann"][0].id
    page = sign_in(browser, base, "t_ann", f"/opportunities/{deal}")
    form = page.get_by_test_id("deal-form")
    form.get_by_label("Amount").fill("twelve hundred")
    form.get_by_label("Stage").select_option("Closed Lost")
    form.get_by_role("button", name="Save changes").click()
    page.wait_for_load_state()
    assert page.get_by_test_id("error-amount").inner_text() == "enter a number"
    assert page.get_by_test_id("error-loss_reason").inner_text() == "required when the deal is lost"
    page.screenshot(path=str(shots / "deal-form-errors.png"), full_page=True)
    form = page.get_by_test_id("deal-form")
    form.get_by_label("Amount").fill("1200")
    form.get_by_label("Stage").select_option("Proposal")
    form.get_by_label("Next step").fill("Pricing call on Tuesday")
    form.get_by_role("button", name="Save changes").click()
    page.wait_for_url(re.compile(r".*\?saved=1$"))
    assert page.get_by_test_id("deal-saved").is_visible()
    assert page.get_by_test_id("next-step").inner_text() == "Pricing call on Tuesday"
    assert "Proposal" in page.get_by_test_id("timeline").inner_text()
    page.screenshot(path=str(shots / "deal-form-saved.png"), full_page=True)
    # Her manager changes the amount while Ann still has the page open.
    manager = sign_in(browser, base, "t_mia", f"/opportunities/{deal}")
    manager.get_by_test_id("deal-form").get_by_label("Amount").fill("1500")
    manager.get_by_role("button", name="Save changes").click()
    manager.wait_for_url(re.compile(r".*\?saved=1$"))
    form = page.get_by_test_id("deal-form")
    form.get_by_label("Amount").fill("999")
    form.get_by_role("button", name="Save changes").click()
    page.wait_for_load_state()
    assert "Someone else changed this record" in page.get_by_test_id("form-stale").inner_text()
    assert page.get_by_test_id("deal-form").get_by_label("Amount").input_value() == "1500.00"
    page.screenshot(path=str(shots / "deal-form-stale.png"), full_page=True)


def test_a_rep_submits_a_call_and_a_manager_adjusts_their_team(
    served: tuple[str, Org, Path], browser: Any
) -> None:
    base, org, shots = served
    rep = sign_in(browser, base, "t_ann", "/forecast/calls?period=2025-Q1")
    form = rep.get_by_test_id("call-form")
    form.get_by_label("Commit").fill("1000")
    form.get_by_label("Best case").fill("1500")
    form.get_by_label("Pipeline").fill("3000")
    form.get_by_role("button", name="Submit call").click()
    rep.wait_for_selector("[data-testid=call-saved]")
    # The form starts again from her standing call (the roll-up's scoping is not this form's).
    assert rep.get_by_test_id("call-form").get_by_label("Commit").input_value() == "1000.00"
    rep.screenshot(path=str(shots / "call-form-rep.png"), full_page=True)
    manager = sign_in(browser, base, "t_mia", "/forecast/calls?period=2025-Q1")
    form = manager.get_by_test_id("call-form")
    form.get_by_label("Call for").select_option(str(org.teams["east"].id))
    form.get_by_label("Commit").fill("9000")
    form.get_by_label("Best case").fill("8000")
    form.get_by_label("Pipeline").fill("20000")
    form.get_by_role("button", name="Submit call").click()
    manager.wait_for_load_state()
    assert "exceeds best case" in manager.get_by_test_id("error-commit").inner_text()
    manager.screenshot(path=str(shots / "call-form-error.png"), full_page=True)
    form = manager.get_by_test_id("call-form")
    form.get_by_label("Best case").fill("12000")
    form.get_by_role("button", name="Submit call").click()
    manager.wait_for_selector("[data-testid=call-saved]")
    assert "adjusted" in manager.get_by_test_id("calls-table").inner_text()
    manager.screenshot(path=str(shots / "call-form-saved.png"), full_page=True)


def test_ops_maintains_quotas(served: tuple[str, Org, Path], browser: Any) -> None:
    base, org, shots = served
    page = sign_in(browser, base, "t_ops_rep", "/quotas?period=2025-Q1")
    form = page.get_by_test_id("quota-form")
    form.get_by_label("Carried by").select_option(f"rep:{org.reps['ann'].id}")
    form.get_by_label("Amount").fill("120000")
    form.get_by_role("button", name="Add quota").click()
    page.wait_for_selector("[data-testid=quota-saved]")
    assert "120,000" in page.get_by_test_id("quotas").inner_text()
    page.locator("[data-testid^=edit-quota-]").first.click()
    form = page.get_by_test_id("quota-form")
    form.get_by_label("Amount").fill("150000")
    form.get_by_role("button", name="Save quota").click()
    page.wait_for_selector("[data-testid=quota-saved]")
    assert "150,000" in page.get_by_test_id("quotas").inner_text()
    page.screenshot(path=str(shots / "quotas-ops.png"), full_page=True)


def test_an_analyst_sees_no_write_controls_anywhere(
    served: tuple[str, Org, Path], browser: Any
) -> None:
    base, org, shots = served
    page = sign_in(browser, base, "t_analyst", f"/opportunities/{org.opps['cat'][0].id}")
    assert page.get_by_test_id("deal-form").count() == 0
    assert page.locator("form[method=post]:not([action='/logout'])").count() == 0
    for path in ("/forecast/calls?period=2025-Q1", "/quotas?period=2025-Q1"):
        page.goto(f"{base}{path}")
        assert page.locator("form[method=post]:not([action='/logout'])").count() == 0, path
        assert page.locator("[data-testid^=edit-quota-]").count() == 0
    page.screenshot(path=str(shots / "quotas-analyst.png"), full_page=True)
    assert page.get_by_role("link", name="Import").count() == 0
    page.goto(f"{base}/imports")
    assert "403" in page.content()
