"""Playbooks (methodology revisions), per-deal checklists, coaching notes, hygiene snapshots
and feedback from the field."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from salesops.db.types import Money, Ratio, utc_now
from salesops.models.base import Base, Versioned


class PlaybookRevision(Base):
    """One loaded revision of a methodology's playbook file, kept whole (text and checksum) so
    what a deal was checked against can be read back. At most one revision is active."""

    __tablename__ = "playbooks"
    __table_args__ = (UniqueConstraint("methodology", "revision"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    methodology: Mapped[str] = mapped_column(String(80))
    revision: Mapped[int]
    description: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(Text)
    checksum: Mapped[str] = mapped_column(String(64))
    is_active: Mapped[bool] = mapped_column(default=False, index=True)
    loaded_at: Mapped[datetime] = mapped_column(default=utc_now)
    loaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class DealChecklistItem(Base):
    """Whether one checklist item (a MEDDICC letter, say) is done on one deal, who said so."""

    __tablename__ = "deal_checklist"
    __table_args__ = (UniqueConstraint("opportunity_id", "item_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    opportunity_id: Mapped[int] = mapped_column(ForeignKey("opportunities.id", ondelete="CASCADE"))
    item_key: Mapped[str] = mapped_column(String(60))
    done: Mapped[bool] = mapped_column(default=False)
    note: Mapped[str | None] = mapped_column(String(255))
    updated_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class CoachingNote(Base):
    """A manager's note on a deal, usually about one hygiene flag, until it is resolved."""

    __tablename__ = "coaching_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    opportunity_id: Mapped[int] = mapped_column(
        ForeignKey("opportunities.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(default=utc_now)
    flag: Mapped[str | None] = mapped_column(String(30))
    text: Mapped[str] = mapped_column(Text)
    resolved_at: Mapped[datetime | None]


class HygieneSnapshot(Base):
    """One rep's hygiene on one day: open deals, flagged deals, flags by kind, the score.
    Taken daily (`salesops playbook hygiene snapshot`); the trend is the series of these."""

    __tablename__ = "hygiene_snapshots"
    __table_args__ = (UniqueConstraint("taken_on", "rep_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    taken_on: Mapped[date] = mapped_column(index=True)
    rep_id: Mapped[int] = mapped_column(ForeignKey("reps.id", ondelete="CASCADE"), index=True)
    open_deals: Mapped[int]
    flagged_deals: Mapped[int]
    flag_counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    score: Mapped[Decimal] = mapped_column(Ratio)


class Feedback(Versioned, Base):
    """Feedback from the field on process, tools, leads or content, and how Sales Ops
    answered it: status, owner, response and what changed because of it."""

    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    category: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    opportunity_id: Mapped[int | None] = mapped_column(
        ForeignKey("opportunities.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = mapped_column(String(20), default="new", index=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    response: Mapped[str | None] = mapped_column(Text)
    change_made: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now)


class FeedbackVote(Base):
    """One person's vote for one feedback item (one vote each)."""

    __tablename__ = "feedback_votes"
    __table_args__ = (UniqueConstraint("feedback_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    feedback_id: Mapped[int] = mapped_column(ForeignKey("feedback.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(default=utc_now)


class NotificationSubscription(Base):
    """One person's digest subscription: a topic, daily or weekly (Mondays)."""

    __tablename__ = "notification_subscriptions"
    __table_args__ = (UniqueConstraint("user_id", "topic"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    topic: Mapped[str] = mapped_column(String(30))
    frequency: Mapped[str] = mapped_column(String(10), default="daily")
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class SalesTool(Base):
    """A tool the sales team pays for: seats, annual cost, renewal, owner, capabilities."""

    __tablename__ = "sales_tools"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    vendor: Mapped[str] = mapped_column(String(120), default="")
    category: Mapped[str] = mapped_column(String(60), default="")
    seats: Mapped[int] = mapped_column(default=0)
    annual_cost: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    renewal_date: Mapped[date | None]
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    capabilities: Mapped[list[str]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class ToolUsage(Base):
    """Active users of one tool in one month (imported from the vendor's usage export)."""

    __tablename__ = "tool_usage"
    __table_args__ = (UniqueConstraint("tool_id", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tool_id: Mapped[int] = mapped_column(ForeignKey("sales_tools.id", ondelete="CASCADE"))
    month: Mapped[date]
    active_users: Mapped[int]


class ToolEvaluation(Base):
    """A software selection: weighted requirements, candidates scored 0-5 on each, decision."""

    __tablename__ = "tool_evaluations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    requirements: Mapped[dict[str, Any]] = mapped_column(default=dict)
    candidates: Mapped[dict[str, Any]] = mapped_column(default=dict)
    decision: Mapped[str | None] = mapped_column(String(120))
    rationale: Mapped[str | None] = mapped_column(Text)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
