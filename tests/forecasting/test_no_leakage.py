"""Nothing from after the as-of date may reach a forecast: deleting the future changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from salesops.forecasting import service
from salesops.forecasting.engine import METHODS, Context, Options
from salesops.forecasting.features import FeatureBuilder
from salesops.models import Opportunity, OpportunityEvent
from tests.forecasting.company import build_company, forget_after

AS_OF = datetime(2024, 10, 1, tzinfo=UTC)


def forecasts(session: Session) -> dict[str, tuple[np.ndarray, ...]]:
    context = Context(
        FeatureBuilder(service.load(session), "month"),
        AS_OF,
        Options(grain="month", horizon=2, sims=300, seed=3),
    )
    out = {}
    for method in METHODS:
        f = context.forecast(method)
        probs = f.probabilities if f.probabilities is not None else np.zeros(0)
        out[method] = (f.expected, f.p10, f.p50, f.p90, probs, f.deals["id"].to_numpy())
        out[method + " fingerprint"] = (
            np.array([service.input_fingerprint(context, method, f.version)]),
        )
    return out


def test_a_forecast_as_of_t_is_identical_with_or_without_everything_after_t(
    session: Session,
) -> None:
    build_company(session, weeks=70, per_week=2)
    with_future = forecasts(session)
    later_events = session.scalar(
        select(func.count()).select_from(OpportunityEvent).where(OpportunityEvent.at > AS_OF)
    )
    later_deals = session.scalar(
        select(func.count()).select_from(Opportunity).where(Opportunity.created_at > AS_OF)
    )
    assert later_events is not None
    assert later_events > 50
    assert later_deals is not None
    assert later_deals > 20

    forget_after(session, AS_OF)
    assert (
        session.scalar(
            select(func.count()).select_from(Opportunity).where(Opportunity.created_at > AS_OF)
        )
        == 0
    )
    without_future = forecasts(session)

    assert with_future.keys() == without_future.keys()
    for key, arrays in with_future.items():
        for got, expected in zip(without_future[key], arrays, strict=True):
            assert np.array_equal(got, expected), key
    # The forecasts are not trivially empty: deals were open and the model learnt something.
    assert len(with_future["ml"][5]) > 10
    assert with_future["ensemble"][0][0] > 0
