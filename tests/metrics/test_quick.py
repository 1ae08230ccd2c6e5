"""The public API answers the everyday questions with hand-checked figures."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from salesops import metrics
from salesops.pipeline import service
from tests.factories import T0, make_opportunity, make_rep

DAY = timedelta(days=1)


def test_win_rate_and_bookings_per_owner_match_a_hand_count(session: Session) -> None:
    ann, bob = make_rep(session, name="Ann Quick"), make_rep(session, name="Bob Quick")
    won = make_opportunity(session, owner=ann, amount=1000)
    lost = make_opportunity(session, owner=ann, amount=500)
    make_opportunity(session, owner=bob, amount=700)
    service.close_opportunity(session, won, won=True, at=T0 + 10 * DAY)
    service.close_opportunity(session, lost, won=False, at=T0 + 20 * DAY, loss_reason="price")
    session.flush()

    win_rate = metrics.compute(session, "win_rate", by=["owner"])
    assert win_rate.to_records() == [{"owner": "Ann Quick", "win_rate": 0.5}]
    bookings = metrics.compute(session, "bookings", grain="month", start=date(2025, 1, 1))
    assert bookings.to_records() == [{"period": date(2025, 1, 1), "bookings": Decimal("1000.00")}]
    pipeline = metrics.compute(session, "pipeline_value", by=["owner"])
    assert pipeline.to_records() == [{"owner": "Bob Quick", "pipeline_value": Decimal("700.00")}]
    before_close = metrics.compute(session, "pipeline_value", as_of=T0 + 5 * DAY)
    assert before_close.total == Decimal("2200.00")


def test_the_cached_copy_of_the_store_follows_changes_made_in_the_same_transaction(
    session: Session,
) -> None:
    rep = make_rep(session, name="Cache Watcher")
    first = make_opportunity(session, owner=rep, amount=100)
    service.close_opportunity(session, first, won=True, at=T0 + DAY)
    session.flush()
    assert metrics.compute(session, "bookings").total == Decimal("100.00")
    assert metrics.compute(session, "bookings").total == Decimal("100.00")
    second = make_opportunity(session, owner=rep, amount=50)
    service.close_opportunity(session, second, won=True, at=T0 + 2 * DAY)
    session.flush()
    assert metrics.compute(session, "bookings").total == Decimal("150.00")
    second.competitor = "Rival"  # an untracked field: no event, still seen
    session.flush()
    assert metrics.compute(session, "competitor_win_rate").total == 1.0
