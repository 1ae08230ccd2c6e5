"""Insight pages: retention and churn, competitors, lead conversion, ramp by hire cohort, and the
lists of accounts and leads their figures drill down to (deals drill down to /deals).

The figures are built in `salesops.web.insight_figures` from the metrics catalog on a source
restricted to the caller (`open_scoped`), cached per data version like the dashboard's.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from salesops import metrics
from salesops.api.deps import Principal
from salesops.errors import Problem, ValidationFailed
from salesops.metrics.scoped import open_scoped
from salesops.models import Account, Lead, Opportunity, Rep
from salesops.web import export, views
from salesops.web import insight_figures as figures
from salesops.web.dashboard import Builder, cached_figures
from salesops.web.deps import SessionDep, WebUser, page_context
from salesops.web.filters import Filters, read_filters, remember
from salesops.web.nav import NavItem, register

router = APIRouter(include_in_schema=False)
register(NavItem("Retention", "/retention", "repeat", 52))
register(NavItem("Competitors", "/competitors", "swords", 54))
register(NavItem("Lead conversion", "/lead-conversion", "inbox", 56))
register(NavItem("Ramp", "/ramp", "rocket", 58))

PAGE_SIZE = 50
# Which records a drill-down keeps, from the columns the metrics service returns with them.
ONLY = {
    "churned": lambda r: not r.get("end_value"),
    "converted": lambda r: bool(r.get("is_converted")),
    "won": lambda r: bool(r.get("is_won")),
}


def _render(
    request: Request, session: Session, who: Principal, template: str, page: str, build: Builder
) -> Response:
    f = read_filters(request)
    data = cached_figures(session, who.scope, page, f, build)
    context = page_context(request, session, who, filters=f) | data
    response = export.render(request, template, context)
    remember(response, f)
    return response


@router.get("/retention", response_class=HTMLResponse)
def retention(request: Request, session: SessionDep, who: WebUser) -> Response:
    return _render(
        request, session, who, "insights/retention.html", "retention", figures.build_retention
    )


@router.get("/competitors", response_class=HTMLResponse)
def competitors(request: Request, session: SessionDep, who: WebUser) -> Response:
    return _render(
        request,
        session,
        who,
        "insights/competitors.html",
        "competitors",
        figures.build_competitors,
    )


@router.get("/lead-conversion", response_class=HTMLResponse)
def lead_conversion(request: Request, session: SessionDep, who: WebUser) -> Response:
    return _render(request, session, who, "insights/leads.html", "leads", figures.build_leads)


@router.get("/ramp", response_class=HTMLResponse)
def ramp(request: Request, session: SessionDep, who: WebUser) -> Response:
    return _render(request, session, who, "insights/ramp.html", "ramp", figures.build_ramp)


def _drill_options(f: Filters, params: Any) -> dict[str, Any]:
    """The window, period, slice and metric parameters of a drill-down link."""
    options: dict[str, Any] = {"start": f.start, "end": f.end}
    try:
        if params.get("quarter"):
            options.update(period=date.fromisoformat(params["quarter"]), grain="quarter")
    except ValueError as exc:
        raise ValidationFailed("invalid drill-down", [Problem(str(exc), "quarter")]) from exc
    chosen = {k.removeprefix("param."): v for k, v in params.items() if k.startswith("param.")}
    if chosen:
        options["params"] = chosen
    return options


def _drilled(
    request: Request, session: Session, who: Principal, kinds: tuple[str, ...]
) -> tuple[Filters, str, list[dict[str, Any]]]:
    """The records behind the figure a link names, as the metrics service counts them."""
    f = read_filters(request)
    params = request.query_params
    metric = params.get("metric") or ""
    definition = metrics.get_definition(metric)
    if definition.fact not in kinds and definition.kind not in kinds:
        raise ValidationFailed(
            "invalid drill-down", [Problem(f"{metric} is not about these records", "metric")]
        )
    filters = views._allowed(metric, views.metric_filters(session, f))
    if params.get("lead_source"):
        filters["lead_source"] = params["lead_source"]
    src = open_scoped(session, who.scope)
    rows = metrics.drill_down(
        src, metric, filters=filters, limit=views.DRILL_LIMIT, **_drill_options(f, params)
    )
    keep = ONLY.get(params.get("only") or "")
    return f, metric, [r for r in rows if keep is None or keep(r)]


def _list_page(
    request: Request,
    session: Session,
    who: Principal,
    f: Filters,
    metric: str,
    template: str,
    **extra: Any,
) -> Response:
    drill = {
        k: v
        for k, v in request.query_params.items()
        if k not in {"page", "period", "team", "territory", "segment", "rep"}
    }
    context = page_context(request, session, who, filters=f) | {
        "title": request.query_params.get("title") or metrics.get_definition(metric).label,
        "metric_label": metrics.get_definition(metric).label,
        "drill": drill,
        "base": f.query(**drill),
        **extra,
    }
    response = export.render(request, template, context)
    remember(response, f)
    return response


def _page(request: Request, total: int) -> tuple[int, int, slice]:
    """The page asked for; a CSV download (`?export=`) takes every row, not one page."""
    raw = request.query_params.get("page") or "1"
    number = max(1, int(raw)) if raw.isdigit() else 1
    pages = max(1, -(-total // PAGE_SIZE))
    number = min(number, pages)
    if request.query_params.get(export.EXPORT_PARAM):
        return number, pages, slice(None)
    return number, pages, slice((number - 1) * PAGE_SIZE, number * PAGE_SIZE)


@router.get("/retention/accounts", response_class=HTMLResponse)
def retention_accounts(request: Request, session: SessionDep, who: WebUser) -> Response:
    """The accounts behind a retention figure, with their contract value at start and end."""
    f, metric, rows = _drilled(request, session, who, ("retention", "cohort_retention"))
    number, pages, part = _page(request, len(rows))
    rows.sort(key=lambda r: (-(r["start_value"] or 0), r["account_id"]))
    shown = rows[part]
    ids = [int(r["account_id"]) for r in shown]
    names: dict[int, str] = {
        int(i): str(n)
        for i, n in session.execute(
            select(Account.id, Account.name).where(Account.id.in_(ids), who.scope.accounts())
        )
    }
    accounts = [
        r | {"name": names[int(r["account_id"])], "status": _status(r)}
        for r in shown
        if int(r["account_id"]) in names
    ]
    totals = {
        "start_value": sum((r["start_value"] or Decimal(0) for r in rows), Decimal(0)),
        "end_value": sum((r["end_value"] or Decimal(0) for r in rows), Decimal(0)),
    }
    return _list_page(
        request,
        session,
        who,
        f,
        metric,
        "insights/account_list.html",
        accounts=accounts,
        total=len(rows),
        totals=totals,
        page_number=number,
        pages=pages,
    )


def _status(row: dict[str, Any]) -> str:
    start, end = row["start_value"] or 0, row["end_value"] or 0
    if not end:
        return "churned"
    if end < start:
        return "contracted"
    return "expanded" if end > start else "retained"


@router.get("/lead-conversion/leads", response_class=HTMLResponse)
def lead_list(request: Request, session: SessionDep, who: WebUser) -> Response:
    """The leads behind a lead-conversion figure, and the deals they converted into."""
    f, metric, rows = _drilled(request, session, who, ("leads",))
    number, pages, part = _page(request, len(rows))
    rows.sort(key=lambda r: (r["created_at"], r["id"]), reverse=True)
    by_id = {int(r["id"]): r for r in rows[part]}
    found = session.scalars(select(Lead).where(Lead.id.in_(list(by_id)), who.scope.leads())).all()
    leads = sorted(found, key=lambda lead: list(by_id).index(lead.id))
    deal_ids = {lead.converted_opportunity_id for lead in leads if lead.converted_opportunity_id}
    deals = {
        o.id: o
        for o in session.scalars(
            select(Opportunity).where(
                Opportunity.id.in_(sorted(deal_ids)), who.scope.opportunities()
            )
        )
    }
    owner_ids = sorted({lead.owner_id for lead in leads if lead.owner_id})
    owners: dict[int, str] = {
        int(i): str(n)
        for i, n in session.execute(select(Rep.id, Rep.name).where(Rep.id.in_(owner_ids)))
    }
    won_total = sum((r.get("won_amount_rc") or Decimal(0) for r in rows), Decimal(0))
    return _list_page(
        request,
        session,
        who,
        f,
        metric,
        "insights/lead_list.html",
        leads=leads,
        facts=by_id,
        deals=deals,
        owners=owners,
        total=len(rows),
        converted=sum(1 for r in rows if r.get("is_converted")),
        won=sum(1 for r in rows if r.get("is_won")),
        won_total=won_total,
        page_number=number,
        pages=pages,
    )
