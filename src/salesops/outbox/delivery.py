"""Sending due outbox messages: claim and commit, send, record the result."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import smtplib
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate

from sqlalchemy import Engine, select, update

from salesops.config import Settings
from salesops.db.engine import session_scope
from salesops.db.types import utc_now
from salesops.models import OutboxMessage

log = logging.getLogger("salesops.outbox")

# A message still `sending` this long after its claim belongs to a worker that died.
CLAIM_TIMEOUT = timedelta(minutes=10)
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=6)
NETWORK_TIMEOUT_S = 10.0


class PermanentFailure(Exception):
    """The receiver refused the message for good (e.g. HTTP 400): retrying cannot help."""


@dataclass
class DeliveryReport:
    """What one delivery pass did, by message id."""

    sent: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    dead: list[int] = field(default_factory=list)
    unknown: list[int] = field(default_factory=list)


def backoff(attempts: int) -> timedelta:
    """Wait before attempt `attempts + 1`: 30 s, 2 min, 8 min, 32 min, ... capped at 6 h."""
    return min(BACKOFF_BASE * int(4 ** max(attempts - 1, 0)), BACKOFF_CAP)


def _send_email(message: OutboxMessage, settings: Settings) -> None:
    if not settings.smtp_host:
        raise RuntimeError("no SMTP server is configured (SALESOPS_SMTP_HOST)")
    mail = EmailMessage()
    mail["From"] = settings.mail_from
    mail["To"] = message.recipient
    mail["Subject"] = message.subject
    mail["Date"] = formatdate(usegmt=True)
    # Stable per message: a receiver that sees it twice can tell it is one message.
    mail["Message-ID"] = f"<outbox-{message.id}@salesops>"
    mail.set_content(message.body)
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=NETWORK_TIMEOUT_S) as smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_username:
            smtp.login(settings.smtp_username, settings.smtp_password or "")
        try:
            smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            raise PermanentFailure(f"recipient refused: {exc.recipients}") from exc


def _send_webhook(message: OutboxMessage, settings: Settings) -> None:
    body = json.dumps(
        {"event": message.subject, "id": message.id, "data": message.payload or {}},
        sort_keys=True,
        separators=(",", ":"),
    ).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "salesops-outbox",
        "Idempotency-Key": f"salesops-outbox-{message.id}",
    }
    if settings.webhook_secret:
        digest = hmac.new(settings.webhook_secret.encode(), body, hashlib.sha256).hexdigest()
        headers["X-Salesops-Signature"] = f"sha256={digest}"
    request = urllib.request.Request(message.recipient, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=NETWORK_TIMEOUT_S) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        # 408 and 429 say "later"; 5xx may pass; any other 4xx will fail the same way again.
        if 400 <= exc.code < 500 and exc.code not in (408, 429):
            raise PermanentFailure(f"HTTP {exc.code} {exc.reason}") from exc
        raise RuntimeError(f"HTTP {exc.code} {exc.reason}") from exc


SENDERS: dict[str, Callable[[OutboxMessage, Settings], None]] = {
    "email": _send_email,
    "webhook": _send_webhook,
}


def _mark_abandoned(engine: Engine, now: datetime, report: DeliveryReport) -> None:
    with session_scope(engine, write=True) as session:
        stale = list(
            session.scalars(
                select(OutboxMessage.id).where(
                    OutboxMessage.status == "sending",
                    OutboxMessage.claimed_at < now - CLAIM_TIMEOUT,
                )
            )
        )
        if stale:
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(stale), OutboxMessage.status == "sending")
                .values(status="unknown", last_error="the worker stopped while sending")
            )
            report.unknown.extend(stale)


def _claim(engine: Engine, now: datetime) -> OutboxMessage | None:
    with session_scope(engine, write=True) as session:
        message = session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now)
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        ).first()
        if message is None:
            return None
        message.status = "sending"
        message.claimed_at = now
        message.attempts += 1
        return message


def _record(engine: Engine, message: OutboxMessage, error: Exception | None, now: datetime) -> str:
    with session_scope(engine, write=True) as session:
        row = session.get(OutboxMessage, message.id)
        assert row is not None
        if error is None:
            row.status, row.sent_at, row.last_error = "sent", now, None
        elif isinstance(error, PermanentFailure) or row.attempts >= row.max_attempts:
            row.status, row.last_error = "dead", str(error)[:2000]
        else:
            row.status, row.last_error = "pending", str(error)[:2000]
            row.next_attempt_at = now + backoff(row.attempts)
        return row.status


def deliver_due(
    engine: Engine,
    settings: Settings,
    *,
    limit: int = 100,
    now: Callable[[], datetime] = utc_now,
) -> DeliveryReport:
    """Send up to `limit` due messages; each is committed as `sending` before it leaves."""
    report = DeliveryReport()
    _mark_abandoned(engine, now(), report)
    for _ in range(limit):
        message = _claim(engine, now())
        if message is None:
            break
        error: Exception | None = None
        try:
            SENDERS[message.channel](message, settings)
        except Exception as exc:  # any failure to send is recorded on the message
            error = exc
            log.warning("outbox message %s (%s) failed: %s", message.id, message.channel, exc)
        status = _record(engine, message, error, now())
        {"sent": report.sent, "pending": report.retrying, "dead": report.dead}[status].append(
            message.id
        )
    return report
