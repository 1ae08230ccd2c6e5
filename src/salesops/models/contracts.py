"""Contracts: what was signed, for how long, what it renewed, and how it changed since."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from salesops.db.types import Money, Ratio, utc_now
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
    # Obligations: written notice needed this many days before the end date to stop an
    # auto-renewal; the most the annual price may rise at renewal (0.05 = 5 %).
    notice_days: Mapped[int | None]
    price_increase_cap: Mapped[Decimal | None] = mapped_column(Ratio)
    # Anything but the standard terms (free text); non-empty terms need a director's approval.
    special_terms: Mapped[str | None] = mapped_column(Text)
    # The renewal deal raised for this contract (at most one: the renewal job is idempotent).
    renewal_opportunity_id: Mapped[int | None] = mapped_column(
        ForeignKey("opportunities.id"), index=True
    )
    churn_reason: Mapped[str | None] = mapped_column(String(80))


class ContractLineItem(Base):
    """A product on a contract: quantity x annual list price, less a discount, for a term."""

    __tablename__ = "contract_line_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(
        ForeignKey("contracts.id", ondelete="CASCADE"), index=True
    )
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"), index=True)
    description: Mapped[str] = mapped_column(String(200), default="")
    quantity: Mapped[int]
    list_price: Mapped[Decimal] = mapped_column(Money)
    discount: Mapped[Decimal] = mapped_column(Ratio, default=Decimal(0))
    start_date: Mapped[date]
    end_date: Mapped[date]
    amendment_id: Mapped[int | None] = mapped_column(
        ForeignKey("contract_amendments.id", ondelete="SET NULL")
    )


class ContractAmendment(Base):
    """A change to a signed contract: upsell, downsell or co-termination, prorated to its end."""

    __tablename__ = "contract_amendments"

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(
        ForeignKey("contracts.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20))
    effective_date: Mapped[date]
    annual_change: Mapped[Decimal] = mapped_column(Money)
    prorated_amount: Mapped[Decimal] = mapped_column(Money)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class ContractEvent(Base):
    """One step of a contract's history: a transition, an edit, an amendment, a document."""

    __tablename__ = "contract_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(
        ForeignKey("contracts.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(default=utc_now)
    by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(20))
    old_status: Mapped[str | None] = mapped_column(String(20))
    new_status: Mapped[str | None] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
