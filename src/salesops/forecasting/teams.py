"""Forecast lines per team, with intervals calibrated on the teams' own past lines.

A team's line simulates its own open deals (sub-teams included) with the method's per-deal
probabilities; the not-yet-in-pipeline part is shared out in proportion to the team's
expected pipeline. The simulated spread of a team line is too narrow when its deals move
together more than the shared shock says (measured on the 20k demo, quarterly: 38-44% of
team lines held the actual in their P10-P90), so the spread is scaled split-conformally, as
the company line is, but with the scores of every team's line at the last few period starts
pooled: one team has too few past periods to calibrate on its own.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesops.forecasting import simulate
from salesops.forecasting.engine import (
    CALIBRATION_LOOKBACK,
    CALIBRATION_MIN,
    COVERAGE,
    MAX_SCALE,
    Context,
    MethodForecast,
)
from salesops.forecasting.periods import period_of
from salesops.forecasting.snapshot import to_ns

Teams = dict[int, list[int]]  # team id -> itself and every team below it


def team_lines(
    context: Context, forecast: MethodForecast, teams: Teams, *, scale: float | None = None
) -> dict[int, dict[str, np.ndarray]]:
    """Each team's line (expected, P10, P50, P90, pipeline and run-rate parts per period),
    for the teams that have open deals at T. The spread is scaled by `scale`, by default
    the teams' calibration (`team_scale`)."""
    if forecast.probabilities is None:
        raise ValueError("a top-down forecast has no deal-level breakdown")
    if scale is None:
        scale = team_scale(context, forecast.method, teams)
    team_of = context.deals["team_id"].to_numpy()
    out: dict[int, dict[str, np.ndarray]] = {}
    for team_id, members in sorted(teams.items()):
        if not np.isin(team_of, members).any():
            continue
        dist = _distribution(context, forecast.method, forecast.probabilities, members)
        total = simulate.widen(dist, scale) if scale != 1.0 else dist
        out[team_id] = {
            "expected": dist.expected,
            "p10": total.quantile(0.1),
            "p50": total.quantile(0.5),
            "p90": total.quantile(0.9),
            "from_pipeline": np.asarray(dist.pipeline.mean(axis=0)),
            "run_rate": np.asarray(dist.run_rate.mean(axis=0)),
        }
    return out


def team_scale(context: Context, method: str, teams: Teams) -> float:
    """How much to widen (or narrow) team lines so that their P10-P90 would have held 80% of
    the teams' own past first-period outcomes (bookings as known at T).

    Each team's line at each of the last few period starts is rebuilt from what was known
    then (for the ensemble, with today's member weights: the past weights would need the
    past's past forecasts) and scored as the company line is."""
    scores: list[float] = []
    for lo, _ in context.past_actuals[:CALIBRATION_LOOKBACK]:
        past = context.builder.context(lo, context.options)
        if len(past.deals) == 0:
            continue
        probs = (
            past.blended_probabilities(context.ensemble_weights)
            if method == "ensemble"
            else past.probabilities(method)
        )
        period = period_of(pd.Timestamp(lo).date(), context.options.grain)
        hi = to_ns(period.end_at)
        team_of = past.deals["team_id"].to_numpy()
        for members in teams.values():
            if not np.isin(team_of, members).any():
                continue
            dist = _distribution(past, method, probs, members)
            expected = float(dist.expected[0])
            p10, p90 = float(dist.quantile(0.1)[0]), float(dist.quantile(0.9)[0])
            actual = context.won_value(lo, hi, members=members)
            width = p90 - expected if actual >= expected else expected - p10
            if width > 1e-9 * max(abs(expected), 1.0):
                scores.append(abs(actual - expected) / width)
    return simulate.conformal_scale(
        scores, coverage=COVERAGE, min_scores=CALIBRATION_MIN, max_scale=MAX_SCALE
    )


def _distribution(
    context: Context, method: str, probs: np.ndarray, members: list[int]
) -> simulate.Distribution:
    """The simulated bookings of the open deals of the teams in `members`, plus what those
    teams already booked in the current period before T (a mid-period as-of) and their share
    of the not-yet-in-pipeline part."""
    mask = np.isin(context.deals["team_id"].to_numpy(), members)
    rng = np.random.default_rng([context.options.seed, 7, int(mask.sum())])
    values = context.deals["amount"].to_numpy(dtype="float64")
    if method != "stage_weighted":
        values = values * context.value_ratio
    expected = probs * values[:, None]
    share = expected[mask].sum(axis=0) / np.maximum(expected.sum(axis=0), 1e-9)
    pipeline = simulate.simulate_deals(
        probs[mask], values[mask], sims=context.options.sims, rng=rng
    )
    pipeline[:, 0] += context.booked_so_far(members)
    mean, sd = context.run_rate_part
    shock = context.shock_sd("ml" if method == "ensemble" else method)
    return simulate.combine(pipeline, mean * share, sd * share, shock_sd=shock, rng=rng)
