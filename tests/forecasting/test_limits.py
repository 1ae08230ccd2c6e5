"""Who may start forecast runs and backtests, how often, and the audit of every forecast write
(issue 20, item 10)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from salesops.errors import ValidationFailed
from salesops.forecasting.limits import LIMITER, Limiter, Limits, RateLimited
from salesops.models import AuditEntry
from tests.appsupport import app, client_as, org, session
from tests.orgchart import Org

__all__ = ["app", "client_as", "org", "session"]

Client = Callable[[str], TestClient]
RUN = {"as_of": "2025-01-07", "methods": ["stage_weighted"], "horizon": 1, "sims": 200}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_one_operation_at_a_time_per_user_and_two_on_the_server() -> None:
    limiter = Limiter(Limits(per_user_running=1, total_running=2, busy_retry=30), Clock())
    with limiter.slot(1, "forecast run"):
        with pytest.raises(RateLimited) as own, limiter.slot(1, "backtest"):
            pass
        assert own.value.retry_after == 30
        assert "already have a forecast run or backtest in progress" in str(own.value)
        with limiter.slot(2, "forecast run"):
            with pytest.raises(RateLimited) as busy, limiter.slot(3, "forecast run"):
                pass
            assert "the server is already running 2" in str(busy.value)
    # Every slot is given back, whatever happened inside.
    with limiter.slot(1, "forecast run"), limiter.slot(3, "forecast run"):
        pass


def test_recent_operations_are_counted_per_user_over_a_sliding_window() -> None:
    clock = Clock()
    limiter = Limiter(Limits(per_user_recent=3, window=600), clock)
    for step in range(3):
        clock.now = 1000.0 + 100 * step
        with limiter.slot(7, "forecast run"):
            pass
    clock.now = 1250.0
    with pytest.raises(RateLimited) as refused, limiter.slot(7, "forecast run"):
        pass
    # The first of the three (at 1000 s) leaves the 600 s window at 1600 s: 350 s from now.
    assert refused.value.retry_after == 350
    assert "3 forecast runs or backtests in the last 10 minutes" in str(refused.value)
    with limiter.slot(8, "forecast run"):  # another user is not affected
        pass
    clock.now = 1600.0
    with limiter.slot(7, "forecast run"):
        pass


def test_a_request_refused_as_invalid_does_not_count() -> None:
    limiter = Limiter(Limits(per_user_recent=1), Clock())
    with pytest.raises(ValidationFailed), limiter.slot(1, "forecast run"):
        raise ValidationFailed("sims must be between 100 and 20,000")
    with limiter.slot(1, "forecast run"):
        pass


@pytest.mark.parametrize(
    ("who", "status"),
    [("ann", 403), ("mia", 403), ("analyst", 403), ("ops_rep", 201), ("director", 201)],
)
def test_only_ops_directors_and_admins_start_forecast_runs(
    client_as: Client, org: Org, who: str, status: int
) -> None:
    reply = client_as(who).post("/api/v1/forecasts/runs", json=RUN)
    assert reply.status_code == status, reply.text
    if status == 403:
        assert (
            reply.json()["error"]["message"]
            == f"the {org.users[who].role} role cannot start forecast runs"
        )


def test_too_many_runs_get_429_with_retry_after_and_other_users_are_not_held_up(
    client_as: Client, org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(LIMITER, "limits", Limits(per_user_recent=1, window=600))
    ops = client_as("ops_rep")
    assert ops.post("/api/v1/forecasts/runs", json=RUN).status_code == 201
    again = ops.post("/api/v1/forecasts/runs", json=RUN)
    assert again.status_code == 429, again.text
    assert 590 <= int(again.headers["Retry-After"]) <= 600
    error = again.json()["error"]
    assert error["type"] == "rate_limited"
    assert "1 forecast runs or backtests in the last 10 minutes" in error["message"]
    backtest = {"methods": ["stage_weighted"], "from": "2024-10-01", "to": "2024-10-01"}
    assert ops.post("/api/v1/forecasts/backtest", json=backtest).status_code == 429
    assert client_as("director").post("/api/v1/forecasts/runs", json=RUN).status_code == 201


def test_a_second_run_while_one_is_in_progress_gets_429(client_as: Client, org: Org) -> None:
    ops = client_as("ops_rep")
    with LIMITER.slot(org.users["ops_rep"].id, "forecast run"):
        reply = ops.post("/api/v1/forecasts/runs", json=RUN)
    assert reply.status_code == 429
    assert reply.headers["Retry-After"] == "30"
    assert "in progress" in reply.json()["error"]["message"]
    assert ops.post("/api/v1/forecasts/runs", json=RUN).status_code == 201


def _audit(session: Session, entity: str) -> list[AuditEntry]:
    session.expire_all()
    return list(
        session.scalars(
            select(AuditEntry).where(AuditEntry.entity == entity).order_by(AuditEntry.id)
        )
    )


def test_forecast_runs_and_calls_land_in_the_audit_log(
    client_as: Client, session: Session, org: Org
) -> None:
    [run] = client_as("ops_rep").post("/api/v1/forecasts/runs", json=RUN).json()
    [entry] = _audit(session, "forecast_run")
    assert entry.user_id == org.users["ops_rep"].id
    assert entry.action == "create"
    assert entry.entity_id == str(run["id"])
    assert entry.changes["method"] == {"old": None, "new": "stage_weighted"}
    assert entry.changes["input_fingerprint"]["new"] == run["input_fingerprint"]

    call = {"period": "2025-Q1", "commit": "1000", "best_case": "1500", "pipeline": "3000"}
    made = client_as("ann").post("/api/v1/forecasts/calls", json=call).json()
    [entry] = _audit(session, "forecast_submission")
    assert entry.user_id == org.users["ann"].id
    assert entry.entity_id == str(made["id"])
    assert entry.changes["commit"] == {"old": None, "new": "1000.00"}
    assert entry.changes["rep_id"]["new"] == org.reps["ann"].id
    assert (
        client_as("admin")
        .get("/api/v1/audit", params={"entity": "forecast_submission"})
        .json()["total"]
        == 1
    )


def test_a_read_only_analyst_cannot_submit_forecast_calls(client_as: Client, org: Org) -> None:
    call = {"period": "2025-Q1", "commit": "1000", "best_case": "1500", "pipeline": "3000"}
    reply = client_as("analyst").post("/api/v1/forecasts/calls", json=call)
    assert reply.status_code == 403
