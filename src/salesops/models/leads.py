"""Leads: people or companies not yet qualified into an opportunity."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from salesops.db.types import Ratio, utc_now
from salesops.models.base import Base, Imported, Versioned, import_key


class Lead(Imported, Versioned, Base):
    """A lead, its fit and engagement attributes, and what it converted into."""

    __tablename__ = "leads"
    __table_args__ = (import_key(),)

    id: Mapped[int] = mapped_column(primary_key=True)
    first_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str | None] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(200), index=True)
    company: Mapped[str | None] = mapped_column(String(200))
    source: Mapped[str | None] = mapped_column(String(80))
    campaign: Mapped[str | None] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(20), default="new")
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    score: Mapped[Decimal | None] = mapped_column(Ratio)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("reps.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utc_now, index=True)
    converted_at: Mapped[datetime | None]
    converted_account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    converted_contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    converted_opportunity_id: Mapped[int | None] = mapped_column(ForeignKey("opportunities.id"))
