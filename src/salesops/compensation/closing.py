"""Closing a comp period goes through approvals: a `comp_period_close` proposal.

Ops proposes the close of a period's current run; a director or admin approves; applying it
locks the run (`service.close`). The payload names the run and its input checksum: if the
inputs moved since (a deal amended, a plan changed), the check refuses to apply it and the
period must be recalculated and proposed again, so what is approved is what gets locked.
Rolling back reopens the run while no later period of the year is closed.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from salesops import approvals
from salesops.auth.scoping import Scope
from salesops.compensation import service
from salesops.compensation.engine import Period
from salesops.errors import Conflict, Problem
from salesops.models import CompRun

KIND = "comp_period_close"


def propose(session: Session, period: Period, *, scope: Scope) -> Any:
    """A submitted proposal to close `period`'s current open run."""
    run = service.current_run(session, period)
    if run.status == "closed":
        raise Conflict(f"period {period.label} is already closed")
    payload = {
        "run_id": run.id, "period_start": period.start.isoformat(),
        "period_end": period.end.isoformat(), "input_checksum": run.input_checksum,
        "total": str(run.total),
    }  # fmt: skip
    title = f"Close comp period {period.label} (run {run.id}, total {run.total:,.2f})"
    proposal = approvals.create(
        session, kind=KIND, title=title, payload=payload, scope=scope, effective_from=period.end
    )
    return approvals.submit(session, proposal, scope=scope)


def _period(payload: Any) -> Period:
    return Period(
        date.fromisoformat(payload["period_start"]), date.fromisoformat(payload["period_end"])
    )


def _check(session: Session, payload: Any) -> list[Problem]:
    try:
        period = _period(payload)
        run = session.get(CompRun, int(payload["run_id"]))
    except (KeyError, TypeError, ValueError):
        return [Problem("expected run_id, period_start and period_end", "payload")]
    if run is None or run.period_start != period.start:
        return [
            Problem(f"run {payload['run_id']} is not a run of {period.label}", "payload.run_id")
        ]
    if run.status == "closed":
        return [Problem(f"period {period.label} is already closed", "payload.run_id")]
    now = service.gather(session, period).checksum
    if now != payload.get("input_checksum") or now != run.input_checksum:
        return [
            Problem(
                f"the inputs of {period.label} changed since run {run.id}: recalculate and "
                "propose the close again",
                "payload.input_checksum",
            )
        ]
    return []


def _apply(session: Session, proposal: Any, ctx: approvals.ApplyContext) -> dict[str, Any]:
    run = service.close(session, _period(proposal.payload), user_id=ctx.user_id)
    return {"run_id": run.id}


def _roll_back(session: Session, proposal: Any, ctx: approvals.ApplyContext) -> None:
    period = _period(proposal.payload)
    later = session.scalar(
        select(CompRun.id).where(
            CompRun.status == "closed",
            CompRun.period_start > period.start,
            CompRun.period_start <= date(period.start.year, 12, 31),
        )
    )
    if later is not None:
        raise Conflict(f"a later period is closed (run {later}): reopen it first")
    run = session.get(CompRun, int(proposal.undo["run_id"]))
    if run is not None:
        run.status, run.closed_at, run.closed_by_id = "open", None, None


approvals.register_kind(approvals.Kind(KIND, apply=_apply, roll_back=_roll_back, check=_check))
