"""Outcome and pipeline metrics on the edge-case company, against hand and plain-Python figures."""

from __future__ import annotations

import statistics
from datetime import date
from decimal import Decimal

from sqlalchemy.orm import Session

from salesops import metrics
from tests.metrics import reference as ref
from tests.metrics.scenario import Company


def value(src: metrics.Source, name: str, **kw: object) -> object:
    result = metrics.compute(src, name, **kw)  # type: ignore[arg-type]
    assert len(result.rows) == 1
    return result.rows[0].value


def by(src: metrics.Source, name: str, dim: str, **kw: object) -> dict[str, object]:
    result = metrics.compute(src, name, by=[dim], **kw)  # type: ignore[arg-type]
    return {r.dimensions[dim]: r.value for r in result.rows}


def test_counts_and_values_of_closed_deals_match_the_hand_figures(
    session: Session, company: Company, engines: list[str]
) -> None:
    for engine in engines:
        src = metrics.open_engine(session, engine=engine)
        assert value(src, "bookings") == Decimal("3100.00")
        assert value(src, "won_deals") == 3
        assert value(src, "lost_deals") == 2
        assert value(src, "win_rate") == 3 / 5
        # lost: 2000 EUR at 1.20 (2025-02-05) + 250.50 EUR at 1.10 (2025-01-15) = 2675.55
        assert value(src, "win_rate_value") == 3100 / 5775.55
        assert value(src, "average_deal_size") == Decimal("1033.33")
        assert value(src, "median_deal_size") == Decimal("1000.00")
        assert value(src, "competitor_win_rate") == 1 / 2
        assert value(src, "opportunities_created") == 9


def test_cycle_length_counts_from_engagement_and_has_mean_and_all_closed_variants(
    session: Session, company: Company, engines: list[str]
) -> None:
    rows = ref.states(session)
    won = [ref.cycle_days(session, s) for s in rows if s.stage_category == "won"]
    closed = [ref.cycle_days(session, s) for s in rows if not s.is_open]
    assert sorted(won) == [20, 35, 43]
    for engine in engines:
        src = metrics.open_engine(session, engine=engine)
        assert value(src, "sales_cycle_length") == 35
        assert value(src, "sales_cycle_length_mean") == statistics.mean(won)
        assert value(src, "sales_cycle_length_all_closed") == statistics.median(closed)


def test_open_pipeline_is_converted_weighted_and_has_a_variance(
    session: Session, company: Company, engines: list[str]
) -> None:
    open_deals = [s for s in ref.states(session) if s.is_open]
    amounts = {s.id: ref.converted(session, s) for s in open_deals}
    assert sum(amounts.values()) == Decimal("4960.00")  # 3500 + 960 (800 EUR) + 100 + 400
    for engine in engines:
        src = metrics.open_engine(session, engine=engine)
        assert value(src, "pipeline_value") == Decimal("4960.00")
        assert value(src, "open_opportunities") == 4
        assert value(src, "weighted_pipeline") == Decimal("1232.00")
        assert value(src, "weighted_pipeline_rep") == Decimal("1424.00")
        variance = value(src, "weighted_pipeline_variance")
        assert variance == 3500**2 * 0.1275 + 960**2 * 0.21 + 100**2 * 0.1275 + 400**2 * 0.0475


def test_metrics_slice_by_owner_manager_product_and_account_attributes(
    session: Session, company: Company, engines: list[str]
) -> None:
    rows = ref.states(session)
    names = ref.names(session)
    expected = {
        names[owner]: ref.win_rate(group_rows)
        for owner, group_rows in ref.group(rows, lambda s: s.owner_id).items()
        if ref.win_rate(group_rows) is not None
    }
    for engine in engines:
        src = metrics.open_engine(session, engine=engine)
        assert by(src, "win_rate", "owner") == expected
        assert by(src, "bookings", "manager") == {"Mia Manager": Decimal("3100.00")}
        assert by(src, "pipeline_value", "product") == {
            "Gadget": Decimal("3500.00"),
            "(none)": Decimal("1460.00"),
        }
        assert by(src, "bookings", "segment") == {
            "Enterprise": Decimal("1600.00"),
            "(none)": Decimal("1500.00"),
        }
        assert by(src, "bookings", "territory") == {
            "North": Decimal("1600.00"),
            "(none)": Decimal("1500.00"),
        }
        assert by(src, "bookings", "region") == {
            "EMEA": Decimal("2500.00"),
            "Americas": Decimal("600.00"),
        }
        assert by(src, "competitor_win_rate", "competitor") == {"Rival": 0.5}
        assert by(src, "opportunities_created", "lead_source") == {
            "Web": 1,
            "(none)": 8,
        }


def test_teams_roll_up_and_follow_the_membership_on_the_close_date(
    session: Session, company: Company, engines: list[str]
) -> None:
    for engine in engines:
        src = metrics.open_engine(session, engine=engine)
        # Bob won d3 on 2025-02-20, after moving from Americas East to EMEA on 2025-02-15.
        assert by(src, "bookings", "team") == {
            "EMEA": Decimal("3100.00"),
            "Sales": Decimal("3100.00"),
        }
        created = by(src, "opportunities_created", "team")
        # Bob's d3 (Jan 8) and d4 (Jan 9) were created in Americas East, d9 (Mar 5) in EMEA.
        assert created["Americas East"] == 2
        assert created["Americas"] == 2 + 2  # Cid's d6 and d8 plus the sub-team's two
        assert created["EMEA"] == 4 + 1
        assert created["Sales"] == 9
        only_americas = metrics.compute(
            session, "opportunities_created", filters={"team": "Americas"}
        )
        assert only_americas.total == 4


def test_periods_and_windows_place_each_deal_by_its_metric_date(
    session: Session, company: Company, engines: list[str]
) -> None:
    for engine in engines:
        src = metrics.open_engine(session, engine=engine)
        monthly = metrics.compute(src, "bookings", grain="month")
        assert [(r.period, r.value) for r in monthly.rows] == [
            (date(2025, 1, 1), Decimal("2500.00")),
            (date(2025, 2, 1), Decimal("600.00")),
        ]
        q1 = metrics.compute(
            session, "opportunities_created", start=date(2025, 1, 1), end=date(2025, 1, 31)
        )  # fmt: skip
        assert q1.total == 8
        weekly = metrics.compute(src, "won_deals", grain="week")
        assert [r.period for r in weekly.rows] == [
            date(2025, 1, 20),
            date(2025, 1, 27),
            date(2025, 2, 17),
        ]
        by_close = metrics.compute(src, "pipeline_value", grain="quarter")
        assert [(r.period, r.value) for r in by_close.rows] == [
            (date(2025, 1, 1), Decimal("1060.00")),
            (date(2025, 4, 1), Decimal("3900.00")),
        ]


def test_nothing_closed_gives_an_empty_rate_not_an_error(
    session: Session, engines: list[str]
) -> None:
    for engine in engines:
        src = metrics.open_engine(session, engine=engine)
        assert value(src, "win_rate") is None
        assert value(src, "bookings") == Decimal("0.00")
        assert value(src, "sales_cycle_length") is None


def test_stalled_deals_count_open_deals_without_an_event_for_n_days(
    session: Session, company: Company, engines: list[str]
) -> None:
    from datetime import UTC, datetime

    now = datetime(2025, 3, 10, tzinfo=UTC)
    for engine in engines:
        src = metrics.open_engine(session, engine=engine)
        # Last events: d4 2025-03-02, d5 2025-01-10, d6 2025-01-14, d9 2025-03-05.
        assert value(src, "stalled_deals", now=now) == 2
        assert value(src, "stalled_deals", now=now, params={"stalled_days": 6}) == 3


def test_a_source_restricted_to_some_rows_never_reuses_sql_compiled_for_all_rows(
    session: Session, company: Company
) -> None:
    from dataclasses import replace

    src = metrics.open_engine(session)
    assert metrics.compute(src, "bookings").total == Decimal("3100.00")
    opps = src.tables["opportunities"]
    only_ann = {**src.tables, "opportunities": opps.filter(opps.owner_id == company.ann.id)}
    assert metrics.compute(replace(src, tables=only_ann), "bookings").total == Decimal("2500.00")
    assert metrics.compute(src, "bookings").total == Decimal("3100.00")
