"""Record pages: the deal list every chart drills down to, an opportunity, an account, a rep,
and the audit log."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from salesops import metrics
from salesops.audit import service as audit
from salesops.auth.scoped_metrics import open_scoped
from salesops.crm import records
from salesops.crm.org import deal_clauses
from salesops.crm.resources import ACCOUNTS, ACTIVITIES, CONTACTS, CONTRACTS, OPPORTUNITIES, REPS
from salesops.db.types import as_utc
from salesops.errors import Problem, ValidationFailed
from salesops.models import (
    Account,
    Opportunity,
    PipelineStage,
    Rep,
    Team,
    TeamMembership,
    User,
)
from salesops.pipeline import access, stages
from salesops.web import deal_edit, views
from salesops.web.dashboard import rep_kpis
from salesops.web.deps import SessionDep, WebUser, page_context
from salesops.web.filters import read_filters, remember
from salesops.web.templating import templates

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 25
DEAL_SORTS = {
    "amount": "-amount",
    "close": "close_date",
    "name": "name",
    "created": "-created_at",
    "closed": "-closed_at",
}


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


def _names(session: SessionDep, model: Any, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.execute(select(model.id, model.name).where(model.id.in_(sorted(ids))))
    return {int(row[0]): str(row[1]) for row in rows}


@router.get("/deals", response_class=HTMLResponse)
def deals(request: Request, session: SessionDep, who: WebUser) -> Response:
    """Every deal behind a chart: the global filters plus what the chart clicked on."""
    params = request.query_params
    filters = read_filters(request)
    metric = params.get("metric")
    # A drill-down's deals come from the metric with the filters applied; otherwise filter here.
    where = (
        []
        if metric
        else deal_clauses(
            session,
            team_id=filters.team,
            territory_id=filters.territory,
            segment=filters.segment,
            rep_id=filters.rep,
        )
    )
    status = params.get("status") or None
    if status:
        where.append(access.status_clause(status))
    stage_name = params.get("stage")
    if stage_name and not metric:
        where.append(Opportunity.stage_id == stages.by_name(session, stage_name).id)
    forecast = params.get("forecast_category")
    if forecast and not metric:
        where.append(Opportunity.forecast_category == forecast)
    if metric:
        src = open_scoped(session, who.scope)
        ids = views.drill_ids(src, filters, views.metric_filters(session, filters), metric, params)
        where.append(Opportunity.id.in_(ids) if ids else Opportunity.id.is_(None))
    for key, column, upper in (
        ("close_from", Opportunity.close_date, False),
        ("close_to", Opportunity.close_date, True),
    ):
        value = _date(request, key)
        if value:
            where.append(column <= value if upper else column >= value)
    for key, column, upper in (
        ("closed_from", Opportunity.closed_at, False),
        ("closed_to", Opportunity.closed_at, True),
        ("created_from", Opportunity.created_at, False),
        ("created_to", Opportunity.created_at, True),
    ):
        value = _date(request, key)
        if value:
            from datetime import datetime, time

            bound = as_utc(datetime.combine(value, time.max if upper else time.min))
            where.append(column <= bound if upper else column >= bound)
    if params.get("past_due"):
        where.append(Opportunity.close_date < date.today())
    sort_key = params.get("sort", "amount")
    page_number = _page_number(params.get("page"))
    page = records.list_records(
        session,
        OPPORTUNITIES,
        scope=who.scope,
        search=params.get("q") or None,
        sort=DEAL_SORTS.get(sort_key, "-amount"),
        limit=PAGE_SIZE,
        offset=(page_number - 1) * PAGE_SIZE,
        where=where,
    )
    owner_names = _names(session, Rep, {o.owner_id for o in page.items})
    account_names = _names(session, Account, {o.account_id for o in page.items if o.account_id})
    drill = {
        k: v
        for k, v in params.items()
        if k not in {"page", "sort", "period", "team", "territory", "segment", "rep"}
    }
    context = page_context(request, session, who, filters=filters) | {
        "page": page,
        "page_number": page_number,
        "pages": max(1, -(-page.total // PAGE_SIZE)),
        "owners": owner_names,
        "accounts": account_names,
        "drill": drill,
        "sort": sort_key,
        "title": params.get("title")
        or (metrics.get_definition(metric).label if metric else "Deals"),
        "metric_label": metrics.get_definition(metric).label if metric else None,
        "stages": stages.ordered(session),
    }
    template = "partials/deals_table.html" if request.headers.get("HX-Request") else "deals.html"
    response = templates.TemplateResponse(request, template, context)
    remember(response, filters)
    return response


def _usernames(session: SessionDep, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.execute(select(User.id, User.username).where(User.id.in_(sorted(ids))))
    return {int(row[0]): str(row[1]) for row in rows}


@router.get("/opportunities/{opp_id}", response_class=HTMLResponse)
def opportunity(opp_id: int, request: Request, session: SessionDep, who: WebUser) -> Response:
    opp = access.get_visible(session, opp_id, scope=who.scope)
    events = access.events(session, opp)
    by_users = {e.by_user_id for e in events if e.by_user_id}
    users = _usernames(session, by_users)
    rep_ids = {
        int(v)
        for e in events
        if e.field == "owner"
        for v in (e.old_value, e.new_value)
        if v and v.isdigit()
    }
    rep_ids.add(opp.owner_id)
    activities = records.list_records(
        session, ACTIVITIES, scope=who.scope, filters={"opportunity_id": str(opp.id)}, limit=50
    )
    context = page_context(request, session, who) | {
        "opp": opp,
        "events": events,
        "event_users": users,
        "rep_names": _names(session, Rep, rep_ids),
        "account": session.get(Account, opp.account_id) if opp.account_id else None,
        "activities": activities.items,
        "stages": stages.ordered(session),
        "today": date.today(),
        **deal_edit.form_context(request, session, who, opp),
    }
    return templates.TemplateResponse(request, "opportunity.html", context)


@router.get("/accounts/{account_id}", response_class=HTMLResponse)
def account(account_id: int, request: Request, session: SessionDep, who: WebUser) -> Response:
    acct = records.get_record(session, ACCOUNTS, account_id, scope=who.scope)
    opps = records.list_records(
        session,
        OPPORTUNITIES,
        scope=who.scope,
        filters={"account_id": str(acct.id)},
        sort="-created_at",
        limit=100,
    )
    contacts = records.list_records(
        session, CONTACTS, scope=who.scope, filters={"account_id": str(acct.id)}, limit=100
    )
    contracts = records.list_records(
        session, CONTRACTS, scope=who.scope, filters={"account_id": str(acct.id)}, limit=100
    )
    context = page_context(request, session, who) | {
        "account": acct,
        "opps": opps,
        "contacts": contacts.items,
        "contracts": contracts.items,
        "owners": _names(session, Rep, {o.owner_id for o in opps.items}),
    }
    return templates.TemplateResponse(request, "account.html", context)


@router.get("/reps/{rep_id}", response_class=HTMLResponse)
def rep(rep_id: int, request: Request, session: SessionDep, who: WebUser) -> Response:
    person = records.get_record(session, REPS, rep_id, scope=who.scope)
    filters = read_filters(request)
    open_deals = access.list_opportunities(
        session,
        scope=who.scope,
        filters={"owner_id": str(person.id)},
        status="open",
        sort="close_date",
        limit=50,
    )
    won = access.list_opportunities(
        session,
        scope=who.scope,
        filters={"owner_id": str(person.id)},
        status="won",
        sort="-closed_at",
        limit=10,
    )
    today = date.today()
    teams = session.scalars(
        select(Team.name)
        .join(TeamMembership, TeamMembership.team_id == Team.id)
        .where(
            TeamMembership.rep_id == person.id,
            TeamMembership.valid_from <= today,
            (TeamMembership.valid_to.is_(None)) | (TeamMembership.valid_to > today),
        )
    ).all()

    context = page_context(request, session, who, filters=filters) | {
        "rep": person,
        "manager": session.get(Rep, person.manager_id) if person.manager_id else None,
        "teams": teams,
        "open_deals": open_deals,
        "won_deals": won,
        "kpis": rep_kpis(session, who, filters, person.id),
        "stage_names": {s.id: s.name for s in session.scalars(select(PipelineStage))},
    }
    return templates.TemplateResponse(request, "rep.html", context)


@router.get("/admin/audit", response_class=HTMLResponse)
def audit_page(request: Request, session: SessionDep, who: WebUser) -> Response:
    page_number = _page_number(request.query_params.get("page"))
    entity = request.query_params.get("entity") or None
    page = audit.list_entries(
        session, scope=who.scope, entity=entity, limit=50, offset=(page_number - 1) * 50
    )
    users = _usernames(session, {e.user_id for e in page.items if e.user_id})
    context = page_context(request, session, who) | {
        "entries": page.items,
        "total": page.total,
        "page_number": page_number,
        "pages": max(1, -(-page.total // 50)),
        "users": users,
        "entity": entity,
    }
    return templates.TemplateResponse(request, "audit.html", context)
