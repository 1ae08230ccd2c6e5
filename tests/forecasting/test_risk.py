"""Risk flags: slipping and losing deals, coverage gaps against quota, periods short of target."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from salesops.errors import NotFound
from salesops.forecasting import risk, service
from salesops.forecasting.engine import Options
from salesops.models import Opportunity, PipelineStage
from tests.forecasting.company import add_quotas, build_company

AS_OF = datetime(2025, 1, 1, tzinfo=UTC)


def test_risk_needs_a_run_first(session: Session) -> None:
    with pytest.raises(NotFound, match="forecast run"):
        risk.latest_run(session)


def test_risky_deals_coverage_gaps_and_shortfalls_come_from_the_latest_run(
    session: Session,
) -> None:
    company = build_company(session, weeks=70)
    add_quotas(session, company, start=date(2025, 1, 1), quarters=2)
    service.run_forecast(
        session, as_of=AS_OF, methods=["ml"], options=Options(grain="quarter", horizon=2, sims=300)
    )
    run = risk.latest_run(session)
    assert run.method == "ml"

    deals = risk.risky_deals(session, run, limit=10)
    assert deals
    assert [d.at_risk for d in deals] == sorted((d.at_risk for d in deals), reverse=True)
    for deal in deals:
        assert deal.flags
        if "likely to be lost" in deal.flags:
            assert deal.p_win < Decimal("0.3")
        if "likely to slip" in deal.flags:
            assert deal.p_slip >= Decimal("0.5")

    gaps = {(g["period"], g["team_id"]): g for g in risk.coverage_gaps(session, run)}
    team = company.teams[0]
    row = gaps[("2025-Q1", team.id)]
    assert row["quota"] == "120000.00"  # two reps at 60,000 each
    members = {r.id for r in company.reps[:2]}
    opps = session.execute(
        select(
            Opportunity.owner_id, Opportunity.amount, Opportunity.close_date, PipelineStage.category
        ).join(PipelineStage)
    ).all()
    open_value = sum(
        a
        for o, a, c, cat in opps
        if o in members
        and cat == "open"
        and c is not None
        and date(2025, 1, 1) <= c <= date(2025, 3, 31)
    )
    assert Decimal(row["open_pipeline"]) == open_value
    assert gaps[("2025-Q1", company.region.id)]["quota"] == "240000.00"

    shortfalls = risk.shortfalls(session, run)
    assert [s["period"] for s in shortfalls] == ["2025-Q1", "2025-Q2"]
    for s in shortfalls:
        assert s["target"] == "240000.00"
        assert 0 <= s["chance_of_target"] <= 1
        assert s["short"] == (Decimal(s["p50"]) < Decimal(s["target"]))
