"""Leading indicators of business not yet in the pipeline: how much new pipeline was created
and how many leads were captured just before the as-of date, against what their own history
forecast.

Business not yet in the pipeline at T (deals created after T and won in a forecast period)
is forecast from its own history, which assumes the inflow of new deals carries on. When the
inflow stops (a campaign ends, a CRM stops being fed, a company winds a product down) that
history keeps predicting wins for months; when it doubles, it under-forecasts. The inflow of
the period just before T is known at T and carries on: compared with the level the inflow's
own history forecasts, it says how far the coming period's new business should move from
the level its history forecasts. The history of new bookings is the prior (it holds their
usual conversion and lag); the indicators move it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesops.forecasting.timeseries import forecast_like

MAX_RATIO = 3.0  # an inflow surge moves the prior at most this far (one burst is not a trend)
# The prior belief that new business follows the inflow, in pseudo-observations of squared
# surprise: worth one past period where the inflow moved by about 30% and new business with it.
RESPONSE_PRIOR = 0.1


def window_counts(times: np.ndarray, ends: np.ndarray, months: int) -> np.ndarray:
    """How many of the sorted instants `times` fall in [end - months, end) for each end."""
    starts = np.array(
        [(pd.Timestamp(e) - pd.DateOffset(months=months)).to_datetime64() for e in ends],
        dtype="M8[ns]",
    )
    upper = np.searchsorted(times, ends, side="left")
    lower = np.searchsorted(times, starts, side="left")
    return np.asarray(upper - lower, dtype="float64")


def indicator_ratio(
    times: np.ndarray,
    starts: np.ndarray,
    t: np.datetime64,
    *,
    months: int,
    season: int,
    reference: np.ndarray,
) -> float | None:
    """The inflow of the period before `t` over the inflow's own forecast for the coming
    period (None without a basis: no past inflow).

    The inflow is counted per period like the new business it is compared with (the period
    of each past start in `starts`), and the latest inflow over the period up to `t`. New business
    is forecast from its history (`reference`, one value per start) by the time-series model
    chosen for it; the same model on the inflow says what level that forecast takes for
    granted, and the latest inflow (which
    carries on: deals are created at a steady pace until something changes) says what level
    to expect. Their ratio is 1 while the inflow keeps its pace, 0 when it stopped.
    """
    if len(starts) == 0 or len(times) == 0:
        return None
    last_end = pd.Timestamp(starts[-1]) + pd.DateOffset(months=months)
    ends = np.concatenate([starts[1:], np.array([last_end.to_datetime64()], dtype="M8[ns]")])
    series = window_counts(times, ends, months)
    if series[:-1].sum() <= 0:
        # No inflow before the latest period: nothing to compare with (leads imported without
        # their capture dates all carry the import's time).
        return None
    current = float(window_counts(times, np.array([t], dtype="M8[ns]"), months)[0])
    expected = forecast_like(reference, series, season=season)
    if expected <= 0:
        return 0.0 if current == 0 else None
    return float(np.clip(current / expected, 0.0, MAX_RATIO))


def inflow_ratio(
    indicators: list[np.ndarray],
    starts: np.ndarray,
    t: np.datetime64,
    *,
    months: int,
    season: int,
    reference: np.ndarray,
) -> float:
    """How far new business should move from its history: the mean of each indicator's
    ratio (pipeline created, leads captured), 1 when no indicator has a past to compare with.

    Each indicator's times must be sorted; only those before `t` are counted.
    """
    ratios = []
    for times in indicators:
        known = times[times < t]
        ratio = indicator_ratio(known, starts, t, months=months, season=season, reference=reference)
        if ratio is not None:
            ratios.append(ratio)
    return float(np.mean(ratios)) if ratios else 1.0


def response(pairs: list[tuple[float, float]]) -> float:
    """How far new business follows the inflow: the slope of its surprise (actual ÷ forecast
    − 1) on the inflow's (ratio − 1) at past period starts, through the origin, pulled towards
    1 by RESPONSE_PRIOR and kept in [0, 1].

    Where new business is made of the deals created just before (most companies) the two
    move together and the slope is near 1; where wins do not depend on how many deals were
    opened (on Maven, 341 to 453 wins a month whether 722 or 1,198 deals were engaged) it is
    near 0 and the history's forecast is left almost as it was. With no past surprises the
    prior stands and an inflow that stops takes new business with it.
    """
    sxy = sum(x * y for x, y in pairs)
    sxx = sum(x * x for x, _ in pairs)
    return float(np.clip((sxy + RESPONSE_PRIOR) / (sxx + RESPONSE_PRIOR), 0.0, 1.0))
