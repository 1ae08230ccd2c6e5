"""Custom attributes slice and filter metrics: `attributes.<name>`, `account_attributes.<name>`."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from salesops import metrics
from salesops.errors import ValidationFailed
from salesops.pipeline import service
from tests.factories import T0, make_account, make_opportunity, make_rep

DAY = timedelta(days=1)


def test_metrics_are_sliced_and_filtered_by_custom_attributes(session: Session) -> None:
    rep = make_rep(session, name="Attr Rep")
    gold, plain = make_account(session), make_account(session)
    gold.attributes = {"tier": "gold"}
    deals = [
        # (client size, seats, account, amount, won)
        ("Large", 12, gold, 1000, True),
        ("Large", 12, plain, 400, False),
        ("Small", 2.5, gold, 300, True),
        (None, None, plain, 200, True),
    ]
    for i, (size, seats, account, amount, won) in enumerate(deals):
        opp = make_opportunity(session, owner=rep, amount=amount, account=account)
        opp.attributes = {k: v for k, v in (("client_size", size), ("seats", seats)) if v}
        service.close_opportunity(
            session, opp, won=won, at=T0 + (i + 1) * DAY, loss_reason=None if won else "price"
        )
    session.flush()

    by_size = metrics.compute(session, "bookings", by=["attributes.client_size"])
    # Hand count: Large won 1000, Small won 300, the deal without the attribute 200.
    assert by_size.to_records() == [
        {"attributes.client_size": "(none)", "bookings": Decimal("200.00")},
        {"attributes.client_size": "Large", "bookings": Decimal("1000.00")},
        {"attributes.client_size": "Small", "bookings": Decimal("300.00")},
    ]
    # Numbers are labelled as JSON writes them.
    seats = metrics.compute(session, "won_deals", by=["attributes.seats"]).to_records()
    assert {r["attributes.seats"]: r["won_deals"] for r in seats} == {
        "12": 1,
        "2.5": 1,
        "(none)": 1,
    }
    # Win rate of the gold accounts' deals: both won; elsewhere 1 of 2.
    rates = metrics.compute(session, "win_rate", by=["account_attributes.tier"]).to_records()
    assert {r["account_attributes.tier"]: r["win_rate"] for r in rates} == {
        "gold": 1.0,
        "(none)": 0.5,
    }
    gold_only = metrics.compute(session, "bookings", filters={"account_attributes.tier": "gold"})
    assert gold_only.total == Decimal("1300.00")
    if session.get_bind().dialect.name == "postgresql":
        # The same expression run by PostgreSQL itself on its json column.
        direct = metrics.compute(
            session, "bookings", by=["attributes.client_size"], engine="postgres"
        )
        assert direct.to_records() == by_size.to_records()
    # A change of an attribute alone (no event) is seen by the next query.
    gold.attributes = {"tier": "silver"}
    session.flush()
    again = metrics.compute(session, "bookings", filters={"account_attributes.tier": "gold"})
    assert again.total in (None, Decimal("0"), Decimal("0.00"))


def test_an_attribute_dimension_needs_a_valid_name_and_a_fact_that_carries_it(
    session: Session,
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        metrics.compute(session, "bookings", by=["attributes.bad name!"])
    assert "cannot be sliced by 'attributes.bad name!'" in str(caught.value.problems)
    with pytest.raises(ValidationFailed):
        metrics.compute(session, "leads_created", by=["attributes.client_size"])
