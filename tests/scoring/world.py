"""A small company whose closed deals teach something: large clients are won, small lost."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from salesops.models import Opportunity
from salesops.pipeline import service
from tests.factories import T0, make_account, make_opportunity, make_rep


def build_world(session: Session, *, deals: int = 48, open_deals: int = 4) -> list[Opportunity]:
    """`deals` closed deals over a year (client_size Large won, Small lost, one exception in
    ten) and `open_deals` still open (half Large, half Small); returns the open ones."""
    reps = [make_rep(session) for _ in range(3)]
    account = make_account(session)
    account.attributes = {"tier": "gold"}
    for i in range(deals):
        large = i % 2 == 0
        won = large != (i % 10 == 9)
        created = T0 + timedelta(days=7 * i)
        opp = make_opportunity(
            session,
            owner=reps[i % 3],
            at=created,
            account=account,
            close_date=(created + timedelta(days=30)).date(),
        )
        opp.attributes = {"client_size": "Large" if large else "Small", "seats": 10 + i % 7}
        service.close_opportunity(
            session,
            opp,
            won=won,
            at=created + timedelta(days=20 + i % 5),
            loss_reason=None if won else "price",
        )
    still_open = []
    for j in range(open_deals):
        created = T0 + timedelta(days=7 * deals + j)
        opp = make_opportunity(
            session,
            owner=reps[j % 3],
            at=created,
            account=account,
            close_date=(created + timedelta(days=30)).date(),
        )
        opp.attributes = {"client_size": "Large" if j % 2 == 0 else "Small", "seats": 12}
        still_open.append(opp)
    session.flush()
    return still_open
