"""While the server's metrics copy loads, pages show its progress; afterwards, its age."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from sqlalchemy.orm import Session

from salesops.metrics import copies
from salesops.web import warmup
from tests.orgchart import Org
from tests.web.test_pages import Q1, sign_in


def test_a_page_asked_for_while_the_copy_loads_shows_progress_and_polls(
    app: FastAPI, session: Session, org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = sign_in(app, session, org, "ann")
    monkeypatch.setattr(copies, "status", lambda engine: (False, (2, 6), None))
    for page in ("/", "/pipeline", "/funnel", "/leaderboard", "/health"):
        reply = client.get(f"{page}?{Q1}")
        assert reply.status_code == 200
        assert 'data-testid="preparing"' in reply.text
        assert "Preparing the metrics copy: 2 of 6 tables" in reply.text
        assert 'hx-get="/metrics-status"' in reply.text
    polled = client.get("/metrics-status")
    assert "2 of 6 tables" in polled.text
    assert "HX-Refresh" not in polled.headers
    # Ready: the poll tells htmx to reload, and the page shows its figures.
    monkeypatch.setattr(copies, "status", lambda engine: (True, None, None))
    assert client.get("/metrics-status").headers["HX-Refresh"] == "true"
    page = client.get(f"/?{Q1}")
    assert 'data-testid="preparing"' not in page.text
    assert 'data-testid="data-age"' not in page.text  # current data: nothing to say


def test_the_age_of_the_data_reads_in_seconds_minutes_or_hours() -> None:
    now = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    assert warmup.age(now - timedelta(seconds=12), now) == "12 s ago"
    assert warmup.age(now - timedelta(minutes=3, seconds=5), now) == "3 min ago"
    assert warmup.age(now - timedelta(hours=2), now) == "2 h ago"
    assert warmup.age(None, now) is None
