"""The vectorised snapshot rebuilds exactly what `pipeline_as_of` rebuilds, at any date."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from sqlalchemy.orm import Session

from salesops.forecasting.frames import load_history
from salesops.forecasting.snapshot import prepare, snapshot
from salesops.pipeline import service, stages
from salesops.pipeline.history import pipeline_as_of
from tests.factories import T0, make_opportunity, make_rep
from tests.forecasting.company import build_company

DAY = timedelta(days=1)


def as_records(states: list, columns: list[str]) -> list[tuple]:  # type: ignore[type-arg]
    return sorted(tuple(getattr(s, c) for c in columns) for s in states)


def compare(session: Session, dates: list[datetime]) -> int:
    session.flush()
    prep = prepare(load_history(session))
    checked = 0
    for at in dates:
        expected = pipeline_as_of(session, at)
        frame = snapshot(prep, at)
        assert len(frame) == len(expected), at
        got = {int(r.id): r for r in frame.itertuples(index=False)}
        for state in expected:
            row = got[state.id]
            assert row.stage == state.stage, (at, state.id)
            assert row.stage_category == state.stage_category
            assert row.amount == pytest.approx(float(state.amount))
            assert row.owner_id == state.owner_id
            assert row.forecast_category == state.forecast_category
            close = None if pd.isna(row.close_date) else pd.Timestamp(row.close_date).date()
            assert close == state.close_date, (at, state.id)
            closed = None if pd.isna(row.closed_at) else pd.Timestamp(row.closed_at, tz=UTC)
            assert closed == state.closed_at, (at, state.id)
            checked += 1
    return checked


def test_snapshots_match_pipeline_as_of_around_every_kind_of_change(session: Session) -> None:
    rep, other = make_rep(session), make_rep(session)
    opp = make_opportunity(session, owner=rep, amount=1000, at=T0)
    service.move_stage(session, opp, stages.by_name(session, "Discovery"), at=T0 + 2 * DAY)
    service.change_amount(session, opp, opp.amount * 2, at=T0 + 4 * DAY)
    service.change_close_date(session, opp, opp.close_date + 30 * DAY, at=T0 + 6 * DAY)
    service.reassign(session, opp, other, at=T0 + 8 * DAY)
    service.close_opportunity(session, opp, won=True, at=T0 + 10 * DAY)
    service.move_stage(session, opp, stages.by_name(session, "Negotiation"), at=T0 + 12 * DAY)
    service.close_opportunity(session, opp, won=False, at=T0 + 14 * DAY, loss_reason="budget")
    late = make_opportunity(session, owner=rep, at=T0 + 9 * DAY)
    dates = [T0 - DAY, T0] + [
        T0 + i * DAY + d for i in range(1, 16) for d in (-timedelta(seconds=1), timedelta(0))
    ]
    assert compare(session, dates) > 20
    assert late.id


def test_snapshots_match_pipeline_as_of_on_a_whole_company(session: Session) -> None:
    build_company(session, weeks=30, per_week=2)
    dates = [datetime(2024, m, 1, tzinfo=UTC) for m in range(2, 10)]
    assert compare(session, dates) > 100
