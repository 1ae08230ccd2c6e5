"""People and structure: users, reps, teams and effective-dated team memberships."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from salesops.db.types import Ratio
from salesops.models.base import Base, Imported, Timestamped, Versioned, import_key


class User(Imported, Timestamped, Versioned, Base):
    """Someone who signs in; their role decides what they can see and change."""

    __tablename__ = "users"
    __table_args__ = (import_key(),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    email: Mapped[str | None] = mapped_column(String(200))
    full_name: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20), default="sales_rep")
    password_hash: Mapped[str | None] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(default=True)


class ApiToken(Timestamped, Base):
    """A revocable API token; only its hash is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80), default="")
    token_hash: Mapped[str] = mapped_column(String(128), unique=True)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class Team(Imported, Timestamped, Versioned, Base):
    """A sales team; `parent_id` builds the hierarchy that roll-ups follow."""

    __tablename__ = "teams"
    __table_args__ = (import_key(),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("reps.id"))
    region: Mapped[str | None] = mapped_column(String(80))

    parent: Mapped[Team | None] = relationship(remote_side=[id])


class Rep(Imported, Timestamped, Versioned, Base):
    """A member of the sales organisation who can own accounts, deals and quota."""

    __tablename__ = "reps"
    __table_args__ = (import_key(),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(200))
    title: Mapped[str | None] = mapped_column(String(120))
    hire_date: Mapped[date | None]
    termination_date: Mapped[date | None]
    level: Mapped[int] = mapped_column(Integer, default=1)
    experience_years: Mapped[int | None]
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("reps.id"), index=True)
    industries_known: Mapped[list[str]] = mapped_column(default=list)
    capacity: Mapped[int | None] = mapped_column(Integer)
    region: Mapped[str | None] = mapped_column(String(80))
    is_active: Mapped[bool] = mapped_column(default=True)
    # Target share of full productivity in a new hire's first months, when no quota says so.
    ramp_factor: Mapped[Decimal | None] = mapped_column(Ratio)

    manager: Mapped[Rep | None] = relationship(remote_side=[id])
    user: Mapped[User | None] = relationship()


class TeamMembership(Base):
    """A rep's membership of a team from `valid_from` until `valid_to` (exclusive, open if null)."""

    __tablename__ = "team_memberships"
    __table_args__ = (Index(None, "rep_id", "valid_from"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rep_id: Mapped[int] = mapped_column(ForeignKey("reps.id", ondelete="CASCADE"))
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    valid_from: Mapped[date]
    valid_to: Mapped[date | None]
