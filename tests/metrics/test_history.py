"""Point in time, period-over-period comparison, the waterfall and drill-down."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from salesops import metrics
from salesops.errors import ValidationFailed
from salesops.metrics import opportunity_fact, quarantine
from salesops.pipeline import service, stages
from tests.factories import T0, make_opportunity, make_rep
from tests.metrics import reference as ref
from tests.metrics.scenario import DAY, Company

MOMENTS = [
    T0 - timedelta(seconds=1),
    T0,
    T0 + 3 * DAY,  # exactly when d2 moved to Proposal: the move counts as applied
    T0 + 35 * DAY - timedelta(microseconds=1),
    T0 + 35 * DAY,  # d3 won the first time
    T0 + 41 * DAY,  # d3 reopened
    T0 + 56 * DAY,
    datetime(2030, 1, 1, tzinfo=UTC),
]


def test_the_ibis_as_of_rule_agrees_with_pipeline_as_of_deal_by_deal(
    session: Session, company: Company, engines: list[str]
) -> None:
    for engine in engines:
        src = metrics.open_engine(session, engine=engine)
        for moment in MOMENTS:
            naive = moment.astimezone(UTC).replace(tzinfo=None)
            fact = opportunity_fact.opportunities(src.tables, src.ctx, as_of=naive)
            got = {
                r["id"]: (
                    r["stage"], r["amount"], r["close_date"], r["owner_id"],
                    r["forecast_category"], r["closed_at"],
                )
                for r in src.backend.to_pyarrow(fact).to_pylist()
            }  # fmt: skip
            expected = {
                s.id: (
                    s.stage, s.amount, s.close_date, s.owner_id, s.forecast_category,
                    s.closed_at.replace(tzinfo=None) if s.closed_at else None,
                )
                for s in ref.states(session, moment)
            }  # fmt: skip
            assert got == expected, f"{engine} as of {moment}"


def test_metrics_as_of_a_date_use_the_pipeline_as_it_was(
    session: Session, company: Company, engines: list[str]
) -> None:
    moment = datetime(2025, 2, 14, 23, 59, 59, 999999, tzinfo=UTC)
    expected = ref.states(session, moment)
    open_value = sum((ref.converted(session, s) for s in expected if s.is_open), Decimal(0))
    for engine in engines:
        src = metrics.open_engine(session, engine=engine)
        assert metrics.compute(src, "pipeline_value", as_of=date(2025, 2, 14)).total == open_value
        # On 2025-02-14 d3 was won at 500 (reopened on the 15th and raised to 600).
        won = metrics.compute(src, "bookings", by=["owner"], as_of=date(2025, 2, 14))
        assert {r.dimensions["owner"]: r.value for r in won.rows} == {
            "Ann Seller": Decimal("2500.00"),
            "Bob Seller": Decimal("500.00"),
        }
        before = metrics.compute(src, "opportunities_created", as_of=T0 + 2 * DAY)
        assert before.total == len(ref.states(session, T0 + 2 * DAY))


def test_comparison_gives_previous_value_delta_and_percent_change(
    session: Session, company: Company, engines: list[str]
) -> None:
    for engine in engines:
        src = metrics.open_engine(session, engine=engine)
        monthly = metrics.compute(
            src, "opportunities_created", grain="month",
            start=date(2025, 2, 1), end=date(2025, 3, 31), compare="previous",
        )  # fmt: skip
        records = monthly.to_records()
        # January had 8, February none (a count of zero), March 1.
        assert records == [
            {
                "period": date(2025, 3, 1),
                "opportunities_created": 1,
                "previous": 0,
                "delta": 1,
                "pct_change": None,
            }
        ]
        window = metrics.compute(
            src, "bookings", start=date(2025, 2, 1), end=date(2025, 2, 28), compare="previous"
        )
        row = window.rows[0]
        # Previous window of 28 days: 2025-01-04 .. 2025-01-31 holds d1 and d7.
        assert (row.value, row.previous, row.delta) == (
            Decimal("600.00"), Decimal("2500.00"), Decimal("-1900.00"),
        )  # fmt: skip
        assert row.pct_change == pytest.approx(-0.76)
        yearly = metrics.compute(
            src, "bookings", grain="quarter", start=date(2025, 1, 1), end=date(2025, 3, 31),
            compare="year",
        )  # fmt: skip
        assert yearly.rows[0].previous is not None
        assert yearly.rows[0].previous == Decimal("0.00")
        assert yearly.rows[0].pct_change is None


def test_the_waterfall_reconciles_and_classifies_every_move(
    session: Session, company: Company, engines: list[str]
) -> None:
    for engine in engines:
        src = metrics.open_engine(session, engine=engine)
        (fall,) = metrics.pipeline_waterfall(
            src, date(2025, 1, 31), date(2025, 3, 31),
            close_from=date(2025, 1, 1), close_to=date(2025, 3, 31),
        )  # fmt: skip
        assert fall.reconciles
        steps = {s.label: (s.amount, s.deals) for s in fall.steps}
        # Open on Jan 31 with a Q1 close date: d2 (2400.00 at the 1.20 rate valid on its
        # expected close date), d3 500, d4 3000, d5 (960.00), d6 100.
        assert steps["starting"] == (Decimal("6960.00"), 5)
        assert steps["won"] == (Decimal("600.00"), 1)  # d3, raised to 600 before winning
        assert steps["lost"] == (Decimal("2400.00"), 1)  # d2 at the rate of its loss
        assert steps["pushed_out"] == (Decimal("3500.00"), 1)  # d4 slipped to May
        assert steps["new"] == (Decimal("0.00"), 0)  # d9 is expected in April: out of scope
        assert steps["ending"] == (Decimal("1060.00"), 2)
        assert steps["increased"] == (Decimal("600.00"), 2)  # d3 +100, d4 +500
        everything = metrics.pipeline_waterfall(
            src, date(2025, 1, 31), date(2025, 3, 31), all_open=True
        )
        assert everything[0].reconciles
        assert everything[0].amount("new") == Decimal("400.00")
        per_owner = metrics.pipeline_waterfall(
            src, date(2025, 1, 1), date(2025, 3, 31), by=["owner"]
        )
        assert all(f.reconciles for f in per_owner)
        assert {f.dimensions["owner"] for f in per_owner} == {
            "Ann Seller", "Bob Seller", "Cid Seller",
        }  # fmt: skip


def test_drill_down_returns_the_deals_behind_a_figure(
    session: Session, company: Company, engines: list[str]
) -> None:
    for engine in engines:
        src = metrics.open_engine(session, engine=engine)
        deals = metrics.drill_down(src, "bookings", filters={"owner": "Ann Seller"})
        assert sorted(d["id"] for d in deals) == sorted(
            [company.deals["d1"].id, company.deals["d7"].id]
        )
        assert sum(d["amount_rc"] for d in deals) == Decimal("2500.00")
        february = metrics.drill_down(src, "won_deals", period=date(2025, 2, 1), grain="month")
        assert [d["id"] for d in february] == [company.deals["d3"].id]
        with pytest.raises(ValidationFailed, match="formula"):
            metrics.drill_down(src, "quota_attainment")


def test_a_deal_in_a_currency_without_rates_is_left_out_of_every_figure_not_an_error(
    session: Session,
) -> None:
    # It used to stop every money metric of the company ("no FX rate ... for JPY").
    rep = make_rep(session)
    make_opportunity(session, owner=rep, amount=100)
    opp = make_opportunity(session, owner=rep, amount=100)
    opp.currency = "JPY"
    service.move_stage(session, opp, stages.by_name(session, "Discovery"), at=T0 + DAY)
    session.flush()
    assert metrics.compute(session, "opportunities_created").total == 1
    assert metrics.compute(session, "pipeline_value").total == 100
    assert [(q.table, q.id, q.value) for q in quarantine.unconvertible(session)] == [
        ("opportunities", opp.id, "JPY")
    ]
