"""Calls, emails, meetings and tasks, linked to the deal, account or lead they were about."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from salesops.models.base import Base, Imported, Versioned, import_key


class Activity(Imported, Versioned, Base):
    """One touch with a customer or prospect."""

    __tablename__ = "activities"
    __table_args__ = (import_key(),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    subject: Mapped[str | None] = mapped_column(String(200))
    occurred_at: Mapped[datetime] = mapped_column(index=True)
    duration_minutes: Mapped[int | None]
    rep_id: Mapped[int | None] = mapped_column(ForeignKey("reps.id"), index=True)
    opportunity_id: Mapped[int | None] = mapped_column(
        ForeignKey("opportunities.id", ondelete="CASCADE"), index=True
    )
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
