"""Opportunity lifecycle: every change of a tracked field is written as an event."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from salesops.crm import checks
from salesops.db.attributes import attribute_problems
from salesops.db.limits import date_problem, money_problem
from salesops.db.types import as_utc
from salesops.errors import Conflict, NotFound, Problem, ValidationFailed
from salesops.models import (
    EventField,
    ForecastCategory,
    Opportunity,
    OpportunityEvent,
    OpportunityType,
    PipelineStage,
    Rep,
    StageCategory,
    User,
)
from salesops.pipeline import stages


def event_value(field: EventField, value: object) -> str | None:
    """The canonical text form in which `value` of `field` is stored in an event."""
    if value is None:
        return None
    if isinstance(value, PipelineStage):
        return value.name
    if isinstance(value, Rep):
        return str(value.id)
    if isinstance(value, Decimal):
        return str(value.quantize(Decimal("0.01")))
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def record_event(
    session: Session,
    opp: Opportunity,
    *,
    field: EventField,
    old: object,
    new: object,
    at: datetime,
    by: User | None = None,
    source: str = "salesops",
) -> OpportunityEvent:
    """Append one change of `field` on `opp` to its event log."""
    event = OpportunityEvent(
        opportunity_id=opp.id,
        field=field.value,
        old_value=event_value(field, old),
        new_value=event_value(field, new),
        at=as_utc(at),
        by_user_id=by.id if by else None,
        source=source,
    )
    session.add(event)
    return event


def _check_amount(amount: Decimal) -> Decimal:
    if amount < 0:
        raise ValidationFailed(f"amount must not be negative (got {amount})")
    if reason := money_problem(amount):
        raise ValidationFailed("invalid amount", [Problem(f"amount {reason}", "amount")])
    return amount.quantize(Decimal("0.01"))


def _check_close_date(close_date: date) -> date:
    if reason := date_problem(close_date):
        raise ValidationFailed(
            "invalid close date", [Problem(f"close_date {reason}", "close_date")]
        )
    return close_date


def check_currency(session: Session, currency: str) -> str:
    """The currency code, upper-cased, if metrics can convert it to the reporting currency."""
    code = currency.strip().upper()
    if reason := checks.currency_problem(code, checks.rated_currencies(session)):
        raise ValidationFailed("unknown currency", [Problem(reason, "currency")])
    return code


def _forecast_category(category: ForecastCategory | str) -> ForecastCategory:
    try:
        return ForecastCategory(category)
    except ValueError:
        allowed = ", ".join(c.value for c in ForecastCategory)
        raise ValidationFailed(
            "invalid forecast category",
            [Problem(f"{category!r} is not one of {allowed}", "forecast_category")],
        ) from None


def create_opportunity(
    session: Session,
    *,
    name: str,
    owner: Rep,
    amount: Decimal,
    close_date: date,
    at: datetime,
    by: User | None = None,
    stage: PipelineStage | None = None,
    account_id: int | None = None,
    product_id: int | None = None,
    currency: str = "USD",
    type: OpportunityType = OpportunityType.NEW,
    lead_source: str | None = None,
    competitor: str | None = None,
    probability: Decimal | None = None,
) -> Opportunity:
    """Create an open opportunity and record its creation as an event."""
    if not name.strip():
        raise ValidationFailed("an opportunity needs a name")
    stage = stage or stages.ordered(session)[0]
    if stage.category != StageCategory.OPEN:
        raise ValidationFailed(f"a new opportunity must start in an open stage, not {stage.name}")
    if probability is not None and not Decimal(0) <= probability <= Decimal(1):
        raise ValidationFailed(f"probability must be between 0 and 1 (got {probability})")
    opp = Opportunity(
        name=name.strip(),
        owner_id=owner.id,
        account_id=account_id,
        product_id=product_id,
        amount=_check_amount(amount),
        currency=check_currency(session, currency),
        stage=stage,
        stage_id=stage.id,
        forecast_category=stage.forecast_category,
        close_date=_check_close_date(close_date),
        type=OpportunityType(type).value,
        lead_source=lead_source,
        competitor=competitor,
        probability=probability,
        created_at=as_utc(at),
    )
    session.add(opp)
    session.flush()
    record_event(session, opp, field=EventField.CREATED, old=None, new=stage, at=at, by=by)
    return opp


def get_opportunity(session: Session, opp_id: int) -> Opportunity:
    """The opportunity with id `opp_id`."""
    opp = session.get(Opportunity, opp_id)
    if opp is None:
        raise NotFound(f"opportunity {opp_id} does not exist")
    return opp


def move_stage(
    session: Session,
    opp: Opportunity,
    stage: PipelineStage,
    *,
    at: datetime,
    by: User | None = None,
    loss_reason: str | None = None,
) -> Opportunity:
    """Move `opp` to `stage`; a terminal stage closes it, an open stage reopens a closed one."""
    if stage.id == opp.stage_id:
        return opp
    if stage.category == StageCategory.LOST and not (loss_reason or opp.loss_reason):
        raise ValidationFailed("a lost opportunity needs a loss reason")
    record_event(session, opp, field=EventField.STAGE, old=opp.stage, new=stage, at=at, by=by)
    opp.stage, opp.stage_id = stage, stage.id
    if stage.category == StageCategory.OPEN:
        opp.closed_at = None
        opp.loss_reason = None
    else:
        opp.closed_at = as_utc(at)
        if stage.category == StageCategory.LOST:
            opp.loss_reason = loss_reason or opp.loss_reason
    set_forecast_category(session, opp, ForecastCategory(stage.forecast_category), at=at, by=by)
    return opp


def close_opportunity(
    session: Session,
    opp: Opportunity,
    *,
    won: bool,
    at: datetime,
    by: User | None = None,
    loss_reason: str | None = None,
) -> Opportunity:
    """Close `opp` as won or lost, recording the stage change as an event."""
    if opp.stage.category != StageCategory.OPEN:
        raise Conflict(f"opportunity {opp.id} is already closed ({opp.stage.name})")
    if not won and not loss_reason:
        raise ValidationFailed("a lost opportunity needs a loss reason")
    return move_stage(
        session, opp, stages.terminal(session, won=won), at=at, by=by, loss_reason=loss_reason
    )


def change_amount(
    session: Session, opp: Opportunity, amount: Decimal, *, at: datetime, by: User | None = None
) -> Opportunity:
    """Change the deal amount."""
    amount = _check_amount(amount)
    if amount != opp.amount:
        record_event(
            session, opp, field=EventField.AMOUNT, old=opp.amount, new=amount, at=at, by=by
        )
        opp.amount = amount
    return opp


def change_close_date(
    session: Session, opp: Opportunity, close_date: date, *, at: datetime, by: User | None = None
) -> Opportunity:
    """Move the expected close date (a slip when later, a pull-in when earlier)."""
    _check_close_date(close_date)
    if close_date != opp.close_date:
        record_event(
            session,
            opp,
            field=EventField.CLOSE_DATE,
            old=opp.close_date,
            new=close_date,
            at=at,
            by=by,
        )
        opp.close_date = close_date
    return opp


def set_forecast_category(
    session: Session,
    opp: Opportunity,
    category: ForecastCategory,
    *,
    at: datetime,
    by: User | None = None,
) -> Opportunity:
    """Set the forecast category the rep calls this deal in."""
    category = _forecast_category(category)
    if category.value != opp.forecast_category:
        record_event(
            session,
            opp,
            field=EventField.FORECAST_CATEGORY,
            old=opp.forecast_category,
            new=category.value,
            at=at,
            by=by,
        )
        opp.forecast_category = category.value
    return opp


def reassign(
    session: Session, opp: Opportunity, owner: Rep, *, at: datetime, by: User | None = None
) -> Opportunity:
    """Give `opp` to another rep."""
    if owner.id != opp.owner_id:
        record_event(
            session, opp, field=EventField.OWNER, old=str(opp.owner_id), new=owner, at=at, by=by
        )
        opp.owner_id = owner.id
    return opp


def update_opportunity(
    session: Session,
    opp: Opportunity,
    *,
    at: datetime,
    by: User | None = None,
    name: str | None = None,
    amount: Decimal | None = None,
    close_date: date | None = None,
    stage: PipelineStage | None = None,
    forecast_category: ForecastCategory | None = None,
    owner: Rep | None = None,
    probability: Decimal | None = None,
    competitor: str | None = None,
    lead_source: str | None = None,
    loss_reason: str | None = None,
    next_step: str | None = None,
    currency: str | None = None,
    attributes: dict[str, Any] | None = None,
) -> Opportunity:
    """Apply any set of changes; tracked fields go through the functions that record events.

    `attributes` replaces the custom attributes ({} clears them); they keep no history."""
    if currency is not None:
        # Correctable like any field, with the same check as on creation: a currency with no
        # exchange rate would leave every money metric nothing to convert this deal with.
        opp.currency = check_currency(session, currency)
    if name is not None:
        if not name.strip():
            raise ValidationFailed("an opportunity needs a name")
        opp.name = name.strip()
    if amount is not None:
        change_amount(session, opp, amount, at=at, by=by)
    if close_date is not None:
        change_close_date(session, opp, close_date, at=at, by=by)
    if owner is not None:
        reassign(session, opp, owner, at=at, by=by)
    if stage is not None:
        move_stage(session, opp, stage, at=at, by=by, loss_reason=loss_reason)
    if forecast_category is not None:
        set_forecast_category(session, opp, forecast_category, at=at, by=by)
    if probability is not None:
        if not Decimal(0) <= probability <= Decimal(1):
            raise ValidationFailed(f"probability must be between 0 and 1 (got {probability})")
        opp.probability = probability
    if competitor is not None:
        opp.competitor = competitor or None
    if lead_source is not None:
        opp.lead_source = lead_source or None
    if next_step is not None:
        opp.next_step = next_step.strip() or None
    if attributes is not None:
        problems = attribute_problems(attributes)
        if problems:
            raise ValidationFailed(
                "invalid attributes", [Problem(p, "attributes") for p in problems]
            )
        opp.attributes = dict(attributes) or None
    return opp


def dependants(session: Session, opp: Opportunity) -> dict[str, int]:
    """Records people entered that point at `opp` (by kind, how many): while there are any,
    the opportunity cannot be deleted (its own events and model predictions go with it)."""
    from salesops.models import Activity, Contract, Lead

    found = {
        "activities": session.scalar(select(func.count()).where(Activity.opportunity_id == opp.id)),
        "contracts": session.scalar(select(func.count()).where(Contract.opportunity_id == opp.id)),
        "leads": session.scalar(
            select(func.count()).where(Lead.converted_opportunity_id == opp.id)
        ),
    }
    return {kind: n for kind, n in found.items() if n}


def delete_opportunity(session: Session, opp: Opportunity) -> None:
    """Delete `opp` with its event history (and the model predictions made for it).

    Refused with Conflict, naming them, while activities, contracts or converted leads point
    at it: those are records of their own, and silently unlinking or deleting them would lose
    what someone entered. The audit log keeps the deleted values.
    """
    found = dependants(session, opp)
    if found:
        named = ", ".join(f"{n} {kind}" for kind, n in found.items())
        raise Conflict(
            f"opportunity {opp.id} cannot be deleted: {named} point at it;"
            " delete them or link them to another opportunity first"
        )
    session.delete(opp)
