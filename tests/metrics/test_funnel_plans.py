"""Funnel, leads, quota and retention metrics on the edge-case company."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from salesops import metrics
from salesops.auth.scoped_metrics import MetricScope
from salesops.metrics import scoped
from salesops.metrics.cohorts import MATERIALIZED_ENTRIES
from salesops.metrics.engines import materialized
from salesops.metrics.scoped import restrict
from tests.metrics import reference as ref
from tests.metrics.scenario import Company

Q1 = {"start": date(2025, 1, 1), "end": date(2025, 3, 31)}


def rows(src: metrics.Source, name: str, dim: str, **kw: object) -> dict[str, object]:
    result = metrics.compute(src, name, by=[dim], **kw)  # type: ignore[arg-type]
    return {r.dimensions[dim]: r.value for r in result.rows}


def test_stage_conversion_is_cohort_based_and_survives_skips_and_backward_moves(
    session: Session, company: Company, engines: list[str]
) -> None:
    cohorts = ref.stage_cohorts(session)
    assert cohorts["Prospecting"] == (8, 6)  # d5 was created in Negotiation
    assert cohorts["Discovery"] == (2, 1)  # d6 went back to Qualification: not progress
    for engine in engines:
        src = metrics.open_engine(session, engine=engine)
        by_stage = rows(src, "stage_conversion", "stage")
        assert by_stage == {s: adv / n for s, (n, adv) in cohorts.items() if n}
        total = metrics.compute(src, "stage_conversion").total
        assert total == sum(a for _, a in cohorts.values()) / sum(n for n, _ in cohorts.values())
        one = metrics.compute(src, "stage_conversion", params={"from_stage": "Proposal"})
        assert one.total == 1 / 2
        funnel = {f.stage: (f.entered, f.advanced, f.won) for f in metrics.funnel(src)}
        assert funnel["Prospecting"] == (8, 6, 3)
        assert funnel["Closed Won"] == (3, 0, 3)  # d3 entered Won twice: counted once
        # Closed deals that reached Proposal or later: d1, d2 (lost), d3, d7; three were won.
        assert metrics.compute(src, "proposal_close_rate").total == 3 / 4


def test_time_in_stage_measures_completed_first_stays(
    session: Session, company: Company, engines: list[str]
) -> None:
    for engine in engines:
        src = metrics.open_engine(session, engine=engine)
        days = rows(src, "time_in_stage", "stage")
        # Discovery: d1 5 days (T0+5 to T0+10), d6 2 days (T0+6 to T0+8).
        assert days["Discovery"] == 3.5
        # Proposal: d1 10 days, d2 27 days.
        assert days["Proposal"] == 18.5
        # Negotiation: d5 never left; d3 stayed 5 days before winning again.
        assert days["Negotiation"] == 5.0


def test_lead_conversion_rates_follow_the_lead_cohort(
    session: Session, company: Company, engines: list[str]
) -> None:
    for engine in engines:
        src = metrics.open_engine(session, engine=engine)
        assert metrics.compute(src, "leads_created").total == 4
        assert metrics.compute(src, "lead_to_opportunity_rate").total == 3 / 4
        assert metrics.compute(src, "lead_to_sale_rate").total == 2 / 4
        assert rows(src, "lead_to_sale_rate", "lead_source") == {"Web": 0.5, "Event": 0.5}
        january = metrics.compute(
            src, "lead_to_opportunity_rate", start=date(2025, 1, 1), end=date(2025, 1, 31)
        )
        assert january.total == 2 / 3
        # As of 2025-01-06 only the first lead had converted (the second did on 2025-01-07).
        early = metrics.compute(src, "lead_to_opportunity_rate", as_of=date(2025, 1, 6))
        assert early.total == 1 / 2


def test_quota_attainment_coverage_and_share_of_reps_at_quota(
    session: Session, company: Company, engines: list[str]
) -> None:
    for engine in engines:
        src = metrics.open_engine(session, engine=engine)
        assert metrics.compute(src, "quota_amount", **Q1).total == Decimal("3500.00")
        attainment = rows(src, "quota_attainment", "owner", **Q1)
        # Ann 2500 / 3000; Bob 600 / 500; Cid has a zero quota: no attainment.
        assert attainment == {
            "Ann Seller": 2500 / 3000,
            "Bob Seller": 600 / 500,
            "Cid Seller": None,
        }
        assert metrics.compute(src, "quota_attainment_rate", **Q1).total == 1 / 2
        coverage = rows(src, "pipeline_coverage", "owner", **Q1)
        # Open deals expected in Q1: d5 (Ann, 960.00) and d6 (Cid, 100); d4 slipped to May.
        assert coverage == {"Ann Seller": 960 / 3000, "Bob Seller": 0.0, "Cid Seller": None}
        assert metrics.compute(src, "pipeline_coverage", **Q1).total == 1060 / 3500
        # A month gets its share of the quarter's quota by days: January is 31 of 90 days.
        january = metrics.compute(
            src, "quota_amount", start=date(2025, 1, 1), end=date(2025, 1, 31)
        )
        assert january.total == Decimal("1033.33") + Decimal("172.22")


def test_ramp_time_is_months_from_hire_to_the_first_month_at_the_threshold(
    session: Session, company: Company, engines: list[str]
) -> None:
    for engine in engines:
        src = metrics.open_engine(session, engine=engine)
        ramp = metrics.compute(src, "ramp_time", by=["owner"])
        found = {r.dimensions["owner"]: (r.value, r.denominator) for r in ramp.rows}
        # Ann booked 2500 in January 2025 against 1033.33 of full quota: 12 months after her
        # hire month (January 2024). Bob's full quota is 2000 a quarter (500 at 25% ramp):
        # February 622.22 against 600 booked, below 100%.
        assert found["Ann Seller"] == (12.0, 1)
        assert found["Bob Seller"] == (None, 1)
        at_90 = metrics.compute(
            src, "ramp_time", by=["owner"], params={"attainment_threshold": 0.9}
        )
        assert {r.dimensions["owner"]: r.value for r in at_90.rows}["Bob Seller"] == 1.0
        assert metrics.compute(src, "ramp_time", params={"attainment_threshold": 0.9}).total == 6.5


def test_retention_compares_contract_value_at_the_start_and_end_of_each_period(
    session: Session, company: Company, engines: list[str]
) -> None:
    for engine in engines:
        src = metrics.open_engine(session, engine=engine)
        # Start of Q1 2025: Acme 1200 (renewed on Jan 1), Beta 500 EUR = 550.00, Gamma 800.
        # After Q1: Acme 1200, Beta 550, Gamma 600 (renewed smaller).
        assert metrics.compute(src, "gross_revenue_retention", **Q1).total == 2350 / 2550
        assert metrics.compute(src, "net_revenue_retention", **Q1).total == 2350 / 2550
        assert metrics.compute(src, "churn_rate", **Q1).total == 0.0
        year = {"start": date(2024, 7, 1), "end": date(2025, 6, 30)}
        # Start: Acme 1000, Beta 550, Gamma 800; end: Acme 1200, Beta gone, Gamma 600.
        assert metrics.compute(src, "gross_revenue_retention", **year).total == 1600 / 2350
        assert metrics.compute(src, "net_revenue_retention", **year).total == 1800 / 2350
        assert metrics.compute(src, "churn_rate", **year).total == 1 / 3
        assert metrics.compute(src, "revenue_churn_rate", **year).total == 750 / 2350
        by_segment = rows(src, "churn_rate", "segment", **year)
        assert by_segment == {"Enterprise": 0.0, "SMB": 0.5}
        quarters = metrics.compute(
            src, "churn_rate", grain="quarter", start=date(2025, 1, 1), end=date(2025, 12, 31)
        )
        # Beta's contract ended on 2025-06-30 (Q2); Acme's on 2025-12-31 without renewal (Q4).
        assert [r.value for r in quarters.rows] == [0.0, 1 / 3, 0.0, 1 / 2]


def test_forecast_accuracy_scores_stored_lines_against_actual_bookings(
    session: Session, company: Company, engines: list[str]
) -> None:
    for engine in engines:
        src = metrics.open_engine(session, engine=engine)
        # Company Q1: forecast 3000, stored actual 2500. EMEA January: forecast 1000, actual
        # computed from EMEA's January bookings (d1 1000 + d7 1500).
        assert metrics.compute(src, "forecast_wape").total == 2000 / 5000
        assert metrics.compute(src, "forecast_bias").total == -1000 / 5000
        assert metrics.compute(src, "forecast_mape").total == (0.2 + 0.6) / 2
        assert metrics.compute(src, "forecast_accuracy").total == 1 - 2000 / 5000
        p50 = metrics.compute(src, "forecast_wape", params={"point": "p50"})
        assert p50.total == (300 + 1500) / 5000
        teams = rows(src, "forecast_wape", "team")
        assert teams == {"(company)": 0.2, "EMEA": 0.6}


def test_the_funnel_reads_entries_kept_for_the_whole_log_with_the_same_figures(
    session: Session, company: Company
) -> None:
    src = metrics.open_engine(session)
    kept = materialized(src)
    assert MATERIALIZED_ENTRIES in kept.tables
    assert materialized(kept) is kept
    # Asked again (another request on the same data), the entries are not computed again.
    assert materialized(src).tables[MATERIALIZED_ENTRIES] is kept.tables[MATERIALIZED_ENTRIES]
    # As-of questions rewind the log: they compute their own entries.
    assert MATERIALIZED_ENTRIES not in materialized(src, as_of=datetime(2025, 2, 1)).tables
    # An event table that is not a stored table (a filter, as row-level scoping makes) gets
    # no company-wide entries: the figures then come from the windows over the log itself.
    events = src.tables["opportunity_events"]
    computed = replace(src, tables={**src.tables, "opportunity_events": events.filter(True)})
    assert MATERIALIZED_ENTRIES not in materialized(computed).tables
    for name in ("stage_conversion", "time_in_stage"):
        assert rows(kept, name, "stage") == rows(computed, name, "stage"), name
    assert metrics.funnel(kept) == metrics.funnel(computed)


def test_a_scoped_source_reads_the_company_entries_of_its_own_deals(
    session: Session, company: Company, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept = materialized(metrics.open_engine(session))
    company_entries = kept.tables[MATERIALIZED_ENTRIES]
    expected = ref.stage_cohorts(session, owners=[company.ann.id])
    assert expected != ref.stage_cohorts(session)  # Bob's deals would change the figures
    # Short id lists are literals; long ones (a manager's accounts) a DuckDB table of ids.
    for literal_ids in (32, 0):
        monkeypatch.setattr(scoped, "_LITERAL_IDS", literal_ids)
        scope = MetricScope(frozenset({company.ann.id}), frozenset(), frozenset())
        ann = restrict(kept, scope)
        assert MATERIALIZED_ENTRIES not in ann.tables
        with_entries = materialized(ann)
        # The company's kept table, filtered: no windows over the event log per request.
        entries = with_entries.tables[MATERIALIZED_ENTRIES]
        assert company_entries.op() in entries.op().__args__
        # Without them the source computes its entries from its own (filtered) log.
        computed = replace(ann, unscoped=None)
        assert MATERIALIZED_ENTRIES not in materialized(computed).tables
        by_stage = rows(with_entries, "stage_conversion", "stage")
        assert by_stage == {s: adv / n for s, (n, adv) in expected.items() if n}
        for name in ("stage_conversion", "time_in_stage", "win_rate", "bookings"):
            assert rows(with_entries, name, "stage") == rows(computed, name, "stage"), name
        funnel = metrics.funnel(with_entries)
        assert funnel == metrics.funnel(computed)
        assert {f.stage: f.entered for f in funnel if f.stage in expected} == {
            s: n for s, (n, _) in expected.items()
        }
