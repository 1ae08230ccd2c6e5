"""Stored forecast runs: lines, per-deal predictions, reproducibility and backtests."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from salesops.errors import ValidationFailed
from salesops.forecasting import service
from salesops.forecasting.engine import Options
from salesops.models import DealPrediction, ForecastLine, Opportunity
from tests.forecasting.company import build_company

AS_OF = datetime(2025, 1, 1, tzinfo=UTC)
OPTIONS = Options(grain="quarter", horizon=2, sims=400, seed=5)


def test_a_run_stores_lines_per_period_and_team_and_a_prediction_per_open_deal(
    session: Session,
) -> None:
    company = build_company(session, weeks=70)
    rep_entered = company.opps[-1]
    rep_entered.probability = Decimal("0.9000")
    session.flush()
    [run] = service.run_forecast(session, as_of=AS_OF, methods=["ml"], options=OPTIONS)

    assert (run.method, run.version, run.kind, run.grain, run.horizon) == (
        "ml",
        "5",
        "forecast",
        "quarter",
        2,
    )
    assert run.parameters["sims"] == 400
    assert len(run.input_fingerprint) == 64
    company_lines = service.company_lines(run)
    assert [ln.period_start for ln in company_lines] == [date(2025, 1, 1), date(2025, 4, 1)]
    assert [ln.period_end for ln in company_lines] == [date(2025, 3, 31), date(2025, 6, 30)]
    for line in company_lines:
        assert line.p10 <= line.p50 <= line.p90
        assert line.expected > 0
        assert line.from_pipeline + line.run_rate == line.expected or abs(
            line.from_pipeline + line.run_rate - line.expected
        ) <= Decimal("0.02")
    team_ids = {ln.team_id for ln in run.lines if ln.team_id is not None}
    assert team_ids == {company.region.id, *(t.id for t in company.teams)}
    region = next(ln for ln in run.lines if ln.team_id == company.region.id)
    teams = [ln for ln in run.lines if ln.team_id in {t.id for t in company.teams}]
    first = [ln for ln in teams if ln.period_start == region.period_start]
    # The region's pipeline part is the sum of its two teams' (each simulated separately).
    assert abs(
        sum(ln.from_pipeline for ln in first) - region.from_pipeline
    ) < region.from_pipeline * Decimal("0.1")

    open_ids = set(session.scalars(select(Opportunity.id).where(Opportunity.created_at <= AS_OF)))
    predicted = {p.opportunity_id: p for p in run.predictions}
    assert predicted
    assert set(predicted) <= open_ids
    for p in predicted.values():
        assert Decimal(0) <= p.p_win_in_horizon <= p.p_win <= Decimal(1)
    assert any(p.reasons for p in predicted.values())
    # The model never writes over what the rep entered.
    session.refresh(rep_entered)
    assert rep_entered.probability == Decimal("0.9000")


def test_the_same_inputs_give_the_same_numbers_and_fingerprint(session: Session) -> None:
    build_company(session, weeks=60)
    first = service.run_forecast(
        session, as_of=AS_OF, methods=["historical", "ensemble"], options=OPTIONS
    )
    second = service.run_forecast(
        session, as_of=AS_OF, methods=["historical", "ensemble"], options=OPTIONS
    )
    for a, b in zip(first, second, strict=True):
        assert a.id != b.id
        assert a.input_fingerprint == b.input_fingerprint
        assert [(ln.team_id, ln.expected, ln.p10, ln.p90) for ln in a.lines] == [
            (ln.team_id, ln.expected, ln.p10, ln.p90) for ln in b.lines
        ]
    other_seed = service.run_forecast(
        session,
        as_of=AS_OF,
        methods=["historical"],
        options=Options(grain="quarter", horizon=2, sims=400, seed=6),
    )[0]
    assert other_seed.input_fingerprint != first[0].input_fingerprint
    stored = session.scalars(
        select(DealPrediction).where(DealPrediction.run_id == first[0].id)
    ).all()
    assert len(stored) == len(first[0].predictions)


def test_a_saved_backtest_stores_runs_whose_lines_carry_the_actuals(session: Session) -> None:
    build_company(session, weeks=80)
    scores = service.run_backtest(
        session,
        start=date(2024, 7, 1),
        end=date(2025, 1, 1),
        methods=["stage_weighted", "run_rate"],
        options=Options(grain="quarter", horizon=1, sims=300),
        save=True,
    )
    assert [s.method for s in scores] == ["stage_weighted", "run_rate"]
    runs = service.list_runs(session, kind="backtest")
    assert len(runs) == 6
    lines = session.scalars(
        select(ForecastLine).where(
            ForecastLine.run_id.in_([r.id for r in runs]), ForecastLine.team_id.is_(None)
        )
    ).all()
    by_period = {(ln.run_id, ln.period_start): ln.actual for ln in lines}
    actual = {r.period_start: r.actual for r in scores[0].rows}
    for (_, start), value in by_period.items():
        assert value is not None
        assert float(value) == actual[start]
    # The actuals are the won value closed in each quarter, computed here directly.
    won = session.execute(
        select(Opportunity.amount, Opportunity.closed_at).where(
            Opportunity.stage.has(category="won")
        )
    ).all()
    q3 = sum(
        a
        for a, c in won
        if datetime(2024, 7, 1, tzinfo=UTC) <= c < datetime(2024, 10, 1, tzinfo=UTC)
    )
    assert actual[date(2024, 7, 1)] == float(q3)
    assert scores[0].as_dict()["wape"] is not None


def test_a_backtest_refuses_periods_that_have_not_ended(session: Session) -> None:
    build_company(session, weeks=60)
    options = Options(grain="quarter", horizon=2, sims=300)
    with pytest.raises(ValidationFailed) as refused:
        service.run_backtest(
            session,
            start=date(2024, 7, 1),
            end=date(2024, 10, 1),
            methods=["run_rate"],
            options=options,
            today=date(2025, 2, 10),
        )
    # Two quarters from 2024-10-01 run to 2025-03-31; starting 2024-07-01 they end by
    # 2024-12-31, before the quarter of "today" began.
    assert "runs to 2025-03-31, after today (2025-02-10)" in str(refused.value)
    assert "(give --to 2024-07-01)" in str(refused.value)
    scores = service.run_backtest(
        session,
        start=date(2024, 7, 1),
        end=date(2024, 7, 1),
        methods=["run_rate"],
        options=options,
        today=date(2025, 2, 10),
    )
    assert [r.period for r in scores[0].rows] == ["2024-Q3", "2024-Q4"]
