"""The opportunity lifecycle writes one event per change of a tracked field."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from salesops.errors import Conflict, NotFound, ValidationFailed
from salesops.models import ForecastCategory, OpportunityEvent
from salesops.pipeline import service, stages
from tests.factories import T0, make_opportunity, make_rep, make_user


def events_of(session: Session, opp_id: int) -> list[tuple[str, str | None, str | None]]:
    session.flush()
    rows = session.execute(
        select(OpportunityEvent.field, OpportunityEvent.old_value, OpportunityEvent.new_value)
        .where(OpportunityEvent.opportunity_id == opp_id)
        .order_by(OpportunityEvent.at, OpportunityEvent.id)
    )
    return [tuple(r) for r in rows]  # type: ignore[misc]


def test_creating_an_opportunity_records_a_created_event_in_its_first_stage(
    session: Session,
) -> None:
    opp = make_opportunity(session, amount=5000)
    assert opp.stage.name == "Prospecting"
    assert opp.forecast_category == "pipeline"
    assert events_of(session, opp.id) == [("created", None, "Prospecting")]


def test_a_new_opportunity_cannot_start_closed_or_negative(session: Session) -> None:
    with pytest.raises(ValidationFailed, match="open stage"):
        make_opportunity(session, stage="Closed Won")
    with pytest.raises(ValidationFailed, match="negative"):
        make_opportunity(session, amount=-1)


def test_moving_stage_records_the_stage_and_the_forecast_category_change(
    session: Session,
) -> None:
    opp = make_opportunity(session)
    user = make_user(session)
    service.move_stage(session, opp, stages.by_name(session, "Proposal"), at=T0, by=user)
    assert events_of(session, opp.id)[1:] == [
        ("stage", "Prospecting", "Proposal"),
        ("forecast_category", "pipeline", "best_case"),
    ]
    event = session.scalars(
        select(OpportunityEvent).where(OpportunityEvent.field == "stage")
    ).first()
    assert event is not None
    assert event.by_user_id == user.id


def test_moving_to_the_same_stage_records_nothing(session: Session) -> None:
    opp = make_opportunity(session, stage="Discovery")
    service.move_stage(session, opp, stages.by_name(session, "Discovery"), at=T0)
    assert len(events_of(session, opp.id)) == 1


def test_amount_and_close_date_changes_keep_old_and_new_values(session: Session) -> None:
    opp = make_opportunity(session, amount=1000, close_date=date(2025, 3, 31))
    service.change_amount(session, opp, Decimal("1500.5"), at=T0)
    service.change_close_date(session, opp, date(2025, 4, 30), at=T0)
    service.change_amount(session, opp, Decimal("1500.50"), at=T0)  # unchanged: no event
    assert events_of(session, opp.id)[1:] == [
        ("amount", "1000.00", "1500.50"),
        ("close_date", "2025-03-31", "2025-04-30"),
    ]
    assert opp.amount == Decimal("1500.50")


def test_closing_won_sets_closed_at_and_the_closed_forecast_category(session: Session) -> None:
    opp = make_opportunity(session)
    closed_at = T0 + timedelta(days=30)
    service.close_opportunity(session, opp, won=True, at=closed_at)
    assert opp.stage.name == "Closed Won"
    assert opp.closed_at == closed_at
    assert opp.forecast_category == ForecastCategory.CLOSED


def test_closing_lost_needs_a_reason_and_keeps_it(session: Session) -> None:
    opp = make_opportunity(session)
    with pytest.raises(ValidationFailed, match="loss reason"):
        service.close_opportunity(session, opp, won=False, at=T0)
    service.close_opportunity(session, opp, won=False, at=T0, loss_reason="Price")
    assert opp.loss_reason == "Price"
    assert opp.stage.category == "lost"


def test_a_closed_opportunity_cannot_be_closed_again(session: Session) -> None:
    opp = make_opportunity(session)
    service.close_opportunity(session, opp, won=True, at=T0)
    with pytest.raises(Conflict, match="already closed"):
        service.close_opportunity(session, opp, won=False, at=T0, loss_reason="x")


def test_reopening_clears_the_close_and_is_an_event(session: Session) -> None:
    opp = make_opportunity(session)
    service.close_opportunity(session, opp, won=False, at=T0, loss_reason="No budget")
    service.move_stage(session, opp, stages.by_name(session, "Negotiation"), at=T0)
    assert opp.closed_at is None
    assert opp.loss_reason is None
    assert ("stage", "Closed Lost", "Negotiation") in events_of(session, opp.id)


def test_reassigning_records_the_owner_ids(session: Session) -> None:
    first, second = make_rep(session), make_rep(session)
    opp = make_opportunity(session, owner=first)
    service.reassign(session, opp, second, at=T0)
    assert events_of(session, opp.id)[-1] == ("owner", str(first.id), str(second.id))
    assert opp.owner_id == second.id


def test_update_applies_several_changes_each_with_its_event(session: Session) -> None:
    opp = make_opportunity(session, amount=100)
    service.update_opportunity(
        session,
        opp,
        at=T0,
        name="Renamed",
        amount=Decimal(200),
        stage=stages.by_name(session, "Negotiation"),
        forecast_category=ForecastCategory.BEST_CASE,
        probability=Decimal("0.6"),
    )
    fields = [field for field, _, _ in events_of(session, opp.id)]
    assert fields == ["created", "amount", "stage", "forecast_category", "forecast_category"]
    assert (opp.name, opp.forecast_category, opp.probability) == (
        "Renamed",
        "best_case",
        Decimal("0.6000"),
    )


def test_update_refuses_a_probability_outside_zero_to_one(session: Session) -> None:
    opp = make_opportunity(session)
    with pytest.raises(ValidationFailed, match="probability"):
        service.update_opportunity(session, opp, at=T0, probability=Decimal("1.5"))


def test_looking_up_unknown_records_says_what_is_missing(session: Session) -> None:
    with pytest.raises(NotFound, match="opportunity 999999"):
        service.get_opportunity(session, 999_999)
    with pytest.raises(NotFound, match="unknown stage 'Nope'"):
        stages.by_name(session, "Nope")
