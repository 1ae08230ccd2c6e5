"""The pipeline rebuilt as of any timestamp from the event log."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from salesops.pipeline import service, stages
from salesops.pipeline.history import OpportunityState, pipeline_as_of
from tests.factories import T0, make_opportunity, make_rep

DAY = timedelta(days=1)


def state_of(session: Session, opp_id: int, at: datetime) -> OpportunityState | None:
    session.flush()
    return next((s for s in pipeline_as_of(session, at) if s.id == opp_id), None)


def test_an_opportunity_does_not_exist_before_it_was_created(session: Session) -> None:
    opp = make_opportunity(session, at=T0)
    assert state_of(session, opp.id, T0 - timedelta(seconds=1)) is None
    created = state_of(session, opp.id, T0)
    assert created is not None
    assert created.stage == "Prospecting"


def test_stage_moves_are_seen_from_the_moment_they_happen(session: Session) -> None:
    opp = make_opportunity(session, at=T0)
    service.move_stage(session, opp, stages.by_name(session, "Discovery"), at=T0 + 10 * DAY)
    service.move_stage(session, opp, stages.by_name(session, "Proposal"), at=T0 + 20 * DAY)

    def stage_at(at: datetime) -> tuple[str, str]:
        state = state_of(session, opp.id, at)
        assert state is not None
        return state.stage, state.forecast_category

    assert stage_at(T0 + 5 * DAY) == ("Prospecting", "pipeline")
    assert stage_at(T0 + 10 * DAY - timedelta(microseconds=1)) == ("Prospecting", "pipeline")
    assert stage_at(T0 + 10 * DAY) == ("Discovery", "pipeline")
    assert stage_at(T0 + 15 * DAY) == ("Discovery", "pipeline")
    assert stage_at(T0 + 25 * DAY) == ("Proposal", "best_case")


def test_amount_changes_and_close_date_slips_are_rewound(session: Session) -> None:
    opp = make_opportunity(session, amount=1000, close_date=date(2025, 3, 31), at=T0)
    service.change_amount(session, opp, Decimal(1500), at=T0 + 3 * DAY)
    service.change_close_date(session, opp, date(2025, 4, 30), at=T0 + 6 * DAY)
    service.change_amount(session, opp, Decimal(1200), at=T0 + 9 * DAY)
    service.change_close_date(session, opp, date(2025, 6, 30), at=T0 + 12 * DAY)

    expected = {
        T0 + DAY: (Decimal(1000), date(2025, 3, 31)),
        T0 + 4 * DAY: (Decimal(1500), date(2025, 3, 31)),
        T0 + 7 * DAY: (Decimal(1500), date(2025, 4, 30)),
        T0 + 10 * DAY: (Decimal(1200), date(2025, 4, 30)),
        T0 + 13 * DAY: (Decimal(1200), date(2025, 6, 30)),
    }
    for at, (amount, close_date) in expected.items():
        state = state_of(session, opp.id, at)
        assert state is not None
        assert (state.amount, state.close_date) == (amount, close_date), at


def test_a_won_deal_is_open_before_its_close_and_closed_after(session: Session) -> None:
    opp = make_opportunity(session, at=T0)
    service.close_opportunity(session, opp, won=True, at=T0 + 30 * DAY)
    before = state_of(session, opp.id, T0 + 29 * DAY)
    after = state_of(session, opp.id, T0 + 31 * DAY)
    assert before is not None
    assert after is not None
    assert (before.stage_category, before.closed_at) == ("open", None)
    assert (after.stage_category, after.closed_at) == ("won", T0 + 30 * DAY)
    assert after.forecast_category == "closed"


def test_a_reopened_and_reclosed_deal_shows_each_phase_with_its_own_close_time(
    session: Session,
) -> None:
    opp = make_opportunity(session, at=T0)
    service.close_opportunity(session, opp, won=False, at=T0 + 10 * DAY, loss_reason="Timing")
    service.move_stage(session, opp, stages.by_name(session, "Negotiation"), at=T0 + 20 * DAY)
    service.close_opportunity(session, opp, won=True, at=T0 + 30 * DAY)

    lost = state_of(session, opp.id, T0 + 15 * DAY)
    reopened = state_of(session, opp.id, T0 + 25 * DAY)
    won = state_of(session, opp.id, T0 + 35 * DAY)
    assert lost is not None
    assert reopened is not None
    assert won is not None
    assert (lost.stage, lost.closed_at) == ("Closed Lost", T0 + 10 * DAY)
    assert (reopened.stage, reopened.closed_at, reopened.forecast_category) == (
        "Negotiation",
        None,
        "commit",
    )
    assert (won.stage, won.closed_at) == ("Closed Won", T0 + 30 * DAY)


def test_ownership_changes_are_rewound(session: Session) -> None:
    first, second = make_rep(session), make_rep(session)
    opp = make_opportunity(session, owner=first, at=T0)
    service.reassign(session, opp, second, at=T0 + 5 * DAY)
    earlier = state_of(session, opp.id, T0 + DAY)
    later = state_of(session, opp.id, T0 + 6 * DAY)
    assert earlier is not None
    assert later is not None
    assert (earlier.owner_id, later.owner_id) == (first.id, second.id)


def test_the_snapshot_now_equals_the_current_state_of_every_deal(session: Session) -> None:
    owner = make_rep(session)
    opps = [make_opportunity(session, owner=owner, amount=100 * i, at=T0) for i in range(1, 6)]
    service.move_stage(session, opps[0], stages.by_name(session, "Proposal"), at=T0 + DAY)
    service.close_opportunity(session, opps[1], won=True, at=T0 + 2 * DAY)
    service.change_amount(session, opps[2], Decimal(999), at=T0 + 3 * DAY)
    now = T0 + 100 * DAY
    snapshot = {s.id: s for s in pipeline_as_of(session, now)}
    for opp in opps:
        state = snapshot[opp.id]
        assert (state.stage, state.amount, state.close_date, state.owner_id) == (
            opp.stage.name,
            opp.amount,
            opp.close_date,
            opp.owner_id,
        )


def test_events_at_exactly_the_as_of_time_count_as_applied(session: Session) -> None:
    opp = make_opportunity(session, at=T0)
    service.change_amount(session, opp, Decimal(42), at=T0 + DAY)
    state = state_of(session, opp.id, T0 + DAY)
    assert state is not None
    assert state.amount == Decimal(42)
