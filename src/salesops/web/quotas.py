"""The Quotas page: quotas overlapping the selected period, and for ops, directors and admins
a form to add or change one.

Reads and writes go through the generic records service with the `QUOTAS` resource, exactly
as `/api/v1/quotas`: the scope shows a rep their own quotas and a manager their team's, the
planning roles change them, every change is audited, and an edit carries the version it was
based on.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from salesops.api.deps import Principal
from salesops.api.schemas import create_schema, update_schema
from salesops.crm import checks, records, versioning
from salesops.crm.resources import QUOTAS
from salesops.models import Quota, Rep, Team, Territory
from salesops.web import forms
from salesops.web.deps import SessionDep, WebUser, page_context
from salesops.web.filters import read_filters, remember
from salesops.web.nav import NavItem, register
from salesops.web.templating import templates

router = APIRouter(include_in_schema=False)
register(NavItem("Quotas", "/quotas", "target", 45))

# The API's own request models for quotas (the same builders make /api/v1/quotas's).
QuotaCreate: type[BaseModel] = create_schema(Quota, "QuotaFormCreate")
QuotaUpdate: type[BaseModel] = update_schema(Quota, "QuotaFormUpdate")
FIELDS = ("period_start", "period_end", "amount", "currency", "ramp_factor")
HOLDERS = ("rep", "team", "territory")


def _holder_options(session: Session, scope: Any) -> list[tuple[str, str]]:
    options: list[tuple[str, str]] = [("", "choose who carries it")]
    reps = session.execute(select(Rep.id, Rep.name).where(scope.reps()).order_by(Rep.name))
    options += [(f"rep:{i}", f"Rep · {n}") for i, n in reps]
    options += [
        (f"team:{i}", f"Team · {n}")
        for i, n in session.execute(select(Team.id, Team.name).order_by(Team.name))
    ]
    options += [
        (f"territory:{i}", f"Territory · {n}")
        for i, n in session.execute(select(Territory.id, Territory.name).order_by(Territory.name))
    ]
    return options


def _holder(raw: str, state: forms.FormState) -> dict[str, int | None] | None:
    kind, _, ident = raw.partition(":")
    if kind not in HOLDERS or not ident.isdigit():
        state.add("holder", "choose a rep, a team or a territory")
        return None
    return {f"{h}_id": int(ident) if h == kind else None for h in HOLDERS}


def current_values(quota: Quota) -> dict[str, str]:
    holder = next(f"{h}:{getattr(quota, f'{h}_id')}" for h in HOLDERS if getattr(quota, f"{h}_id"))
    return {
        "holder": holder,
        "period_start": quota.period_start.isoformat(),
        "period_end": quota.period_end.isoformat(),
        "amount": str(quota.amount.quantize(Decimal("0.01"))),
        "currency": quota.currency,
        "ramp_factor": str(quota.ramp_factor),
        "version": str(quota.version),
    }


def _page(
    request: Request,
    session: Session,
    who: Principal,
    *,
    form: forms.FormState | None = None,
    editing: Quota | None = None,
) -> Response:
    filters = read_filters(request)
    page = records.list_records(
        session,
        QUOTAS,
        scope=who.scope,
        sort="period_start",
        limit=records.MAX_LIMIT,
        where=[Quota.period_start <= filters.end, Quota.period_end >= filters.start],
    )
    names = {
        "rep": dict(session.execute(select(Rep.id, Rep.name)).tuples().all()),
        "team": dict(session.execute(select(Team.id, Team.name)).tuples().all()),
        "territory": dict(session.execute(select(Territory.id, Territory.name)).tuples().all()),
    }
    can_maintain = forms.allowed(lambda: who.scope.require_planning("maintain quotas"))
    if form is None:
        defaults = {
            "period_start": filters.start.isoformat(),
            "period_end": filters.end.isoformat(),
            "currency": "USD",
            "ramp_factor": "1",
        }
        form = forms.FormState(current_values(editing) if editing else defaults)
    context = page_context(request, session, who, filters=filters) | {
        "title": "Quotas",
        "period_only": True,  # quotas are per period; the other filters do not apply
        "quotas": page.items,
        "total": page.total,
        "names": names,
        "can_maintain": can_maintain,
        "quota_form": form,
        "editing": editing,
        "holder_options": _holder_options(session, who.scope) if can_maintain else [],
        "saved": request.query_params.get("saved"),
    }
    response = templates.TemplateResponse(request, "quotas.html", context, status_code=form.status)
    remember(response, filters)
    return response


@router.get("/quotas", response_class=HTMLResponse)
def quotas_page(request: Request, session: SessionDep, who: WebUser) -> Response:
    edit = request.query_params.get("edit", "")
    editing = (
        records.get_record(session, QUOTAS, int(edit), scope=who.scope) if edit.isdigit() else None
    )
    return _page(request, session, who, editing=editing)


def _precheck(
    values: dict[str, Any], holder: dict[str, int | None] | None, state: forms.FormState
) -> None:
    """The records service's quota rules (`crm/checks.py`, shared with the API and imports)
    run on the form first too, so every problem shows at once, even with no holder chosen."""
    for problem in checks.quota_problems(values | (holder or {"rep_id": 0})):
        state.add(problem.location, problem.message)


@router.post("/quotas")
async def add_quota(request: Request, session: SessionDep, who: forms.FormUser) -> Response:
    who.scope.require_planning("maintain quotas")
    data = await forms.read(request)
    state = forms.FormState({"holder": data.get("holder", "")})
    holder = _holder(data.get("holder", ""), state)
    body = forms.parse(QuotaCreate, data, state, fields=FIELDS)
    if body is not None:
        _precheck(body.model_dump(exclude_unset=True), holder, state)
    if body is not None and holder is not None:
        values = body.model_dump(exclude_unset=True) | holder
        if state.ok:
            created = forms.attempt(
                session,
                state,
                lambda: records.create_record(session, QUOTAS, values, scope=who.scope),
                fields=(*FIELDS, "holder"),
            )
            if created is not None:
                return forms.done(f"/quotas?saved={created.id}")
    return _page(request, session, who, form=state)


@router.post("/quotas/{quota_id}")
async def change_quota(
    quota_id: int, request: Request, session: SessionDep, who: forms.FormUser
) -> Response:
    who.scope.require_planning("maintain quotas")
    quota = records.get_record(session, QUOTAS, quota_id, scope=who.scope)
    data = await forms.read(request)
    state = forms.FormState({"holder": data.get("holder", "")})
    holder = _holder(data.get("holder", ""), state)
    body = forms.parse(QuotaUpdate, data, state, fields=(*FIELDS, "version"))
    if body is not None and holder is not None:
        values = body.model_dump(exclude_unset=True) | holder
        expected = versioning.from_body(values.pop("version", None))
        _precheck(
            {c: getattr(quota, c) for c in ("period_start", "period_end")} | values, holder, state
        )
        if state.ok:
            forms.attempt(
                session,
                state,
                lambda: records.update_record(
                    session, QUOTAS, quota, values, scope=who.scope, expected=(expected,)
                ),
                fields=(*FIELDS, "holder"),
                reload=lambda: current_values(quota),
            )
            if state.ok:
                return forms.done(f"/quotas?saved={quota_id}")
    return _page(request, session, who, form=state, editing=quota)
