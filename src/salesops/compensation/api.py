"""REST endpoints for compensation: plans, runs, statements and a payout summary, scoped.

A rep reads their own statement, a manager their team's, roles that see the company anyone's;
a statement outside the caller's scope is a 404, as for deals. Calculating and closing a period
is for ops, directors and admins.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from salesops.api.crud import ERRORS
from salesops.api.deps import CurrentUser, SessionDep, computes_before_writing
from salesops.auth.scoping import not_visible
from salesops.compensation import service
from salesops.compensation.schemas import PlanView, RunView, StatementView
from salesops.models import CompRun, Rep

router = APIRouter(prefix="/comp", tags=["compensation"], responses=ERRORS)

PERIOD = Query(description="2026-Q1, 2026-03 or 2026", max_length=10)


class PeriodRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    period: str = Field(description="2026-Q1, 2026-03 or 2026", max_length=10)


def _run_view(run: CompRun) -> RunView:
    return RunView(
        id=run.id, period_start=run.period_start, period_end=run.period_end, status=run.status,
        input_checksum=run.input_checksum, plans=run.plans, currency=run.currency,
        total=run.total, lines=len(run.lines),
    )  # fmt: skip


@router.get("/plans", summary="Every comp plan version with its rules and assignments")
def plans(who: CurrentUser) -> list[PlanView]:
    return [PlanView.of(p) for p in service.load_plans()]


@router.post("/runs", summary="Calculate a period (its open run is replaced)", status_code=201)
@computes_before_writing
def calculate(body: PeriodRequest, session: SessionDep, who: CurrentUser) -> RunView:
    who.scope.require_planning("calculate compensation")
    period = service.parse_period(body.period)
    return _run_view(service.calculate(session, period, user_id=who.user.id))


@router.post(
    "/runs/close",
    summary="Propose closing a period (approved and applied through /proposals)",
    status_code=201,
)
def close(body: PeriodRequest, session: SessionDep, who: CurrentUser) -> dict[str, Any]:
    from salesops.compensation import closing

    who.scope.require_planning("close a compensation period")
    proposal = closing.propose(session, service.parse_period(body.period), scope=who.scope)
    return {"proposal_id": proposal.id, "state": proposal.state, "title": proposal.title}


@router.get("/statements/{rep_id}", summary="A rep's statement: lines with their lineage")
def statement(
    rep_id: int, session: SessionDep, who: CurrentUser, period: str = PERIOD
) -> StatementView:
    if not who.scope.sees_rep(rep_id) or session.get(Rep, rep_id) is None:
        raise not_visible("rep", rep_id)
    run, lines = service.statement(session, rep_id, service.parse_period(period))
    return StatementView.of(rep_id, run, lines)


@router.post(
    "/statements/{rep_id}/pdf",
    summary="Generate a rep's statement as a PDF (stored as a document with its checksum)",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
@computes_before_writing
def statement_pdf(
    rep_id: int, session: SessionDep, who: CurrentUser, period: str = PERIOD
) -> Response:
    from salesops.compensation import statements

    rep = session.get(Rep, rep_id)
    if rep is None or not who.scope.sees_rep(rep_id):
        raise not_visible("rep", rep_id)
    stored = statements.generate(session, rep, service.parse_period(period), formats=("pdf",))[0]
    disposition = f'attachment; filename="{stored.filename}"'
    return Response(stored.content, media_type="application/pdf", headers={
        "Content-Disposition": disposition, "X-Checksum-SHA256": stored.sha256,
    })  # fmt: skip


@router.get("/payouts", summary="Total payout per rep the caller may see, for a period")
def payouts(session: SessionDep, who: CurrentUser, period: str = PERIOD) -> list[dict[str, Any]]:
    run = service.current_run(session, service.parse_period(period))
    totals: dict[int, Decimal] = defaultdict(Decimal)
    for line in run.lines:
        if who.scope.sees_rep(line.rep_id):
            totals[line.rep_id] += line.amount
    names = {r.id: r.name for r in session.query(Rep).filter(Rep.id.in_(list(totals)))}
    return [
        {"rep_id": rep_id, "rep": names.get(rep_id, ""), "total": str(total), "run_id": run.id}
        for rep_id, total in sorted(totals.items())
    ]
