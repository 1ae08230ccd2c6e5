"""Cohort retention, the ramp curve and bookings from leads, against the hand-worked figures in
tests/insights_world.py (on SQLite and PostgreSQL, through DuckDB, and scoped to a rep)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from salesops import metrics
from salesops.auth.scoped_metrics import metric_scope
from salesops.auth.scoping import scope_for
from salesops.errors import ValidationFailed
from salesops.metrics.scoped import restrict
from tests.insights_world import Q1_2025, World, build_world

COHORTS = {"grain": "quarter", "start": date(2024, 1, 1), "end": date(2024, 12, 31)}


@pytest.fixture
def world(session: Session) -> World:
    return build_world(session)


def by_period(result: metrics.MetricResult) -> dict[date, object]:
    return {r.period: r.value for r in result.rows if r.period is not None}


def test_cohort_retention_follows_each_cohort_from_its_first_contract(
    session: Session, world: World
) -> None:
    src = metrics.open_engine(session)
    net = metrics.compute(src, "cohort_net_revenue_retention", **COHORTS)
    assert by_period(net) == {date(2024, 1, 1): 1800 / 1800, date(2024, 4, 1): 0.0}
    gross = metrics.compute(src, "cohort_gross_revenue_retention", **COHORTS)
    assert by_period(gross) == {date(2024, 1, 1): 1600 / 1800, date(2024, 4, 1): 0.0}
    logo = metrics.compute(src, "cohort_logo_retention", **COHORTS)
    assert by_period(logo) == {date(2024, 1, 1): 1.0, date(2024, 4, 1): 0.0}
    later = metrics.compute(
        src, "cohort_net_revenue_retention", params={"months_after": 18}, **COHORTS
    )
    assert by_period(later)[date(2024, 1, 1)] == 1200 / 1800
    six = metrics.compute(src, "cohort_logo_retention", params={"months_after": 6}, **COHORTS)
    assert set(by_period(six).values()) == {1.0}
    first = net.rows[0]
    assert (first.numerator, first.denominator) == (Decimal("1800.00"), Decimal("1800.00"))


def test_a_cohort_point_in_the_future_is_not_measured(session: Session, world: World) -> None:
    src = metrics.open_engine(session)
    # 40 years after 2024 has not happened: no account is measured, so no row at all.
    far = metrics.compute(
        src, "cohort_net_revenue_retention", params={"months_after": 480}, **COHORTS
    )
    assert far.rows == ()
    with pytest.raises(ValidationFailed, match="months_after"):
        metrics.compute(src, "cohort_net_revenue_retention", params={"months_after": -1})


def test_cohort_retention_drills_into_the_accounts_of_the_cohort(
    session: Session, world: World
) -> None:
    src = metrics.open_engine(session)
    rows = metrics.drill_down(
        src,
        "cohort_net_revenue_retention",
        period=date(2024, 1, 1),
        grain="quarter",
        limit=None,
    )
    acme, initech = world.org.accounts["acme"], world.org.accounts["initech"]
    assert {r["account_id"]: (r["start_value"], r["end_value"]) for r in rows} == {
        acme: (Decimal("1000.00"), Decimal("1200.00")),
        initech: (Decimal("800.00"), Decimal("600.00")),
    }
    q1 = metrics.drill_down(src, "gross_revenue_retention", limit=None, **Q1_2025)
    globex = world.org.accounts["globex"]
    assert {r["account_id"]: r["end_value"] for r in q1} == {
        acme: Decimal("1200.00"),
        initech: Decimal("600.00"),
        globex: Decimal("0.00"),
    }


def test_the_ramp_curve_is_mean_bookings_per_quota_carrying_rep_by_month_of_tenure(
    session: Session, world: World
) -> None:
    src = metrics.open_engine(session)
    month0 = metrics.compute(src, "ramp_bookings_per_rep", **COHORTS)
    assert by_period(month0) == {
        date(2024, 1, 1): Decimal(2500 / 3).quantize(Decimal("0.01")),
        date(2024, 4, 1): Decimal("900.00"),
    }
    assert (month0.rows[0].numerator, month0.rows[0].denominator) == (Decimal("2500.00"), 3)
    month1 = metrics.compute(src, "ramp_bookings_per_rep", params={"tenure_month": 1}, **COHORTS)
    assert by_period(month1)[date(2024, 1, 1)] == Decimal(2600 / 3).quantize(Decimal("0.01"))
    # As of 20 February 2024 only January is over: Ann 1000 and Cat 1500 (Bob's February is not).
    before = metrics.compute(src, "ramp_bookings_per_rep", as_of=date(2024, 2, 20), **COHORTS)
    assert by_period(before) == {date(2024, 1, 1): Decimal("1250.00")}
    # Managers carry no quota: they are not in any cohort.
    owners = metrics.compute(src, "ramp_bookings_per_rep", by=["owner"], **COHORTS)
    assert {r.dimensions["owner"] for r in owners.rows} == {"Ann", "Bob", "Cat", "Dan"}
    # After 2024 no quota: month 12 measures nobody.
    assert (
        metrics.compute(src, "ramp_bookings_per_rep", params={"tenure_month": 12}, **COHORTS).rows
        == ()
    )
    deals = metrics.drill_down(
        src,
        "ramp_bookings_per_rep",
        period=date(2024, 1, 1),
        grain="quarter",
        params={"tenure_month": 1},
        limit=None,
    )
    assert sorted(r["amount_rc"] for r in deals) == [Decimal("600.00"), Decimal("2000.00")]


def test_bookings_from_leads_sum_the_won_deals_leads_converted_into(
    session: Session, world: World
) -> None:
    src = metrics.open_engine(session)

    def by_source(name: str, source: metrics.Source = src) -> dict[str, object]:
        result = metrics.compute(source, name, by=["lead_source"], **Q1_2025)
        return {r.dimensions["lead_source"]: r.value for r in result.rows}

    assert by_source("leads_created") == {"Web": 5, "Event": 1}
    assert by_source("lead_to_opportunity_rate") == {"Web": 3 / 5, "Event": 0.0}
    assert by_source("lead_to_sale_rate") == {"Web": 2 / 5, "Event": 0.0}
    # Event leads won nothing: no row (the page shows a dash, as for any empty sum).
    assert by_source("lead_bookings") == {"Web": Decimal("3000.00")}
    ann = restrict(src, metric_scope(session, scope_for(session, world.org.users["ann"])))
    assert by_source("lead_bookings", ann) == {"Web": Decimal("1000.00")}
    assert by_source("lead_to_opportunity_rate", ann) == {"Web": 2 / 3, "Event": 0.0}
    won = metrics.drill_down(src, "lead_bookings", limit=None, **Q1_2025)
    assert sorted(r["won_amount_rc"] for r in won) == [Decimal("1000.00"), Decimal("2000.00")]


def test_the_new_metrics_obey_row_level_scoping(session: Session, world: World) -> None:
    src = metrics.open_engine(session)
    ann = restrict(src, metric_scope(session, scope_for(session, world.org.users["ann"])))
    cat = restrict(src, metric_scope(session, scope_for(session, world.org.users["cat"])))
    assert metrics.compute(ann, "gross_revenue_retention", **Q1_2025).total == 1.0
    # Cat sells to Initech and owns Globex, which churned: (600 + 0) / (600 + 500).
    assert metrics.compute(cat, "net_revenue_retention", **Q1_2025).total == 600 / 1100
    assert metrics.compute(src, "net_revenue_retention", **Q1_2025).total == 1800 / 2300
    assert metrics.compute(src, "churn_rate", **Q1_2025).total == 1 / 3
    # Ann's cohort is Acme alone: 1200 twelve months on, over 1000.
    assert by_period(metrics.compute(ann, "cohort_net_revenue_retention", **COHORTS)) == {
        date(2024, 1, 1): 1200 / 1000
    }
    ramp = metrics.compute(ann, "ramp_bookings_per_rep", by=["owner"], **COHORTS)
    assert [(r.dimensions["owner"], r.value) for r in ramp.rows] == [("Ann", Decimal("1000.00"))]
    rivals = metrics.compute(ann, "competitor_win_rate", by=["competitor"], **Q1_2025)
    assert {r.dimensions["competitor"]: r.value for r in rivals.rows} == {
        "Rival A": 1 / 2,
        "Rival B": 0.0,
    }
