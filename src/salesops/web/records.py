"""Record pages: an opportunity, an account, a rep, and the audit log (the deal list every chart
drills down to is `salesops.web.deals`)."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from salesops.audit import service as audit
from salesops.crm import records
from salesops.crm.resources import ACCOUNTS, ACTIVITIES, CONTACTS, CONTRACTS, OPPORTUNITIES, REPS
from salesops.models import (
    Account,
    PipelineStage,
    Rep,
    Team,
    TeamMembership,
    User,
)
from salesops.pipeline import access, stages
from salesops.playbooks import web as playbook_pages
from salesops.web import deal_edit, export
from salesops.web.dashboard import rep_kpis
from salesops.web.deps import SessionDep, WebUser, page_context
from salesops.web.filters import read_filters
from salesops.web.templating import templates

router = APIRouter(include_in_schema=False)


def _page_number(raw: str | None) -> int:
    return max(1, int(raw)) if raw and raw.isdigit() else 1


def _names(session: SessionDep, model: Any, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.execute(select(model.id, model.name).where(model.id.in_(sorted(ids))))
    return {int(row[0]): str(row[1]) for row in rows}


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
        **playbook_pages.deal_context(request, session, who, opp),
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
    return export.render(request, "account.html", context)


@router.get("/reps/{rep_id}", response_class=HTMLResponse)
def rep(rep_id: int, request: Request, session: SessionDep, who: WebUser) -> Response:
    person = records.get_record(session, REPS, rep_id, scope=who.scope)
    filters = read_filters(request)
    # The period applies to the whole page: its open deals are those due to close in it and its
    # wins those closed in it, like the figures above them.
    in_period = {"owner_id": str(person.id)}
    open_deals = access.list_opportunities(
        session,
        scope=who.scope,
        filters=in_period
        | {"close_date_from": filters.start.isoformat(), "close_date_to": filters.end.isoformat()},
        status="open",
        sort="close_date",
        limit=50,
    )
    won = access.list_opportunities(
        session,
        scope=who.scope,
        filters=in_period
        | {
            "closed_at_from": filters.start.isoformat(),
            "closed_at_to": f"{filters.end.isoformat()}T23:59:59.999999+00:00",
        },
        status="won",
        sort="-closed_at",
        limit=50,
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
    return export.render(request, "rep.html", context)


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
    return export.render(request, "audit.html", context)
