"""Dashboard page for compensation: the period's payouts the caller may see, and a statement.

A rep sees their own statement; a manager their team's reps (and their own); roles that see
the company anyone's. A statement outside the caller's scope is a 404, as in the API.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from salesops.auth.scoping import not_visible
from salesops.compensation import service
from salesops.compensation.engine import Period
from salesops.errors import NotFound
from salesops.models import CompRun, Rep
from salesops.web import export
from salesops.web.deps import SessionDep, WebUser, page_context
from salesops.web.nav import NavItem, register
from salesops.web.templating import add_template_dir

router = APIRouter(include_in_schema=False)
add_template_dir(Path(__file__).resolve().parent / "templates")
register(NavItem("Compensation", "/comp", "wallet", 60))


@router.get("/comp", response_class=HTMLResponse)
def comp_page(request: Request, session: SessionDep, who: WebUser) -> Response:
    text = request.query_params.get("period")
    run: CompRun | None = None
    if text:
        run = service.current_run(session, service.parse_period(text))
    else:
        run = session.scalar(
            select(CompRun).order_by(CompRun.period_start.desc(), CompRun.id.desc())
        )
    payouts: list[dict[str, object]] = []
    lines: list[list[str]] = []
    rep: Rep | None = None
    if run is not None:
        totals: dict[int, Decimal] = {}
        for line in run.lines:
            if who.scope.sees_rep(line.rep_id):
                totals[line.rep_id] = totals.get(line.rep_id, Decimal(0)) + line.amount
        names = dict(
            session.execute(select(Rep.id, Rep.name).where(Rep.id.in_(list(totals)))).tuples().all()
        )
        payouts = [
            {"rep_id": r, "rep": names.get(r, ""), "total": t} for r, t in sorted(totals.items())
        ]
        wanted = request.query_params.get("rep")
        rep_id = int(wanted) if wanted and wanted.isdigit() else who.scope.own_rep_id
        if wanted and not (wanted.isdigit() and who.scope.sees_rep(int(wanted))):
            raise not_visible("rep", wanted)
        if rep_id is not None:
            rep = session.get(Rep, rep_id)
            if rep is None:
                raise NotFound(f"no rep {rep_id}")
            lines = service.statement_rows([x for x in run.lines if x.rep_id == rep_id])
    context = page_context(request, session, who) | {
        "title": "Compensation", "run": run, "payouts": payouts, "rep": rep, "lines": lines,
        "period_only": True,
        "columns": service.STATEMENT_COLUMNS,
        "total": sum((Decimal(row[6]) for row in lines), Decimal(0)),
        "period": service.period_text(Period(run.period_start, run.period_end)) if run else "",
    }  # fmt: skip
    return export.render(request, "comp.html", context)
