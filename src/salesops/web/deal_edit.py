"""Update a deal from its page: stage, amount, close date, next step and forecast category.

The form posts to the same service as `PATCH /api/v1/opportunities/{id}`
(`pipeline.access.update`): the scope decides who may change the deal (a rep their own, a
manager their team's, never an analyst), every tracked change becomes an event, the whole
change one audit entry, and the version the form was shown with guards against overwriting
someone else's change.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from salesops.api.deps import Principal
from salesops.crm import versioning
from salesops.models import ForecastCategory, Opportunity, StageCategory
from salesops.pipeline import access, stages
from salesops.pipeline.api import OpportunityUpdate
from salesops.playbooks import web as playbook_pages
from salesops.web import forms
from salesops.web.deps import SessionDep

router = APIRouter(include_in_schema=False)
FIELDS = ("stage", "loss_reason", "amount", "close_date", "next_step", "forecast_category")
LABELS = {"close_date": "close date", "forecast_category": "forecast category"}


def current_values(opp: Opportunity) -> dict[str, str]:
    """The deal as the form shows it."""
    return {
        "stage": opp.stage.name,
        "loss_reason": opp.loss_reason or "",
        "amount": str(opp.amount.quantize(Decimal("0.01"))),
        "close_date": opp.close_date.isoformat() if opp.close_date else "",
        "next_step": opp.next_step or "",
        "forecast_category": opp.forecast_category,
        "version": str(opp.version),
    }


def form_context(
    request: Request, session: Session, who: Principal, opp: Opportunity
) -> dict[str, Any]:
    """What opportunity.html needs to draw the edit form (or no form, for a read-only role)."""
    state = getattr(request.state, "deal_form", None) or forms.FormState(current_values(opp))
    return {
        "deal_form": state,
        "deal_labels": LABELS,
        "can_edit_deal": forms.allowed(lambda: who.scope.require_record_write("change deals")),
        "stage_options": [(s.name, s.name) for s in stages.ordered(session)],
        "category_options": [(c.value, c.value.replace("_", " ")) for c in ForecastCategory],
        "deal_saved": request.query_params.get("saved") == "1",
    }


def _changes(opp: Opportunity, body: OpportunityUpdate, data: dict[str, str]) -> dict[str, Any]:
    """Only what the user changed: a field left as shown is not sent to the service (moving
    the stage then sets the stage's own forecast category, as through the API)."""
    changes: dict[str, Any] = {}
    if body.stage is not None and body.stage != opp.stage.name:
        changes["stage"] = body.stage
        if body.loss_reason:
            changes["loss_reason"] = body.loss_reason
    elif body.loss_reason and body.loss_reason != opp.loss_reason:
        changes["loss_reason"] = body.loss_reason
    if body.amount is not None and body.amount != opp.amount:
        changes["amount"] = body.amount
    if body.close_date is not None and body.close_date != opp.close_date:
        changes["close_date"] = body.close_date
    if (data.get("next_step") or None) != opp.next_step:
        changes["next_step"] = data.get("next_step", "")
    category = body.forecast_category
    if category is not None and category != opp.forecast_category:
        changes["forecast_category"] = category
    return changes


def _lost_needs_reason(session: Session, data: dict[str, str], state: forms.FormState) -> None:
    if data.get("stage") and not data.get("loss_reason"):
        stage = next((s for s in stages.ordered(session) if s.name == data["stage"]), None)
        if stage is not None and stage.category == StageCategory.LOST:
            state.add("loss_reason", "required when the deal is lost")


@router.post("/opportunities/{opp_id}")
async def update_deal(
    opp_id: int, request: Request, session: SessionDep, who: forms.FormUser
) -> Response:
    from salesops.web.records import opportunity

    opp = access.get_visible(session, opp_id, scope=who.scope)
    # The service checks this again; here it answers a read-only role with the error page,
    # since their page has no form to show the message in.
    who.scope.require_record_write("change deals")
    data = await forms.read(request)
    state = forms.FormState()
    body = forms.parse(OpportunityUpdate, data, state, fields=(*FIELDS, "version"))
    _lost_needs_reason(session, data, state)
    if isinstance(body, OpportunityUpdate) and state.ok:
        expected = versioning.from_body(body.version)
        changes = _changes(opp, body, data)
        forms.attempt(
            session,
            state,
            lambda: access.update(session, opp, scope=who.scope, expected=(expected,), **changes),
            fields=FIELDS,
            reload=lambda: current_values(opp),
        )
    if state.ok:
        return forms.done(playbook_pages.saved_location(session, opp_id))
    request.state.deal_form = state
    response = opportunity(opp_id, request, session, who)
    response.status_code = state.status
    return response
