"""Money stays Decimal and timestamps stay UTC-aware through both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session

from salesops.models import Opportunity
from tests.factories import make_opportunity


def test_money_round_trips_as_an_exact_decimal(session: Session) -> None:
    opp = make_opportunity(session, amount=Decimal("1234567890.15"))
    session.expire_all()
    stored = session.scalars(select(Opportunity).where(Opportunity.id == opp.id)).one()
    assert stored.amount == Decimal("1234567890.15")
    assert isinstance(stored.amount, Decimal)


def test_timestamps_come_back_utc_aware_whatever_zone_they_were_given_in(
    session: Session,
) -> None:
    paris = timezone(timedelta(hours=1))
    opp = make_opportunity(session, at=datetime(2025, 2, 3, 10, 30, tzinfo=paris))
    session.expire_all()
    stored = session.get(Opportunity, opp.id)
    assert stored is not None
    assert stored.created_at == datetime(2025, 2, 3, 9, 30, tzinfo=UTC)
    assert stored.created_at.utcoffset() == timedelta(0)


def test_a_naive_timestamp_is_refused_by_the_column_type(session: Session) -> None:
    opp = make_opportunity(session)
    opp.closed_at = datetime(2025, 2, 3, 10, 30)  # naive on purpose
    with pytest.raises(StatementError, match="naive datetime"):
        session.flush()


def test_timestamp_comparisons_in_sql_respect_utc(session: Session) -> None:
    opp = make_opportunity(session, at=datetime(2025, 2, 3, 23, 30, tzinfo=UTC))
    later = datetime(2025, 2, 4, 0, 30, tzinfo=timezone(timedelta(hours=2)))  # 22:30 UTC
    found = session.scalars(select(Opportunity.id).where(Opportunity.created_at <= later)).all()
    assert opp.id not in found
