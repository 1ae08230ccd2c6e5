"""Quotas per rep, team or territory and period."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from salesops.db.types import Money, Ratio
from salesops.models.base import Base, Imported, Versioned, import_key


class Quota(Imported, Versioned, Base):
    """A target for exactly one of a rep, a team or a territory over [period_start, period_end].

    `amount` is the quota actually assigned (already ramped); `ramp_factor` records the share
    of a fully ramped quota it represents, so ramp analysis can recover the full figure.
    """

    __tablename__ = "quotas"
    __table_args__ = (
        import_key(),
        CheckConstraint(
            "(CASE WHEN rep_id IS NULL THEN 0 ELSE 1 END"
            " + CASE WHEN team_id IS NULL THEN 0 ELSE 1 END"
            " + CASE WHEN territory_id IS NULL THEN 0 ELSE 1 END) = 1",
            name="one_holder",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    rep_id: Mapped[int | None] = mapped_column(ForeignKey("reps.id"), index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)
    territory_id: Mapped[int | None] = mapped_column(ForeignKey("territories.id"), index=True)
    period_start: Mapped[date]
    period_end: Mapped[date]
    amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    ramp_factor: Mapped[Decimal] = mapped_column(Ratio, default=Decimal(1))
