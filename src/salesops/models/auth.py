"""Sign-in state: browser sessions and the sign-in attempts that throttling counts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from salesops.db.types import utc_now
from salesops.models.base import Base


class WebSession(Base):
    """A signed-in browser; the cookie holds a random id of which only the digest is stored."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    last_seen_at: Mapped[datetime] = mapped_column(default=utc_now)
    ip: Mapped[str | None] = mapped_column(String(64))


class LoginAttempt(Base):
    """One sign-in attempt, kept so repeated failures can be slowed down and reviewed."""

    __tablename__ = "login_attempts"
    __table_args__ = (Index(None, "username", "at"), Index(None, "ip", "at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80))
    ip: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=utc_now)
    succeeded: Mapped[bool] = mapped_column(default=False)
    # Set when an admin unlocks the username: a cleared failure no longer counts towards a
    # lock, but the attempt stays on record.
    cleared_at: Mapped[datetime | None]
