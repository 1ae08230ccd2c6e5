"""Incentive compensation: deal credit splits, comp runs and their payout lines.

A run is one calculation of one period from a checksum of its inputs (plans, deals, splits,
quotas); its lines carry their lineage (plan version, rule, tier, rate, credited deals). A
closed run is never rewritten: a later recalculation of that period adds adjustment lines to
the next open run instead.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from salesops.db.types import Money, Ratio, utc_now
from salesops.models.base import Base


class CreditSplit(Base):
    """A rep's share of a deal's credit: `revenue` shares of a deal sum to 1, `overlay` need not."""

    __tablename__ = "comp_credit_splits"
    __table_args__ = (Index(None, "opportunity_id", "rep_id", "kind", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    opportunity_id: Mapped[int] = mapped_column(ForeignKey("opportunities.id", ondelete="CASCADE"))
    rep_id: Mapped[int] = mapped_column(ForeignKey("reps.id"), index=True)
    share: Mapped[Decimal] = mapped_column(Ratio)
    kind: Mapped[str] = mapped_column(String(10), default="revenue")


class CompRun(Base):
    """One calculation of one period; `status` open or closed (closed: locked)."""

    __tablename__ = "comp_runs"
    __table_args__ = (Index(None, "period_start", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    period_start: Mapped[date]
    period_end: Mapped[date]
    status: Mapped[str] = mapped_column(String(10), default="open")
    input_checksum: Mapped[str] = mapped_column(String(64))
    plans: Mapped[dict[str, Any]] = mapped_column(default=dict)  # plan@vN -> file checksum
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    total: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    closed_at: Mapped[datetime | None]
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    lines: Mapped[list[PayoutLine]] = relationship(
        back_populates="run", cascade="all, delete-orphan", order_by="PayoutLine.id"
    )


class PayoutLine(Base):
    """One payout line with its lineage; `deals` lists [opportunity id, credited amount]."""

    __tablename__ = "comp_payout_lines"
    __table_args__ = (Index(None, "run_id", "rep_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("comp_runs.id", ondelete="CASCADE"))
    rep_id: Mapped[int] = mapped_column(ForeignKey("reps.id"), index=True)
    plan: Mapped[str] = mapped_column(String(80))
    rule: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(20))
    tier: Mapped[str] = mapped_column(String(80), default="")
    rate: Mapped[Decimal | None] = mapped_column(Numeric(12, 8, asdecimal=True))
    credited: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    amount: Mapped[Decimal] = mapped_column(Money)
    deals: Mapped[list[Any]] = mapped_column(JSON, default=list)
    note: Mapped[str] = mapped_column(String(300), default="")

    run: Mapped[CompRun] = relationship(back_populates="lines")
