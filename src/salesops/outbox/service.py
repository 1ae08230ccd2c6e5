"""Writing messages and inbox items in the caller's transaction; reading the inbox."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from salesops.db.types import utc_now
from salesops.errors import Conflict, NotFound, Problem, ValidationFailed
from salesops.models import InboxItem, OutboxMessage, User

EMAIL_PATTERN = re.compile(r"^[^@\s<>]+@[^@\s<>]+$")


def _existing(session: Session, key: str | None) -> OutboxMessage | None:
    if key is None:
        return None
    return session.scalar(select(OutboxMessage).where(OutboxMessage.key == key))


def enqueue_email(
    session: Session,
    to: str,
    subject: str,
    body: str,
    *,
    key: str | None = None,
    not_before: datetime | None = None,
) -> OutboxMessage:
    """Queue an e-mail in the caller's transaction (an existing message with `key` is kept)."""
    problems = []
    if not EMAIL_PATTERN.match(to) or len(to) > 500:
        problems.append(Problem(f"{to!r} is not an e-mail address", "to"))
    if "\n" in subject or "\r" in subject or len(subject) > 200:
        problems.append(Problem("must be one line of at most 200 characters", "subject"))
    if problems:
        raise ValidationFailed("invalid e-mail", problems)
    if found := _existing(session, key):
        return found
    message = OutboxMessage(
        channel="email",
        recipient=to,
        subject=subject,
        body=body,
        key=key,
        next_attempt_at=not_before or utc_now(),
    )
    session.add(message)
    session.flush()
    return message


def enqueue_webhook(
    session: Session,
    url: str,
    payload: Mapping[str, Any],
    *,
    key: str | None = None,
    event: str = "",
) -> OutboxMessage:
    """Queue a JSON POST to `url` in the caller's transaction."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or len(url) > 500:
        raise ValidationFailed(
            "invalid webhook", [Problem(f"{url!r} is not an http(s) URL", "url")]
        )
    if found := _existing(session, key):
        return found
    message = OutboxMessage(
        channel="webhook", recipient=url, subject=event[:200], payload=dict(payload), key=key
    )
    session.add(message)
    session.flush()
    return message


def notify(
    session: Session,
    user: User,
    subject: str,
    body: str = "",
    *,
    link: str | None = None,
    key: str | None = None,
    email: bool = True,
) -> InboxItem:
    """Put a notification in `user`'s inbox and, when they have an address, e-mail it."""
    if key is not None:
        found = session.scalar(select(InboxItem).where(InboxItem.key == key))
        if found is not None:
            return found
    item = InboxItem(user_id=user.id, subject=subject[:200], body=body, link=link, key=key)
    session.add(item)
    if email and user.email and EMAIL_PATTERN.match(user.email):
        text = f"{body}\n\n{link}" if link else body
        enqueue_email(session, user.email, subject[:200], text, key=f"{key}:email" if key else None)
    session.flush()
    return item


def inbox(
    session: Session, user: User, *, unread_only: bool = False, limit: int = 100
) -> list[InboxItem]:
    """`user`'s notifications, newest first."""
    query = select(InboxItem).where(InboxItem.user_id == user.id)
    if unread_only:
        query = query.where(InboxItem.read_at.is_(None))
    return list(session.scalars(query.order_by(InboxItem.id.desc()).limit(limit)))


def mark_read(session: Session, user: User, item_id: int) -> InboxItem:
    """Mark one of `user`'s notifications read (someone else's is 'not found')."""
    item = session.get(InboxItem, item_id)
    if item is None or item.user_id != user.id:
        raise NotFound(f"inbox item {item_id} does not exist")
    if item.read_at is None:
        item.read_at = utc_now()
    return item


def list_messages(
    session: Session, *, status: str | None = None, limit: int = 100
) -> list[OutboxMessage]:
    """Outbox messages, newest first, optionally of one status."""
    query = select(OutboxMessage)
    if status:
        query = query.where(OutboxMessage.status == status)
    return list(session.scalars(query.order_by(OutboxMessage.id.desc()).limit(limit)))


def requeue(session: Session, message_id: int) -> OutboxMessage:
    """Send a dead or unknown message again (an operator's decision: it may arrive twice)."""
    message = session.get(OutboxMessage, message_id)
    if message is None:
        raise NotFound(f"outbox message {message_id} does not exist")
    if message.status not in ("dead", "unknown"):
        raise Conflict(
            f"outbox message {message_id} is {message.status}; only dead or unknown"
            " messages can be re-queued"
        )
    message.status = "pending"
    message.attempts = 0
    message.next_attempt_at = utc_now()
    return message
