"""Shared operational machinery: scheduled jobs, the outbox, the in-app inbox, documents.

These tables belong to no single domain: contracts, quotas, compensation and digests all
schedule jobs, send messages and store generated documents through them (ARCHITECTURE §8).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from salesops.db.types import utc_now
from salesops.models.base import Base, Timestamped


class Job(Timestamped, Base):
    """A unit of work for `salesops worker`: run once at `run_at`, or every `every_seconds`.

    `key` makes scheduling idempotent: scheduling the same key twice keeps one job.
    """

    __tablename__ = "jobs"
    # The worker's query: the oldest due job that is still pending.
    __table_args__ = (Index(None, "status", "run_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(80))
    key: Mapped[str] = mapped_column(String(200), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    run_at: Mapped[datetime]
    every_seconds: Mapped[int | None]
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=5)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_run_at: Mapped[datetime | None]


class JobRun(Base):
    """One execution of a job by one worker: the log of what ran, when, and how it ended."""

    __tablename__ = "job_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(80))
    worker: Mapped[str] = mapped_column(String(120))
    started_at: Mapped[datetime] = mapped_column(default=utc_now, index=True)
    finished_at: Mapped[datetime]
    outcome: Mapped[str] = mapped_column(String(12))
    message: Mapped[str | None] = mapped_column(Text)


class OutboxMessage(Timestamped, Base):
    """An e-mail or webhook call, written with the change that caused it, sent later.

    `status`: pending (to send at `next_attempt_at`), sending (claimed by a worker), sent,
    dead (gave up after `max_attempts`), or unknown (a worker died while sending: it is not
    retried automatically, because it may have left; `salesops outbox retry` re-queues it).
    """

    __tablename__ = "outbox_messages"
    __table_args__ = (Index(None, "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(12))
    recipient: Mapped[str] = mapped_column(String(500))
    subject: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[dict[str, Any] | None]
    key: Mapped[str | None] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=6)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utc_now)
    claimed_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]


class InboxItem(Timestamped, Base):
    """A notification shown to one user inside salesops."""

    __tablename__ = "inbox_items"
    __table_args__ = (Index(None, "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str | None] = mapped_column(String(500))
    key: Mapped[str | None] = mapped_column(String(200), unique=True)
    read_at: Mapped[datetime | None]


class DocumentTemplate(Timestamped, Base):
    """One version of a named Jinja2 template; a changed body is a new version, never an edit."""

    __tablename__ = "document_templates"
    __table_args__ = (UniqueConstraint("name", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    version: Mapped[int]
    body: Mapped[str] = mapped_column(Text)
    checksum: Mapped[str] = mapped_column(String(64))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class Document(Timestamped, Base):
    """A rendered document, stored byte for byte with the template version that made it."""

    __tablename__ = "documents"
    __table_args__ = (Index(None, "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("document_templates.id"), index=True)
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[int]
    format: Mapped[str] = mapped_column(String(8))
    media_type: Mapped[str] = mapped_column(String(80))
    filename: Mapped[str] = mapped_column(String(200))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
