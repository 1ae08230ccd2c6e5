"""The pipeline: stages, opportunities, and the event log that makes history rebuildable."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from salesops.db.types import Money, Ratio, utc_now
from salesops.models.base import Base, Imported, Versioned, import_key


class PipelineStage(Base):
    """A sales stage: its place in the funnel, its outcome category and default probability."""

    __tablename__ = "pipeline_stages"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    sort_order: Mapped[int]
    category: Mapped[str] = mapped_column(String(10), default="open")
    default_probability: Mapped[Decimal] = mapped_column(Ratio, default=Decimal(0))
    forecast_category: Mapped[str] = mapped_column(String(20), default="pipeline")
    is_active: Mapped[bool] = mapped_column(default=True)


class Opportunity(Imported, Versioned, Base):
    """A deal. Its current state lives here; every change is also an `OpportunityEvent`."""

    __tablename__ = "opportunities"
    # (owner_id, account_id): a rep's or a team's deals, and the accounts they reach (scoping),
    # read from the index alone.
    __table_args__ = (import_key(), Index(None, "owner_id", "account_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("reps.id"))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"), index=True)
    territory_id: Mapped[int | None] = mapped_column(ForeignKey("territories.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    stage_id: Mapped[int] = mapped_column(ForeignKey("pipeline_stages.id"), index=True)
    forecast_category: Mapped[str] = mapped_column(String(20), default="pipeline")
    close_date: Mapped[date | None] = mapped_column(index=True)
    type: Mapped[str] = mapped_column(String(20), default="new")
    lead_source: Mapped[str | None] = mapped_column(String(80))
    competitor: Mapped[str | None] = mapped_column(String(80))
    loss_reason: Mapped[str | None] = mapped_column(String(200))
    # What the rep will do next to move the deal on (free text, audited, not an event).
    next_step: Mapped[str | None] = mapped_column(String(255))
    # What the rep entered; model probabilities live with their forecast run, never here.
    probability: Mapped[Decimal | None] = mapped_column(Ratio)
    created_at: Mapped[datetime] = mapped_column(default=utc_now, index=True)
    engaged_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    # Custom fields (see Account.attributes); no history is kept for them, so a model treats
    # them as known from the deal's creation (docs/deal-scoring.md).
    attributes: Mapped[dict[str, Any] | None]

    stage: Mapped[PipelineStage] = relationship(lazy="joined")
    events: Mapped[list[OpportunityEvent]] = relationship(
        back_populates="opportunity",
        order_by="OpportunityEvent.at, OpportunityEvent.id",
        cascade="all, delete-orphan",
    )


class OpportunityEvent(Base):
    """One change of one field of an opportunity: old value, new value, when and by whom.

    Values are stored as text in a canonical form (stage name, decimal amount, ISO date,
    forecast category, owner rep id) so that one table holds every kind of change.
    """

    __tablename__ = "opportunity_events"
    __table_args__ = (Index(None, "opportunity_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    opportunity_id: Mapped[int] = mapped_column(ForeignKey("opportunities.id", ondelete="CASCADE"))
    field: Mapped[str] = mapped_column(String(20))
    old_value: Mapped[str | None] = mapped_column(String(200))
    new_value: Mapped[str | None] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(index=True)
    by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    source: Mapped[str] = mapped_column(String(40), default="salesops")

    opportunity: Mapped[Opportunity] = relationship(back_populates="events")
