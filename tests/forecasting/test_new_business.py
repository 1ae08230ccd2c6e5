"""Business not yet in the pipeline follows the inflow of new deals and leads, and cutting
simulated totals at zero never moves a forecast's mean (the ensemble is its members' blend)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from salesops.forecasting import inflow, simulate
from salesops.forecasting.engine import ENSEMBLE_MEMBERS, Context, Options
from salesops.forecasting.features import FeatureBuilder
from salesops.forecasting.frames import History, normalise
from salesops.forecasting.snapshot import prepare
from tests.forecasting.test_methods import STAGES

FIRST = datetime(2023, 1, 2, 9, 0)


def company(per_week: dict[int, int], weeks: int, leads_per_week: int = 0) -> History:
    """Deals created every week (per_week[w], else 4), each closed 9 days later: won when
    its number is even, lost otherwise; `leads_per_week` leads captured every week."""
    deals, events, leads = [], [], []
    for week in range(weeks):
        for i in range(per_week.get(week, 4)):
            created = FIRST + timedelta(weeks=week, hours=i)
            closed = created + timedelta(days=9)
            won = i % 2 == 0
            deal_id = len(deals) + 1
            stage = "Closed Won" if won else "Closed Lost"
            deals.append(
                {
                    "id": deal_id,
                    "stage": stage,
                    "amount": 1000 + 100 * i,
                    "created_at": created,
                    "closed_at": closed,
                    "close_date": closed.date(),
                }
            )
            events.append((deal_id, "stage", "Prospecting", stage, closed))
        leads += [FIRST + timedelta(weeks=week, hours=i) for i in range(leads_per_week)]
    opps = pd.DataFrame(
        [{"owner_id": 1, "team_id": 1, "forecast_category": "pipeline", **d} for d in deals]
    )
    ev = pd.DataFrame(events, columns=["opportunity_id", "field", "old_value", "new_value", "at"])
    ev["id"] = range(1, len(ev) + 1)
    return normalise(History(opps, ev, STAGES.copy(), leads=pd.DataFrame({"at": leads})))


def context(h: History, at: datetime, **options: object) -> Context:
    opts = Options(**{"grain": "month", "horizon": 1, "sims": 2000, **options})  # type: ignore[arg-type]
    return Context(FeatureBuilder(prepare(h), opts.grain), at.replace(tzinfo=UTC), opts)


# Forecast in mid-February 2024 for February; from 2024-01-15 (week 54) on, no new deal.
T = datetime(2024, 2, 15)
WEEKS = 59
LATER = range(54, WEEKS)


def test_new_business_falls_when_the_inflow_of_new_deals_stops() -> None:
    steady = context(company({}, WEEKS), T)
    stopped = context(company(dict.fromkeys(LATER, 0), WEEKS), T)
    prior = stopped.new_business_prior[0][0]
    # The history of new bookings alone (January still had two weeks of new deals, won
    # within the month) still expects 4,217 of wins from deals not yet created.
    assert prior == pytest.approx(4216.67, abs=0.01)
    # No deal created in the month to T.
    assert stopped.inflow_surprise == 0.0
    # New business has followed the inflow's month-to-month moves (16 or 20 new deals a
    # month) at 81% of them: it falls to 19% of its history's forecast.
    response = stopped.inflow_response
    assert response == pytest.approx(0.8056, abs=1e-4)
    assert stopped.inflow_ratio == pytest.approx(1 - response)
    for method in ("historical", "ml", "stage_weighted"):
        assert stopped.forecast(method).run_rate[0] == pytest.approx(prior * (1 - response))
        assert steady.forecast(method).run_rate[0] > 8000
    assert (
        stopped.forecast("historical").run_rate[0] < 0.1 * steady.forecast("historical").run_rate[0]
    )
    # The top-down method loses the same amount: what its history put on new business.
    assert stopped.forecast("run_rate").expected[0] == pytest.approx(
        max(_top_down_prior(stopped) - prior * response, 0.0), rel=1e-9
    )


def _top_down_prior(ctx: Context) -> float:
    from salesops.forecasting.timeseries import forecast_series

    assert ctx.training is not None
    return float(forecast_series(ctx.training.bookings, 1, season=ctx.season)[0][0])


def test_new_business_rises_with_the_inflow_and_stays_put_while_it_keeps_its_pace() -> None:
    steady = context(company({}, WEEKS), T)
    doubled = context(company(dict.fromkeys(LATER, 8), WEEKS), T)
    # 4 deals a week all along: the inflow is what its history forecast, nothing moves.
    assert steady.inflow_ratio == pytest.approx(1.0)
    assert steady.forecast("historical").run_rate[0] == pytest.approx(
        steady.new_business_prior[0][0]
    )
    # 8 a week since 2024-01-15: 40 new deals in the month to T against the 33 its history
    # (drift over 16-20 a month, then January's 32) expected, and new business has followed
    # the inflow fully so far.
    assert doubled.inflow_surprise == pytest.approx(40 / 33)
    assert doubled.inflow_response == 1.0
    assert doubled.inflow_ratio == pytest.approx(40 / 33)
    new = doubled.forecast("historical").run_rate[0]
    assert new == pytest.approx(doubled.new_business_prior[0][0] * 40 / 33)
    assert new > 2.0 * steady.forecast("historical").run_rate[0]


def test_leads_captured_count_as_a_second_indicator() -> None:
    # Deals keep coming but the leads that feed them stopped in January: half the signal.
    h = company({}, WEEKS, leads_per_week=10)
    leads = h.leads[h.leads["at"] < pd.Timestamp("2024-01-15")]
    ctx = context(History(h.opportunities, h.events, h.stages, h.activities, leads), T)
    assert ctx.inflow_surprise == pytest.approx(0.5)


def test_new_business_follows_the_inflow_as_far_as_it_did_before() -> None:
    # No past surprise: the prior (follow the inflow) stands.
    assert inflow.response([]) == 1.0
    # Wins that never moved with the inflow (it rose and fell 30%, they did not).
    assert inflow.response([(0.3, 0.0), (-0.3, 0.0), (0.3, 0.0)]) == pytest.approx(0.1 / 0.37)
    # Wins that moved with it fully, or against it.
    assert inflow.response([(0.3, 0.3), (-0.2, -0.2)]) == 1.0
    assert inflow.response([(0.3, -0.3), (-0.3, 0.3)]) == 0.0


def test_the_inflow_is_counted_per_period_up_to_the_as_of_date() -> None:
    times = np.array(["2024-01-05", "2024-01-31T23:59", "2024-02-01", "2024-02-10"], dtype="M8[ns]")
    ends = np.array(["2024-02-01", "2024-03-01"], dtype="M8[ns]")
    # [2024-01-01, 2024-02-01) holds two; an event at the end belongs to the next window.
    assert inflow.window_counts(times, ends, 1).tolist() == [2.0, 2.0]
    # Leads imported without capture dates all carry the import's time: with no inflow in
    # any earlier period there is nothing to compare with, so they do not move the forecast.
    starts = np.array(["2024-01-01", "2024-02-01"], dtype="M8[ns]")
    burst = np.array(["2024-02-10"] * 50, dtype="M8[ns]")
    at = np.datetime64("2024-03-01")
    ref = np.array([5.0, 5.0])
    assert inflow.indicator_ratio(burst, starts, at, months=1, season=3, reference=ref) is None
    # Nothing before the as-of date is compared with: no basis, no move.
    assert (
        inflow.inflow_ratio(
            [times[:0]], ends, np.datetime64("2024-03-01"), months=1, season=3, reference=ends
        )
        == 1.0
    )


def test_cutting_at_zero_keeps_the_mean() -> None:
    rng = np.random.default_rng(1)
    draws = rng.normal([100.0, 5.0], [80.0, 40.0], size=(5000, 2))
    kept = simulate.nonnegative(draws, np.array([100.0, 5.0]))
    assert kept.min() >= 0.0
    assert kept.mean(axis=0) == pytest.approx([100.0, 5.0], rel=1e-12)
    # The old cut (np.maximum alone) raised both means: 5 became about 17.
    assert np.maximum(draws, 0.0).mean(axis=0)[1] > 15.0


def test_widening_an_interval_never_moves_the_mean() -> None:
    rng = np.random.default_rng(2)
    total = np.maximum(rng.normal(50.0, 40.0, size=(4000, 1)), 0.0)
    dist = simulate.Distribution(pipeline=total, run_rate=np.zeros_like(total), total=total)
    for scale in (0.25, 1.0, 2.5, 4.0):
        wide = simulate.widen(dist, scale)
        assert wide.total.min() >= 0.0
        assert wide.expected == pytest.approx(dist.expected, rel=1e-12)
    assert simulate.widen(dist, 4.0).quantile(0.1)[0] == 0.0
    assert simulate.widen(dist, 4.0).quantile(0.9)[0] > dist.quantile(0.9)[0]


def test_the_ensemble_mean_is_the_blend_of_its_members() -> None:
    # Erratic inflow (2 to 9 deals a week) so that members differ and intervals are widened.
    pattern = {w: 2 + (w * 5) % 8 for w in range(70)}
    ctx = context(company(pattern, 70), datetime(2024, 4, 1))
    weights = ctx.ensemble_weights
    members = {m: ctx.forecast(m) for m in ENSEMBLE_MEMBERS}
    assert any(f.interval_scale > 1.0 for f in members.values())
    blend = sum(weights[m] * members[m].expected[0] for m in ENSEMBLE_MEMBERS)
    ensemble = ctx.forecast("ensemble")
    assert ensemble.expected[0] == pytest.approx(blend, rel=1e-9)
    assert min(f.expected[0] for f in members.values()) <= ensemble.expected[0]
    assert ensemble.expected[0] <= max(f.expected[0] for f in members.values())
    # A member's calibrated distribution keeps the member's own mean.
    for f in members.values():
        assert f.distribution.expected[0] == pytest.approx(f.expected[0], rel=1e-9)
        assert f.p10[0] >= 0.0


def test_a_forecast_as_of_a_day_has_seen_that_day() -> None:
    from salesops.forecasting.service import end_of_day

    h = company({}, 10)
    won = h.opportunities[h.opportunities["stage"] == "Closed Won"]
    day = won["closed_at"].min().date()  # 2023-01-11: the first two wins, at 09:00 and 11:00
    ctx = context(h, end_of_day(day).replace(tzinfo=None), grain="month")
    assert ctx.booked == 1000 + 1200
    start = context(h, datetime.combine(day, datetime.min.time()), grain="month")
    assert start.booked == 0.0
