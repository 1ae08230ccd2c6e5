"""Small pipeline summaries for the terminal: open pipeline by stage, bookings by quarter."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from salesops.calendar import quarter_label
from salesops.models import Opportunity, PipelineStage


@dataclass(frozen=True)
class StageLine:
    stage: str
    currency: str
    deals: int
    amount: Decimal


@dataclass(frozen=True)
class QuarterLine:
    quarter: str
    currency: str
    deals: int
    amount: Decimal


def open_pipeline_by_stage(session: Session) -> list[StageLine]:
    """Open deals per stage (funnel order): count and total amount, per currency."""
    query = (
        select(
            PipelineStage.name,
            Opportunity.currency,
            func.count(Opportunity.id),
            func.coalesce(func.sum(Opportunity.amount), 0),
        )
        .join(PipelineStage, Opportunity.stage_id == PipelineStage.id)
        .where(PipelineStage.category == "open")
        .group_by(PipelineStage.sort_order, PipelineStage.name, Opportunity.currency)
        .order_by(PipelineStage.sort_order, Opportunity.currency)
    )
    return [
        StageLine(stage, currency, deals, Decimal(str(amount)).quantize(Decimal("0.01")))
        for stage, currency, deals, amount in session.execute(query)
    ]


def bookings_by_quarter(session: Session) -> list[QuarterLine]:
    """Won deals per calendar quarter of their close: count and total amount, per currency.

    Same population and date as the catalog's `bookings` and `won_deals` metrics (a won stage;
    `closed_at`, else `close_date` when no close time was recorded), which a test holds it to.
    It does not call the metrics service: opening the analytics engine (Ibis import plus the
    DuckDB copy) made `salesops summary` about four times slower on a 20k demo (2-3 s -> 9-11 s).
    """
    query = (
        select(
            Opportunity.closed_at, Opportunity.close_date, Opportunity.currency, Opportunity.amount
        )
        .join(PipelineStage, Opportunity.stage_id == PipelineStage.id)
        .where(PipelineStage.category == "won")
        .execution_options(yield_per=20_000)
    )
    totals: dict[tuple[str, str], tuple[int, Decimal]] = {}
    # Grouped in Python: quarter extraction differs between SQLite and PostgreSQL.
    for closed_at, close_date, currency, amount in session.execute(query):
        day = closed_at.date() if closed_at else close_date
        if day is None:  # no date at all: the metrics leave it out of every period too
            continue
        key = (quarter_label(day), currency)
        deals, total = totals.get(key, (0, Decimal(0)))
        totals[key] = (deals + 1, total + amount)
    return [
        QuarterLine(quarter, currency, deals, total)
        for (quarter, currency), (deals, total) in sorted(totals.items())
    ]
