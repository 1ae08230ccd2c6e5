"""Territories (a hierarchy with rules) and effective-dated rep assignments to them."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from salesops.models.base import Base, Imported, Timestamped, Versioned, import_key


class Territory(Imported, Timestamped, Versioned, Base):
    """A territory; `rules` holds the account attributes that place an account in it."""

    __tablename__ = "territories"
    __table_args__ = (import_key(),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("territories.id"), index=True)
    region: Mapped[str | None] = mapped_column(String(80))
    rules: Mapped[dict[str, Any]] = mapped_column(default=dict)

    parent: Mapped[Territory | None] = relationship(remote_side=[id])


class TerritoryAssignment(Base):
    """A rep covering a territory from `valid_from` until `valid_to` (exclusive, open if null)."""

    __tablename__ = "territory_assignments"
    __table_args__ = (Index(None, "rep_id", "valid_from"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rep_id: Mapped[int] = mapped_column(ForeignKey("reps.id", ondelete="CASCADE"))
    territory_id: Mapped[int] = mapped_column(
        ForeignKey("territories.id", ondelete="CASCADE"), index=True
    )
    valid_from: Mapped[date]
    valid_to: Mapped[date | None]
