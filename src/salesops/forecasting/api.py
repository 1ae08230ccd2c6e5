"""REST endpoints for forecasts: runs, backtests, calls and risk, scoped to the caller.

Company lines go only to the roles that see the company; a manager sees their teams' lines,
and everyone who does not see the company gets the line of their own deals (`scoped`). Reps
see the predictions and risks of their own deals and submit their own calls; managers also
adjust their teams' calls. Starting forecast runs and backtests is for ops, directors and
admins, within the limits of `limits` (429 with Retry-After beyond them).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from salesops.api.crud import ERRORS
from salesops.api.deps import CurrentUser, SessionDep, computes_before_writing
from salesops.api.schemas import ErrorResponse
from salesops.db.types import utc_now
from salesops.forecasting import calls as calling
from salesops.forecasting import risk as risking
from salesops.forecasting import scoped, service
from salesops.forecasting.cli import parse_period
from salesops.forecasting.engine import DEFAULT_SIMS, METHODS, Options
from salesops.forecasting.limits import LIMITER, require_runner
from salesops.models import DealPrediction, Opportunity

router = APIRouter(prefix="/forecasts", tags=["forecasts"], responses=ERRORS)

Grain = Literal["month", "quarter"]
LIMITED: dict[int | str, dict[str, Any]] = {
    429: {
        "model": ErrorResponse,
        "description": "Too many forecast runs or backtests (see the Retry-After header)",
    }
}


class RunRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    as_of: date | None = Field(
        None, description="forecast as of the end of this day, UTC (default: now)"
    )
    methods: list[str] = Field(default_factory=lambda: list(METHODS))
    grain: Grain = "quarter"
    horizon: int = Field(2, ge=1, le=service.MAX_HORIZON)
    sims: int = Field(DEFAULT_SIMS, ge=service.MIN_SIMS, le=service.MAX_SIMS)
    seed: int = 0


class BacktestRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    methods: list[str] = Field(default_factory=lambda: list(METHODS))
    grain: Grain = "quarter"
    start: date = Field(alias="from")
    end: date = Field(alias="to")
    horizon: int = Field(1, ge=1, le=4)
    sims: int = Field(DEFAULT_SIMS, ge=service.MIN_SIMS, le=service.MAX_SIMS)
    seed: int = 0


class CallRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    period: str = Field(description="2025-Q1, 2025-03 or a date in the quarter")
    commit: Decimal
    best_case: Decimal
    pipeline: Decimal
    team_id: int | None = Field(None, description="a team you manage: a manager's call")
    note: str | None = None


def _options(body: RunRequest | BacktestRequest) -> Options:
    return Options(grain=body.grain, horizon=body.horizon, sims=body.sims, seed=body.seed)


@router.post(
    "/runs",
    summary="Run forecasts and store one run per method",
    status_code=201,
    responses=LIMITED,
)
@computes_before_writing
def create_runs(body: RunRequest, session: SessionDep, who: CurrentUser) -> list[dict[str, Any]]:
    require_runner(who.scope, "start forecast runs")
    as_of = service.end_of_day(body.as_of) if body.as_of else utc_now()
    with LIMITER.slot(who.user.id, "forecast run"):
        runs = service.run_forecast(
            session, as_of=as_of, methods=body.methods, options=_options(body), by=who.user
        )
    return [scoped.run_view(session, r, who.scope) for r in runs]


@router.get("/runs", summary="Stored forecast runs, newest first")
def list_runs(
    session: SessionDep,
    who: CurrentUser,
    method: str | None = None,
    kind: Literal["forecast", "backtest"] | None = None,
    limit: int = Query(50, ge=1, le=500),
) -> list[dict[str, Any]]:
    runs = service.list_runs(session, method=method, kind=kind, limit=limit)
    return [scoped.run_view(session, r, who.scope) for r in runs]


@router.get("/runs/{run_id}", summary="One run with the lines the caller may see")
def get_run(run_id: int, session: SessionDep, who: CurrentUser) -> dict[str, Any]:
    return scoped.run_view(session, service.get_run(session, run_id), who.scope)


@router.get("/runs/{run_id}/predictions", summary="Per-deal model predictions of a run")
def predictions(
    run_id: int,
    session: SessionDep,
    who: CurrentUser,
    limit: int = Query(200, ge=1, le=5000),
) -> list[dict[str, Any]]:
    run = service.get_run(session, run_id)
    query = (
        select(DealPrediction, Opportunity.owner_id)
        .join(Opportunity, Opportunity.id == DealPrediction.opportunity_id)
        .where(DealPrediction.run_id == run.id, who.scope.opportunities())
        .order_by(DealPrediction.amount.desc(), DealPrediction.id)
        .limit(limit)
    )
    return [
        {
            "opportunity_id": p.opportunity_id,
            "owner_id": owner,
            "amount": str(p.amount),
            "p_win": float(p.p_win),
            "p_win_in_horizon": float(p.p_win_in_horizon),
            "p_slip": float(p.p_slip),
            "expected_close_date": p.expected_close_date,
            "reasons": p.reasons,
        }
        for p, owner in session.execute(query).tuples()
    ]


@router.post("/backtest", summary="Backtest methods over past period starts", responses=LIMITED)
@computes_before_writing
def backtest(body: BacktestRequest, session: SessionDep, who: CurrentUser) -> list[dict[str, Any]]:
    require_runner(who.scope, "run backtests")
    with LIMITER.slot(who.user.id, "backtest"):
        scores = service.run_backtest(
            session, start=body.start, end=body.end, methods=body.methods, options=_options(body)
        )
    return [s.as_dict() for s in scores]


@router.post("/calls", summary="Submit a forecast call", status_code=201)
def submit_call(body: CallRequest, session: SessionDep, who: CurrentUser) -> dict[str, Any]:
    sub = calling.submit_as(
        session,
        scope=who.scope,
        by=who.user,
        period=parse_period(body.period),
        commit=body.commit,
        best_case=body.best_case,
        pipeline=body.pipeline,
        team_id=body.team_id,
        note=body.note,
    )
    return {
        "id": sub.id,
        "rep_id": sub.rep_id,
        "team_id": sub.team_id,
        "period_start": sub.period_start.isoformat(),
        "period_end": sub.period_end.isoformat(),
        "commit": str(sub.commit_amount),
        "best_case": str(sub.best_case_amount),
        "pipeline": str(sub.pipeline_amount),
        "submitted_at": sub.submitted_at.isoformat(),
    }


def _visible_tree(node: calling.CallNode, team_ids: frozenset[int]) -> list[dict[str, Any]]:
    if node.team_id in team_ids:
        return [node.as_dict()]
    return [d for child in node.children for d in _visible_tree(child, team_ids)]


@router.get("/calls", summary="Calls for a period rolled up the team hierarchy")
def rollup(
    session: SessionDep, who: CurrentUser, period: str = Query(..., examples=["2025-Q1"])
) -> list[dict[str, Any]]:
    roots = calling.rollup(session, parse_period(period))
    if who.scope.sees_all:
        return [r.as_dict() for r in roots]
    teams = who.scope.team_ids or frozenset()
    if teams:
        return [d for r in roots for d in _visible_tree(r, teams)]
    own = who.scope.own_rep_id
    return [
        {
            "rep_id": s.rep_id,
            "commit": str(s.commit_amount),
            "best_case": str(s.best_case_amount),
            "pipeline": str(s.pipeline_amount),
            "submitted_at": s.submitted_at.isoformat(),
        }
        for s in calling.history(session, period=parse_period(period))
        if s.rep_id == own and s.team_id is None
    ]


@router.get("/calls/accuracy", summary="Each call against the model and the actuals")
def accuracy(
    session: SessionDep,
    who: CurrentUser,
    period: list[str] = Query(..., examples=["2025-Q1"]),
    method: str = "ensemble",
) -> dict[str, Any]:
    periods = [parse_period(p) for p in period]
    today = utc_now().date()
    scores = calling.call_accuracy(session, periods, method=method, today=today)
    visible = [s for s in scores if who.scope.sees_rep(s.rep_id)]
    return {
        "calls": [s.as_dict() for s in visible],
        "summary": calling.accuracy_summary(visible),
        "not_scored": [
            {"period": p.label, "reason": calling.not_ended(p)}
            for p in periods
            if not calling.has_ended(p, today)
        ],
    }


@router.get("/risk", summary="Risky deals, coverage gaps and periods short of target")
def risk(
    session: SessionDep,
    who: CurrentUser,
    run_id: int | None = None,
    limit: int = Query(25, ge=1, le=500),
) -> dict[str, Any]:
    run = service.get_run(session, run_id) if run_id else risking.latest_run(session)
    owners = None if who.scope.sees_all else set(who.scope.rep_ids or ())
    coverage = risking.coverage_gaps(session, run)
    if who.scope.team_ids is not None and not who.scope.sees_all:
        coverage = [c for c in coverage if c["team_id"] in who.scope.team_ids]
    return {
        "run": {"id": run.id, "method": run.method, "as_of": run.as_of.isoformat()},
        "deals": [
            d.as_dict() for d in risking.risky_deals(session, run, limit=limit, owner_ids=owners)
        ],
        "coverage": coverage,
        # The company's target and forecast, or a manager's teams' (nothing for a rep).
        "shortfalls": risking.shortfalls(
            session, run, team_ids=None if who.scope.sees_all else who.scope.team_ids or ()
        ),
    }
