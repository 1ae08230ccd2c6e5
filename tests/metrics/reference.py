"""Independent reference computations: plain Python over the rows, no Ibis, no SQL.

They read the pipeline through `salesops.pipeline.history.pipeline_as_of` (the operational
store's own point-in-time rule) and convert money with Decimal arithmetic.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from salesops.models import FxRate, Opportunity, OpportunityEvent, PipelineStage, Rep
from salesops.pipeline.history import OpportunityState, pipeline_as_of

FAR = datetime(2100, 1, 1, tzinfo=UTC)


def states(session: Session, at: datetime = FAR) -> list[OpportunityState]:
    session.flush()
    return pipeline_as_of(session, at)


def fx(session: Session) -> Callable[[str, date], Decimal]:
    """Amount converter: the latest rate on or before the day, else the earliest rate."""
    rates: dict[str, list[tuple[date, Decimal]]] = defaultdict(list)
    for row in session.scalars(select(FxRate).order_by(FxRate.rate_date)):
        rates[row.currency].append((row.rate_date, row.rate))

    def rate(currency: str, day: date) -> Decimal:
        if currency == "USD":
            return Decimal(1)
        known = rates[currency]
        valid = [r for d, r in known if d <= day]
        return valid[-1] if valid else known[0][1]

    return rate


def converted(session: Session, s: OpportunityState) -> Decimal:
    day = closed_on(s) or s.close_date or s.created_at.date()
    return (s.amount * fx(session)(s.currency, day)).quantize(Decimal("0.01"), ROUND_HALF_UP)


def closed_on(s: OpportunityState) -> date | None:
    if s.is_open:
        return None
    return s.closed_at.date() if s.closed_at else s.close_date


def names(session: Session) -> dict[int, str]:
    return {r.id: r.name for r in session.scalars(select(Rep))}


def in_window(day: date | None, start: date | None, end: date | None) -> bool:
    if day is None:
        return False
    return (start is None or day >= start) and (end is None or day <= end)


def group(
    rows: Iterable[OpportunityState], key: Callable[[OpportunityState], object]
) -> dict[object, list[OpportunityState]]:
    result: dict[object, list[OpportunityState]] = defaultdict(list)
    for row in rows:
        result[key(row)].append(row)
    return result


def win_rate(rows: list[OpportunityState]) -> float | None:
    closed = [s for s in rows if not s.is_open]
    won = [s for s in closed if s.stage_category == "won"]
    return len(won) / len(closed) if closed else None


def bookings(session: Session, rows: list[OpportunityState]) -> Decimal:
    return sum((converted(session, s) for s in rows if s.stage_category == "won"), Decimal("0.00"))


def cycle_days(session: Session, s: OpportunityState) -> int:
    from salesops.models import Opportunity

    opp = session.get(Opportunity, s.id)
    assert opp is not None
    start = (opp.engaged_at or s.created_at).date()
    end = closed_on(s)
    assert end is not None
    return (end - start).days


def median(values: list[float]) -> float | None:
    return float(statistics.median(values)) if values else None


def stage_cohorts(
    session: Session, owners: Collection[int] | None = None
) -> dict[str, tuple[int, int]]:
    """Per open stage: (deals that entered it, deals that later entered a further stage), of
    the deals of `owners` when given."""
    session.flush()
    stage_rows = list(session.scalars(select(PipelineStage).order_by(PipelineStage.sort_order)))
    open_names = [s.name for s in stage_rows if s.category == "open"]
    rank = {name: i + 1 for i, name in enumerate(open_names)}
    for s in stage_rows:
        if s.category == "won":
            rank[s.name] = len(open_names) + 1
    query = select(OpportunityEvent).where(OpportunityEvent.field.in_(["created", "stage"]))
    if owners is not None:
        deals = select(Opportunity.id).where(Opportunity.owner_id.in_(owners))
        query = query.where(OpportunityEvent.opportunity_id.in_(deals))
    events = session.scalars(
        query.order_by(OpportunityEvent.opportunity_id, OpportunityEvent.at, OpportunityEvent.id)
    )
    by_opp: dict[int, list[str]] = defaultdict(list)
    for e in events:
        by_opp[e.opportunity_id].append(e.new_value or "")
    result: dict[str, list[int]] = {name: [0, 0] for name in open_names}
    for path in by_opp.values():
        seen: set[str] = set()
        for i, stage in enumerate(path):
            if stage not in result or stage in seen:
                continue
            seen.add(stage)
            later = [rank[s] for s in path[i + 1 :] if s in rank]
            result[stage][0] += 1
            result[stage][1] += int(any(r > rank[stage] for r in later))
    return {k: (v[0], v[1]) for k, v in result.items()}
