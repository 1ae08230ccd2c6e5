"""A metric's answer says when its data was known to be the store's, and how old that is."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from salesops import caching
from salesops.metrics import copies
from tests.orgchart import Org

Client = Callable[[str], TestClient]


def test_a_metric_of_current_data_says_so(client_as: Client, org: Org) -> None:
    before = datetime.now(UTC)
    body = client_as("director").get("/api/v1/metrics/bookings").json()
    assert datetime.fromisoformat(body["data_as_of"]) >= before - timedelta(seconds=1)
    assert body["data_age_seconds"] == 0


def test_a_metric_of_an_older_copy_says_how_old(
    client_as: Client, org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    read = datetime.now(UTC) - timedelta(seconds=42)
    current = copies.current

    def behind(connection: object, large: object) -> tuple[copies.Copy, datetime, bool]:
        copy, _, _ = current(connection, large)  # type: ignore[arg-type]
        return copy, read, True

    monkeypatch.setattr(copies, "current", behind)
    caching.clear()
    body = client_as("director").get("/api/v1/metrics/bookings").json()
    assert datetime.fromisoformat(body["data_as_of"]) == read
    assert 42 <= body["data_age_seconds"] < 100
