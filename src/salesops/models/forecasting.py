"""Forecast runs and their lines, per-deal model predictions, and rep/manager forecast calls."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from salesops.db.types import Money, Ratio, utc_now
from salesops.models.base import Base


class ForecastRun(Base):
    """One execution of a forecasting method as of a date, reproducible from its inputs.

    `input_fingerprint` is a hash of every input row the method saw (the pipeline as of
    `as_of`, the history before it, the parameters): the same fingerprint and parameters give
    the same numbers. `kind` is "forecast" for a live run and "backtest" for a run made while
    replaying the past (its lines then carry the actual bookings).
    """

    __tablename__ = "forecast_runs"
    __table_args__ = (Index(None, "method", "as_of"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), default="forecast")
    method: Mapped[str] = mapped_column(String(40))
    version: Mapped[str] = mapped_column(String(20))
    parameters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    as_of: Mapped[datetime] = mapped_column(index=True)
    grain: Mapped[str] = mapped_column(String(10), default="quarter")
    horizon: Mapped[int] = mapped_column(default=1)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    input_fingerprint: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    lines: Mapped[list[ForecastLine]] = relationship(
        back_populates="run",
        cascade="all, delete-orphan",
        order_by="ForecastLine.period_start, ForecastLine.id",
    )
    predictions: Mapped[list[DealPrediction]] = relationship(
        cascade="all, delete-orphan", order_by="DealPrediction.id"
    )


class ForecastLine(Base):
    """A forecast of bookings (won value) for one period, for the company or one team.

    `team_id` null means the whole company. `expected` is the mean, `p10`/`p50`/`p90` the
    quantiles of the simulated distribution; `from_pipeline` is what the deals open at
    `as_of` contribute and `run_rate` the business not yet in the pipeline. `actual` is the
    won value in the period, filled for backtests (live runs leave it null).
    """

    __tablename__ = "forecast_lines"
    __table_args__ = (Index(None, "run_id", "period_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("forecast_runs.id", ondelete="CASCADE"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)
    period_start: Mapped[date] = mapped_column(index=True)
    period_end: Mapped[date]
    horizon: Mapped[int] = mapped_column(default=0)
    expected: Mapped[Decimal] = mapped_column(Money)
    p10: Mapped[Decimal] = mapped_column(Money)
    p50: Mapped[Decimal] = mapped_column(Money)
    p90: Mapped[Decimal] = mapped_column(Money)
    from_pipeline: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    run_rate: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    actual: Mapped[Decimal | None] = mapped_column(Money)

    run: Mapped[ForecastRun] = relationship(back_populates="lines")


class DealPrediction(Base):
    """What a model run predicted for one open deal; never written back to the opportunity.

    `p_win` is the probability the deal is eventually won, `p_win_in_horizon` that it is won
    within the run's horizon, `p_slip` that it misses its current close date's period.
    `reasons` lists the features that pushed the prediction down the most, in plain words.
    """

    __tablename__ = "deal_predictions"
    __table_args__ = (Index(None, "run_id", "opportunity_id", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("forecast_runs.id", ondelete="CASCADE"))
    opportunity_id: Mapped[int] = mapped_column(
        ForeignKey("opportunities.id", ondelete="CASCADE"), index=True
    )
    amount: Mapped[Decimal] = mapped_column(Money)
    p_win: Mapped[Decimal] = mapped_column(Ratio)
    p_win_in_horizon: Mapped[Decimal] = mapped_column(Ratio)
    p_slip: Mapped[Decimal] = mapped_column(Ratio)
    expected_close_date: Mapped[date | None]
    reasons: Mapped[list[str]] = mapped_column(default=list)


class ForecastSubmission(Base):
    """A forecast call: a rep's own numbers for a period, or a manager's for their team.

    Submissions are never updated: a new call is a new row, and the latest one per
    (submitter, team, period) is the standing call. `team_id` null means the rep's own call;
    set, it is a manager's adjusted call for that team (including its sub-teams).
    """

    __tablename__ = "forecast_submissions"
    __table_args__ = (Index(None, "period_start", "rep_id", "team_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    period_start: Mapped[date]
    period_end: Mapped[date]
    rep_id: Mapped[int] = mapped_column(ForeignKey("reps.id"), index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)
    commit_amount: Mapped[Decimal] = mapped_column(Money)
    best_case_amount: Mapped[Decimal] = mapped_column(Money)
    pipeline_amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    note: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[datetime] = mapped_column(default=utc_now, index=True)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
