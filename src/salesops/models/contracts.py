"""Contracts: what was signed, for how long, and what it renewed."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from salesops.db.types import Money
from salesops.models.base import Base, Imported, Timestamped, Versioned, import_key


class Contract(Imported, Timestamped, Versioned, Base):
    """A customer contract; `renewal_of_id` links a renewal to the contract it replaced."""

    __tablename__ = "contracts"
    # The list's default order (newest start first) is read in index order.
    __table_args__ = (import_key(), Index(None, "start_date", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    opportunity_id: Mapped[int | None] = mapped_column(ForeignKey("opportunities.id"))
    status: Mapped[str] = mapped_column(String(20), default="active")
    start_date: Mapped[date]
    end_date: Mapped[date]
    term_months: Mapped[int]
    # Annual recurring value; total contract value is value * term_months / 12.
    value: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    auto_renew: Mapped[bool] = mapped_column(default=False)
    renewal_of_id: Mapped[int | None] = mapped_column(ForeignKey("contracts.id"), index=True)
    template: Mapped[str | None] = mapped_column(String(80))
