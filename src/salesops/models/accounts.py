"""Customers: accounts, their effective-dated owners, and contacts."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import Float, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from salesops.db.types import Money
from salesops.models.base import Base, Imported, Timestamped, Versioned, import_key


class Account(Imported, Timestamped, Versioned, Base):
    """A company we sell to (or could)."""

    __tablename__ = "accounts"
    __table_args__ = (import_key(),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    industry: Mapped[str | None] = mapped_column(String(80))
    segment: Mapped[str | None] = mapped_column(String(40))
    employees: Mapped[int | None]
    annual_revenue: Mapped[Decimal | None] = mapped_column(Money)
    country: Mapped[str | None] = mapped_column(String(80))
    postal_code: Mapped[str | None] = mapped_column(String(20))
    region: Mapped[str | None] = mapped_column(String(80))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    # 1 (one decision maker) to 5 (committee, procurement, legal): drives cycle length.
    buying_complexity: Mapped[int | None]
    territory_id: Mapped[int | None] = mapped_column(ForeignKey("territories.id"), index=True)
    year_established: Mapped[int | None]

    parent: Mapped[Account | None] = relationship(remote_side=[id])


class AccountOwner(Base):
    """A rep owning an account from `valid_from` until `valid_to` (exclusive, open if null)."""

    __tablename__ = "account_owners"
    __table_args__ = (Index(None, "account_id", "valid_from"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    rep_id: Mapped[int] = mapped_column(ForeignKey("reps.id", ondelete="CASCADE"), index=True)
    valid_from: Mapped[date]
    valid_to: Mapped[date | None]


class Contact(Imported, Timestamped, Versioned, Base):
    """A person at an account."""

    __tablename__ = "contacts"
    # The list's default order (by last name): a page is read in index order, not sorted.
    __table_args__ = (import_key(), Index(None, "last_name", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    first_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str | None] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(60))
    title: Mapped[str | None] = mapped_column(String(120))
