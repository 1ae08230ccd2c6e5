"""Pipeline stages: the default funnel, lookups, and the terminal (won/lost) stages."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from salesops.errors import NotFound, ValidationFailed
from salesops.models import ForecastCategory, PipelineStage, StageCategory


@dataclass(frozen=True)
class StageSpec:
    name: str
    category: StageCategory
    probability: Decimal
    forecast_category: ForecastCategory


DEFAULT_STAGES: tuple[StageSpec, ...] = (
    StageSpec("Prospecting", StageCategory.OPEN, Decimal("0.05"), ForecastCategory.PIPELINE),
    StageSpec("Qualification", StageCategory.OPEN, Decimal("0.15"), ForecastCategory.PIPELINE),
    StageSpec("Discovery", StageCategory.OPEN, Decimal("0.25"), ForecastCategory.PIPELINE),
    StageSpec("Proposal", StageCategory.OPEN, Decimal("0.45"), ForecastCategory.BEST_CASE),
    StageSpec("Negotiation", StageCategory.OPEN, Decimal("0.70"), ForecastCategory.COMMIT),
    StageSpec("Closed Won", StageCategory.WON, Decimal("1"), ForecastCategory.CLOSED),
    StageSpec("Closed Lost", StageCategory.LOST, Decimal("0"), ForecastCategory.OMITTED),
)


def ensure_stages(
    session: Session, specs: tuple[StageSpec, ...] = DEFAULT_STAGES
) -> list[PipelineStage]:
    """Create the stages in `specs` that do not exist yet; return all stages in funnel order."""
    existing = {s.name: s for s in session.scalars(select(PipelineStage))}
    next_order = max((s.sort_order for s in existing.values()), default=0)
    for spec in specs:
        if spec.name in existing:
            continue
        next_order += 1
        stage = PipelineStage(
            name=spec.name,
            sort_order=next_order,
            category=spec.category.value,
            default_probability=spec.probability,
            forecast_category=spec.forecast_category.value,
        )
        session.add(stage)
        existing[spec.name] = stage
    session.flush()
    return ordered(session)


def ordered(session: Session) -> list[PipelineStage]:
    """All stages in funnel order."""
    return list(session.scalars(select(PipelineStage).order_by(PipelineStage.sort_order)))


def by_name(session: Session, name: str) -> PipelineStage:
    """The stage called `name` (case-insensitive)."""
    for stage in ordered(session):
        if stage.name.lower() == name.strip().lower():
            return stage
    known = ", ".join(s.name for s in ordered(session)) or "none defined"
    raise NotFound(f"unknown stage {name!r} (known stages: {known})")


def terminal(session: Session, *, won: bool) -> PipelineStage:
    """The first active won (or lost) stage."""
    category = StageCategory.WON if won else StageCategory.LOST
    for stage in ordered(session):
        if stage.category == category and stage.is_active:
            return stage
    raise ValidationFailed(f"no {category.value} stage is defined; run `salesops init`")
