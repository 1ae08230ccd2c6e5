"""Point-in-time pipeline: the state of every opportunity as it was at any timestamp.

The rule is simple and needs no initial values: for each (opportunity, field), the value at
time T is the `old_value` of the first event after T, or the current value when no event
came after T. Events exactly at T count as already applied. Opportunities created after T
did not exist yet.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from salesops.db.types import as_utc
from salesops.models import EventField, Opportunity, OpportunityEvent, PipelineStage


@dataclass(frozen=True, slots=True)
class OpportunityState:
    """What one opportunity looked like at a point in time."""

    id: int
    name: str
    owner_id: int
    account_id: int | None
    product_id: int | None
    stage: str
    stage_category: str
    amount: Decimal
    currency: str
    close_date: date | None
    forecast_category: str
    type: str
    created_at: datetime
    closed_at: datetime | None

    @property
    def is_open(self) -> bool:
        return self.stage_category == "open"


@dataclass(frozen=True, slots=True)
class LaterEvent:
    """An event after the as-of time: only its field and old value matter for rewinding."""

    opportunity_id: int
    field: str
    old_value: str | None
    at: datetime


def _parse_date(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


# Event field -> the state attribute it rewinds and how its text value is parsed.
_REWOUND_FIELDS: dict[EventField, tuple[str, Callable[[str], object]]] = {
    EventField.STAGE: ("stage", str),
    EventField.AMOUNT: ("amount", Decimal),
    EventField.CLOSE_DATE: ("close_date", _parse_date),
    EventField.FORECAST_CATEGORY: ("forecast_category", str),
    EventField.OWNER: ("owner_id", int),
}


def rewind(
    current: Iterable[OpportunityState],
    later_events: Iterable[LaterEvent],
    *,
    at: datetime,
    stage_categories: Mapping[str, str],
) -> Iterator[OpportunityState]:
    """Turn current states into states as of `at`, given every event after `at`.

    `later_events` must be ordered by time within each opportunity. A deal closed at `at` but
    reopened since keeps its current `closed_at` here; `pipeline_as_of` looks up when it had
    closed (rare, and it needs the events before `at`).
    """
    at = as_utc(at)
    first_old: dict[tuple[int, str], str | None] = {}
    for event in later_events:
        first_old.setdefault((event.opportunity_id, event.field), event.old_value)
    for state in current:
        if state.created_at > at:
            continue
        changes: dict[str, object] = {}
        for field, (attribute, parse) in _REWOUND_FIELDS.items():
            key = (state.id, field.value)
            if key not in first_old:
                continue
            old = first_old[key]
            if old is not None:
                changes[attribute] = parse(old)
            elif field is EventField.CLOSE_DATE:  # a deal may have had no close date yet
                changes[attribute] = None
        if "stage" in changes:
            changes["stage_category"] = stage_categories.get(str(changes["stage"]), "open")
        past = replace(state, **changes) if changes else state  # type: ignore[arg-type]
        if past.stage_category == "open" and past.closed_at is not None:
            past = replace(past, closed_at=None)
        yield past


def _current_states(session: Session, at: datetime) -> Iterator[OpportunityState]:
    query = (
        select(
            Opportunity.id,
            Opportunity.name,
            Opportunity.owner_id,
            Opportunity.account_id,
            Opportunity.product_id,
            PipelineStage.name,
            PipelineStage.category,
            Opportunity.amount,
            Opportunity.currency,
            Opportunity.close_date,
            Opportunity.forecast_category,
            Opportunity.type,
            Opportunity.created_at,
            Opportunity.closed_at,
        )
        .join(PipelineStage, Opportunity.stage_id == PipelineStage.id)
        .where(Opportunity.created_at <= at)
        .order_by(Opportunity.id)
        .execution_options(yield_per=10_000)
    )
    for row in session.execute(query):
        yield OpportunityState(*row)


def _later_events(session: Session, at: datetime) -> Iterator[LaterEvent]:
    query = (
        select(
            OpportunityEvent.opportunity_id,
            OpportunityEvent.field,
            OpportunityEvent.old_value,
            OpportunityEvent.at,
        )
        .where(OpportunityEvent.at > at)
        .order_by(OpportunityEvent.opportunity_id, OpportunityEvent.at, OpportunityEvent.id)
        .execution_options(yield_per=10_000)
    )
    for row in session.execute(query):
        yield LaterEvent(*row)


def _last_close_before(session: Session, at: datetime, ids: set[int]) -> dict[int, datetime]:
    """When each deal in `ids` last moved into a closed stage at or before `at`."""
    closed_names = {
        name
        for name, category in session.execute(select(PipelineStage.name, PipelineStage.category))
        if category != "open"
    }
    result: dict[int, datetime] = {}
    id_list = sorted(ids)
    for start in range(0, len(id_list), 500):
        chunk = id_list[start : start + 500]
        query = (
            select(OpportunityEvent.opportunity_id, OpportunityEvent.at)
            .where(
                OpportunityEvent.opportunity_id.in_(chunk),
                OpportunityEvent.field == EventField.STAGE.value,
                OpportunityEvent.new_value.in_(closed_names),
                OpportunityEvent.at <= at,
            )
            .order_by(OpportunityEvent.at)
        )
        for opp_id, when in session.execute(query):
            result[opp_id] = when
    return result


def pipeline_as_of(session: Session, at: datetime) -> list[OpportunityState]:
    """The state of every opportunity that existed at `at`, as it was then."""
    at = as_utc(at)
    rows = session.execute(select(PipelineStage.name, PipelineStage.category)).tuples()
    categories: dict[str, str] = dict(rows.all())
    states = list(
        rewind(
            _current_states(session, at),
            _later_events(session, at),
            at=at,
            stage_categories=categories,
        )
    )
    reclosed = {s.id for s in states if not s.is_open and (s.closed_at is None or s.closed_at > at)}
    if not reclosed:
        return states
    closes = _last_close_before(session, at, reclosed)
    return [
        replace(s, closed_at=closes.get(s.id, s.closed_at)) if s.id in reclosed else s
        for s in states
    ]
