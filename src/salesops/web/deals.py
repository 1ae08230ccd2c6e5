"""The deal list every chart drills down to: the filter bar and the clicked slice applied, a
totals row over every matching deal (not only the page shown), and the CSV of all of them.

Every filter the page shows applies: the period selects deals by close date (a drill-down's
metric decides its own dates), and a list the period cannot apply to (deals past their close
date, stalled deals: both "now") hides the period selector instead of ignoring it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from salesops import metrics
from salesops.api.deps import Principal
from salesops.crm import records
from salesops.crm.org import deal_clauses
from salesops.crm.resources import OPPORTUNITIES
from salesops.db.types import as_utc
from salesops.errors import Problem, ValidationFailed
from salesops.metrics.scoped import open_scoped
from salesops.models import Account, Opportunity, Rep
from salesops.pipeline import access, stages
from salesops.web import export, periods, views
from salesops.web.deps import SessionDep, WebUser, page_context
from salesops.web.filters import FILTER_KEYS, Filters, read_filters, remember

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 25
EXPORT_LIMIT = 100_000
DEAL_SORTS = {
    "amount": "-amount",
    "close": "close_date",
    "name": "name",
    "created": "-created_at",
    "closed": "-closed_at",
}
# Metric dimensions behind the filter bar's filters.
FILTER_DIMENSIONS = {"team": "team", "territory": "territory", "segment": "segment", "rep": "owner"}
# Lists of what is true now, whatever the period.
TIMELESS_METRICS = frozenset({"stalled_deals"})


def _date(request: Request, key: str) -> date | None:
    raw = request.query_params.get(key)
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise ValidationFailed(
            "invalid date", [Problem(f"{raw!r} is not YYYY-MM-DD", key)]
        ) from exc


def _page_number(raw: str | None) -> int:
    return max(1, int(raw)) if raw and raw.isdigit() else 1


@dataclass
class DealQuery:
    """Which deals the page lists, and which filters of the bar apply to them."""

    filters: Filters
    where: list[ColumnElement[bool]]
    metric: str | None
    hidden: set[str] = field(default_factory=set)

    @property
    def by_close_date(self) -> bool:
        return self.metric is None and "period" not in self.hidden


def deal_query(request: Request, session: Session, who: Principal) -> DealQuery:
    """The filter bar plus what the chart clicked on, as WHERE clauses on opportunities."""
    params = request.query_params
    filters = read_filters(request)
    metric = params.get("metric")
    hidden: set[str] = set()
    if params.get("past_due") or metric in TIMELESS_METRICS:
        hidden.add("period")
    where: list[ColumnElement[bool]] = []
    if metric:
        metrics.get_definition(metric)  # an unknown metric is an error, not an empty list
        dims = {m.name: m for m in metrics.list_metrics()}[metric].dimensions
        hidden |= {k for k, dim in FILTER_DIMENSIONS.items() if dim not in dims}
        src = open_scoped(session, who.scope)
        ids = views.drill_ids(src, filters, views.metric_filters(session, filters), metric, params)
        where.append(Opportunity.id.in_(ids) if ids else Opportunity.id.is_(None))
    else:
        where += deal_clauses(
            session,
            team_id=filters.team,
            territory_id=filters.territory,
            segment=filters.segment,
            rep_id=filters.rep,
        )
        if "period" not in hidden:
            where.append(Opportunity.close_date.between(filters.start, filters.end))
        if stage_name := params.get("stage"):
            where.append(Opportunity.stage_id == stages.by_name(session, stage_name).id)
        if forecast := params.get("forecast_category"):
            where.append(Opportunity.forecast_category == forecast)
    if status := params.get("status"):
        where.append(access.status_clause(status))
    for key, upper in (("close_from", False), ("close_to", True)):
        if value := _date(request, key):
            col = Opportunity.close_date
            where.append(col <= value if upper else col >= value)
    for key, column, upper in (
        ("closed_from", Opportunity.closed_at, False),
        ("closed_to", Opportunity.closed_at, True),
        ("created_from", Opportunity.created_at, False),
        ("created_to", Opportunity.created_at, True),
    ):
        if value := _date(request, key):
            bound = as_utc(datetime.combine(value, time.max if upper else time.min))
            where.append(column <= bound if upper else column >= bound)
    if params.get("past_due"):
        where.append(Opportunity.close_date < periods.today())
    return DealQuery(filters, where, metric, hidden)


def _visible(q: DealQuery, who: Principal, search: str | None) -> list[ColumnElement[bool]]:
    return [
        OPPORTUNITIES.visible(who.scope),
        *records.filter_clauses(OPPORTUNITIES, {}, search),
        *q.where,
    ]


def totals(
    session: Session, q: DealQuery, who: Principal, search: str | None
) -> list[tuple[str, int, Decimal]]:
    """(currency, deals, amount) over every matching deal, one line per currency."""
    rows = session.execute(
        select(Opportunity.currency, func.count(), func.sum(Opportunity.amount))
        .where(*_visible(q, who, search))
        .group_by(Opportunity.currency)
        .order_by(Opportunity.currency)
    ).tuples()
    return [(str(c), int(n), Decimal(s or 0)) for c, n, s in rows]


def all_deals(
    session: Session, q: DealQuery, who: Principal, search: str | None, sort: str
) -> Iterator[Opportunity]:
    """Every matching deal in the page's order (the CSV download), up to EXPORT_LIMIT."""
    key = DEAL_SORTS.get(sort, "-amount")
    column = getattr(Opportunity, key.lstrip("-"))
    order = column.desc() if key.startswith("-") else column.asc()
    yield from session.scalars(
        select(Opportunity)
        .where(*_visible(q, who, search))
        .order_by(order, Opportunity.id)
        .limit(EXPORT_LIMIT)
    )


def _names(session: Session, model: Any, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.execute(select(model.id, model.name).where(model.id.in_(sorted(ids))))
    return {int(row[0]): str(row[1]) for row in rows}


@router.get("/deals", response_class=HTMLResponse)
def deals(request: Request, session: SessionDep, who: WebUser) -> Response:
    """Every deal behind a chart: the global filters plus what the chart clicked on."""
    params = request.query_params
    q = deal_query(request, session, who)
    search = params.get("q") or None
    sort_key = params.get("sort", "amount")
    context = page_context(request, session, who, filters=q.filters)
    if params.get(export.EXPORT_PARAM):
        deals_ = list(all_deals(session, q, who, search, sort_key))
        context |= {
            "all_deals": deals_,
            "owners": _names(session, Rep, {o.owner_id for o in deals_}),
            "accounts": _names(session, Account, {o.account_id for o in deals_ if o.account_id}),
        }
        return export.render(request, "deals.html", context)
    page_number = _page_number(params.get("page"))
    page = records.list_records(
        session,
        OPPORTUNITIES,
        scope=who.scope,
        search=search,
        sort=DEAL_SORTS.get(sort_key, "-amount"),
        limit=PAGE_SIZE,
        offset=(page_number - 1) * PAGE_SIZE,
        where=q.where,
    )
    drill = {k: v for k, v in params.items() if k not in {"page", "sort", *FILTER_KEYS}}
    metric_label = metrics.get_definition(q.metric).label if q.metric else None
    context |= {
        "page": page,
        "page_number": page_number,
        "pages": max(1, -(-page.total // PAGE_SIZE)),
        "owners": _names(session, Rep, {o.owner_id for o in page.items}),
        "accounts": _names(session, Account, {o.account_id for o in page.items if o.account_id}),
        "totals": totals(session, q, who, search),
        "drill": drill,
        "sort": sort_key,
        "title": params.get("title") or metric_label or "Deals",
        "metric_label": metric_label,
        "by_close_date": q.by_close_date,
        "hidden_filters": q.hidden,
        "stages": stages.ordered(session),
    }
    template = "partials/deals_table.html" if request.headers.get("HX-Request") else "deals.html"
    response = export.render(request, template, context)
    remember(response, q.filters)
    return response
