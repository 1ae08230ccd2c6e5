"""Reference and governance tables: FX rates, the audit log and the demo-company marker."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from salesops.db.types import utc_now
from salesops.models.base import Base


class FxRate(Base):
    """How many units of the reporting currency one unit of `currency` bought on `rate_date`."""

    __tablename__ = "fx_rates"
    __table_args__ = (UniqueConstraint("currency", "rate_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    currency: Mapped[str] = mapped_column(String(3))
    rate_date: Mapped[date]
    rate: Mapped[Decimal] = mapped_column(Numeric(18, 8, asdecimal=True))


class AuditEntry(Base):
    """Who changed what and when, with the old and new values."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utc_now, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    action: Mapped[str] = mapped_column(String(20))
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str | None] = mapped_column(String(60))
    changes: Mapped[dict[str, Any]] = mapped_column(default=dict)


class DemoBuild(Base):
    """A mark that `salesops demo` built this database's company (written in the same
    transaction as its rows). Imports never write it; restoring an export without it into
    the database removes it. Only where it exists may the demo sign-ins, with their public
    password, be created."""

    __tablename__ = "demo_builds"

    id: Mapped[int] = mapped_column(primary_key=True)
    built_at: Mapped[datetime] = mapped_column(default=utc_now)
    seed: Mapped[int]
    end_date: Mapped[date]
    opportunities: Mapped[int]
