"""Team forecast lines: simulated per team, intervals calibrated on the teams' past lines."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from salesops.forecasting import service, simulate, teams
from salesops.forecasting.engine import CALIBRATION_LOOKBACK, Context, Options
from salesops.forecasting.features import FeatureBuilder
from salesops.forecasting.periods import period_of, shift
from salesops.models import Opportunity, PipelineStage, TeamMembership
from tests.forecasting.company import build_company

AS_OF = datetime(2025, 4, 1, tzinfo=UTC)
OPTIONS = Options(grain="quarter", horizon=1, sims=600, seed=3)


def won_by_team(session: Session, start: date, end: date, members: list[int]) -> float:
    """Won value closed in [start, end) by the owners now in `members`, from the tables."""
    rows = session.execute(
        select(Opportunity.amount, Opportunity.closed_at)
        .join(PipelineStage, PipelineStage.id == Opportunity.stage_id)
        .join(TeamMembership, TeamMembership.rep_id == Opportunity.owner_id)
        .where(
            PipelineStage.category == "won",
            TeamMembership.valid_to.is_(None),
            TeamMembership.team_id.in_(members),
        )
    ).all()
    return float(sum(a for a, at in rows if start <= at.date() < end))


@pytest.mark.parametrize("method", ["historical", "ensemble"])
def test_team_intervals_are_scaled_by_the_teams_own_past_errors(
    session: Session, method: str
) -> None:
    build_company(session, weeks=64)
    tree = service.team_tree(session)
    context = Context(FeatureBuilder(service.load(session), "quarter"), AS_OF, OPTIONS)
    forecast = context.forecast(method)

    # The scores, recomputed here with the actuals read from the tables: the company's
    # deals are all closed by now, so what was known at T is what the tables hold.
    scores = []
    for lo, _ in context.past_actuals[:CALIBRATION_LOOKBACK]:
        start = pd.Timestamp(lo).date()
        past = context.builder.context(lo, OPTIONS)
        probs = (
            past.blended_probabilities(context.ensemble_weights)
            if method == "ensemble"
            else past.probabilities(method)
        )
        for members in tree.values():
            if not np.isin(past.deals["team_id"].to_numpy(), members).any():
                continue
            dist = teams._distribution(past, method, probs, members)
            period = period_of(start, "quarter")
            actual = won_by_team(session, period.start, shift(period.start, 1, "quarter"), members)
            expected = float(dist.expected[0])
            lo, hi = float(dist.quantile(0.1)[0]), float(dist.quantile(0.9)[0])
            width = hi - expected if actual >= expected else expected - lo
            if width > 0:
                scores.append(abs(actual - expected) / width)
    assert len(scores) >= 4
    expected_scale = simulate.conformal_scale(scores, coverage=0.8, min_scores=4, max_scale=4.0)
    scale = teams.team_scale(context, method, tree)
    assert scale == pytest.approx(expected_scale)
    assert scale != pytest.approx(1.0)

    lines = teams.team_lines(context, forecast, tree)
    assert set(lines) == set(tree)
    for team_id, line in lines.items():
        raw = teams._distribution(context, method, forecast.probabilities, tree[team_id])
        wide = simulate.widen(raw, scale)
        assert line["p10"][0] == pytest.approx(wide.quantile(0.1)[0])
        assert line["p90"][0] == pytest.approx(wide.quantile(0.9)[0])
        assert line["expected"][0] == pytest.approx(raw.expected[0])
        assert line["p10"][0] <= line["p50"][0] <= line["p90"][0]


def test_a_top_down_forecast_has_no_team_lines(session: Session) -> None:
    build_company(session, weeks=64)
    context = Context(FeatureBuilder(service.load(session), "quarter"), AS_OF, OPTIONS)
    with pytest.raises(ValueError, match="top-down"):
        teams.team_lines(context, context.forecast("run_rate"), service.team_tree(session))


def test_a_mid_period_team_line_includes_what_the_team_already_booked(session: Session) -> None:
    build_company(session, weeks=64)
    tree = service.team_tree(session)
    mid = datetime(2025, 2, 15, tzinfo=UTC)
    context = Context(FeatureBuilder(service.load(session), "quarter"), mid, OPTIONS)
    forecast = context.forecast("historical")
    lines = teams.team_lines(context, forecast, tree)
    total = 0.0
    for team_id, members in tree.items():
        so_far = won_by_team(session, date(2025, 1, 1), date(2025, 2, 15), members)
        assert context.booked_so_far(members) == pytest.approx(so_far)
        mask = np.isin(context.deals["team_id"].to_numpy(), members)
        values = context.deals["amount"].to_numpy(dtype="float64")[mask] * context.value_ratio
        open_part = float((forecast.probabilities[mask, 0] * values).sum())
        # The pipeline part is the booked value plus the open deals' expected value, under
        # a shared shock of mean one (simulated: within a few percent).
        assert lines[team_id]["from_pipeline"][0] == pytest.approx(so_far + open_part, rel=0.05)
        total += so_far if team_id in {t for t in tree if len(tree[t]) == 1} else 0.0
    assert total > 0  # the leaf teams had booked something by mid-February
