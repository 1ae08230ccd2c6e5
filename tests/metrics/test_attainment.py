"""Quota attainment: bookings and quota cover the same reps and the same days.

A team of a quota-carrying rep, a manager who carries no quota and a rep who left (whose
quota ended with January, and who still closed a deal in February), next to a second team:

    North  Quinn  quota Q1 10,000   won 1,500 (Jan 20) + 2,000 (Mar 5); 4,000 in April
           Max    no quota (manager) won 5,000 (Feb 10)
           Lee    quota Jan 2,000   won 1,000 (Jan 15); 3,000 (Feb 20, after leaving)
    South  Rex    quota Q1 5,000    won 6,000 (Mar 1)

Both teams sit under "Sales". Counting every booking gave North (5,000 + 3,500 + 1,000) /
12,000 = 79.2% where its quota-carrying reps were at 4,500 / 12,000 = 37.5%.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from salesops import metrics
from salesops.models import Quota, Rep, TeamMembership
from salesops.pipeline import service
from tests.factories import make_opportunity, make_rep, make_team

Q1 = {"start": date(2025, 1, 1), "end": date(2025, 3, 31)}


def _won(session: Session, owner: Rep, amount: int, on: date) -> None:
    opp = make_opportunity(session, owner=owner, amount=amount, close_date=on)
    noon = datetime(on.year, on.month, on.day, 12, tzinfo=UTC)
    service.close_opportunity(session, opp, won=True, at=noon)


@pytest.fixture
def sales(session: Session) -> dict[str, Rep]:
    root = make_team(session, name="Sales")
    north = make_team(session, name="North", parent=root)
    south = make_team(session, name="South", parent=root)
    reps = {name: make_rep(session, name=name) for name in ("Quinn", "Max", "Lee", "Rex")}
    reps["Quinn"].manager_id = reps["Lee"].manager_id = reps["Max"].id
    start = date(2024, 1, 1)
    session.add_all(
        [
            TeamMembership(rep_id=reps["Quinn"].id, team_id=north.id, valid_from=start),
            TeamMembership(rep_id=reps["Max"].id, team_id=north.id, valid_from=start),
            TeamMembership(
                rep_id=reps["Lee"].id, team_id=north.id, valid_from=start, valid_to=date(2025, 2, 1)
            ),
            TeamMembership(rep_id=reps["Rex"].id, team_id=south.id, valid_from=start),
            Quota(rep_id=reps["Quinn"].id, period_start=date(2025, 1, 1),
                  period_end=date(2025, 3, 31), amount=Decimal(10_000)),
            Quota(rep_id=reps["Lee"].id, period_start=date(2025, 1, 1),
                  period_end=date(2025, 1, 31), amount=Decimal(2_000)),
            Quota(rep_id=reps["Rex"].id, period_start=date(2025, 1, 1),
                  period_end=date(2025, 3, 31), amount=Decimal(5_000)),
            # A team quota is a planning target: neither side of attainment counts it.
            Quota(team_id=north.id, period_start=date(2025, 1, 1),
                  period_end=date(2025, 3, 31), amount=Decimal(50_000)),
        ]
    )  # fmt: skip
    session.flush()
    _won(session, reps["Quinn"], 1_500, date(2025, 1, 20))
    _won(session, reps["Quinn"], 2_000, date(2025, 3, 5))
    _won(session, reps["Quinn"], 4_000, date(2025, 4, 10))
    _won(session, reps["Max"], 5_000, date(2025, 2, 10))
    _won(session, reps["Lee"], 1_000, date(2025, 1, 15))
    _won(session, reps["Lee"], 3_000, date(2025, 2, 20))
    _won(session, reps["Rex"], 6_000, date(2025, 3, 1))
    session.flush()
    return reps


def _by(src: metrics.Source, name: str, dim: str) -> dict[str, object]:
    return {r.dimensions[dim]: r.value for r in metrics.compute(src, name, by=[dim], **Q1).rows}


def test_attainment_counts_only_bookings_of_reps_holding_a_quota_on_the_close_date(
    session: Session, sales: dict[str, Rep]
) -> None:
    src = metrics.open_engine(session)
    # Every won deal still counts in bookings: 3,500 + 5,000 + 4,000 + 6,000 in Q1.
    assert metrics.compute(src, "bookings", **Q1).total == Decimal("18500.00")
    # Against quota: Quinn 3,500, Lee 1,000 (January only), Rex 6,000.
    assert metrics.compute(src, "bookings_against_quota", **Q1).total == Decimal("10500.00")
    assert metrics.compute(src, "quota_amount", **Q1).total == Decimal("17000.00")
    assert metrics.compute(src, "quota_attainment", **Q1).total == 10_500 / 17_000
    assert _by(src, "quota_attainment", "owner") == {
        "Quinn": 3_500 / 10_000,
        "Lee": 1_000 / 2_000,  # not (1,000 + 3,000) / 2,000 = 200%
        "Rex": 6_000 / 5_000,
    }  # Max carries no quota: no row, and his 5,000 is in no team's numerator
    assert _by(src, "quota_attainment", "team") == {
        "Sales": 10_500 / 17_000,
        "North": 4_500 / 12_000,  # was (5,000 + 3,500 + 1,000) / 12,000 = 79.2%
        "South": 6_000 / 5_000,
    }
    # Rex alone is at quota among the three reps who carry one (Lee was at 200% before).
    assert metrics.compute(src, "quota_attainment_rate", **Q1).total == 1 / 3


def test_bookings_after_the_last_quota_period_are_not_against_quota(
    session: Session, sales: dict[str, Rep]
) -> None:
    src = metrics.open_engine(session)
    february = {"start": date(2025, 2, 1), "end": date(2025, 2, 28)}
    rows = metrics.compute(src, "quota_attainment", by=["owner"], **february).rows
    # February: Quinn 0 of 10,000 x 28/90, Rex 0 of 5,000 x 28/90. Lee's 3,000 (after his
    # quota ended) and Max's 5,000 (no quota) are no one's attainment.
    found = {r.dimensions["owner"]: (r.value, r.denominator) for r in rows}
    assert found == {"Quinn": (0.0, pytest.approx(3111.11)), "Rex": (0.0, pytest.approx(1555.56))}
    drilled = metrics.drill_down(src, "bookings_against_quota", **Q1)
    assert sorted(float(r["amount_rc"]) for r in drilled) == [1000.0, 1500.0, 2000.0, 6000.0]
