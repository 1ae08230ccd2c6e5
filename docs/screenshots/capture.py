"""Capture the dashboard screenshots in this directory from a running salesops.

    salesops demo && salesops users demo-logins && salesops serve --port 8765 &
    python docs/screenshots/capture.py http://127.0.0.1:8765 --period 2026-Q3

Uses Debian's Chromium through Playwright (never `playwright install`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from playwright.sync_api import sync_playwright

ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url", nargs="?", default="http://127.0.0.1:8765")
    parser.add_argument("--period", default="2026-Q3")
    parser.add_argument("--password", default="salesops-demo")
    parser.add_argument("--rep", default=None, help="username of a sales rep to show scoping")
    args = parser.parse_args()
    shots = [
        ("director", "overview", f"/?period={args.period}"),
        ("director", "pipeline", "/pipeline"),
        ("director", "funnel", "/funnel"),
        ("director", "leaderboard", "/leaderboard"),
        ("director", "health", "/health"),
        ("director", "deals-drilldown", "/deals?metric=bookings"),
        ("director", "retention", "/retention"),
        ("director", "competitors", "/competitors"),
        ("director", "lead-conversion", "/lead-conversion"),
        ("director", "ramp", "/ramp"),
    ]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        for user, extra in (("director", None), (args.rep, "rep")):
            if user is None:
                continue
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.set_default_timeout(180_000)
            page.goto(f"{args.url}/login")
            page.screenshot(path=str(HERE / "login.png")) if user == "director" else None
            page.fill("#username", user)
            page.fill("#password", args.password)
            page.click("button[type=submit]")
            page.wait_for_url(f"{args.url}/")
            todo = (
                shots
                if extra is None
                else [(user, "sales-rep-overview", f"/?period={args.period}")]
            )
            for _, name, path in todo:
                page.goto(args.url + path)
                page.wait_for_load_state("networkidle")
                page.wait_for_timeout(500)
                page.screenshot(path=str(HERE / f"{name}.png"), full_page=True)
                print("saved", name)
            if extra is None:
                first_deal = page.locator("[data-testid=deals] tbody td:first-child a").first
                first_deal.click()
                page.wait_for_load_state("networkidle")
                page.screenshot(path=str(HERE / "opportunity.png"), full_page=True)
                account = page.locator("dl.facts a").first
                account.click()
                page.wait_for_load_state("networkidle")
                page.screenshot(path=str(HERE / "account.png"), full_page=True)
                page.goto(f"{args.url}/leaderboard")
                page.locator("[data-testid=leaderboard] tbody a").first.click()
                page.wait_for_load_state("networkidle")
                page.wait_for_timeout(300)
                page.screenshot(path=str(HERE / "rep.png"), full_page=True)
                print("saved opportunity, account, rep")
            page.close()
        browser.close()


if __name__ == "__main__":
    main()
