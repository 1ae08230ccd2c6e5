"""Proposals: a change someone drafts, a director approves or rejects, and salesops applies."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from salesops.db.types import utc_now
from salesops.models.base import Base, Versioned


class Proposal(Versioned, Base):
    """One proposed change of kind `kind` (its domain reads `payload`), with its decision trail.

    States: draft -> submitted -> approved | rejected; approved -> applied -> rolled_back.
    `undo` holds what the domain's apply step needs to roll the change back.
    """

    __tablename__ = "proposals"
    __table_args__ = (Index(None, "kind", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(20), default="draft")
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Where the payload came from (scenario, inputs), so a decision can be traced to its data.
    fingerprint: Mapped[str | None] = mapped_column(String(64))
    effective_from: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    submitted_at: Mapped[datetime | None]
    submitted_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decision_reason: Mapped[str | None] = mapped_column(Text)
    applied_at: Mapped[datetime | None]
    applied_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    rolled_back_at: Mapped[datetime | None]
    rolled_back_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    undo: Mapped[dict[str, Any]] = mapped_column(default=dict)
