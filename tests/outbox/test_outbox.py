"""The outbox: messages commit with their cause, leave through real SMTP and HTTP, are
retried with backoff, given up on, and never sent twice."""

from __future__ import annotations

import hashlib
import hmac
import threading
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select, update

from salesops import outbox
from salesops.config import Settings
from salesops.db.engine import session_scope
from salesops.db.types import utc_now
from salesops.errors import Conflict, NotFound, ValidationFailed
from salesops.models import InboxItem, OutboxMessage, User
from tests.netfakes import http_server, smtp_server

# Messages are due from when they are written; the tests' clock starts just after that.
T0 = utc_now() + timedelta(minutes=1)


@pytest.fixture(autouse=True)
def _clock_starts_with_the_test() -> None:
    """T0 a minute after each test starts (messages are enqueued at the real time): set at
    import, it fell behind them when the suite reached these tests minutes later."""
    global T0
    T0 = utc_now() + timedelta(minutes=1)


def _statuses(engine: Engine) -> dict[int, str]:
    with session_scope(engine) as session:
        return dict(session.execute(select(OutboxMessage.id, OutboxMessage.status)).all())


def test_a_message_written_in_a_rolled_back_change_is_never_sent(db: Engine) -> None:
    def failing_change() -> None:
        with session_scope(db) as session:
            outbox.enqueue_email(session, "a@example.com", "hello", "body")
            raise RuntimeError("the change failed")

    with pytest.raises(RuntimeError):
        failing_change()
    assert _statuses(db) == {}


def test_bad_addresses_and_urls_are_refused(db: Engine) -> None:
    with session_scope(db) as session:
        with pytest.raises(ValidationFailed, match="not an e-mail address"):
            outbox.enqueue_email(session, "nobody", "s", "b")
        with pytest.raises(ValidationFailed, match="one line"):
            outbox.enqueue_email(session, "a@example.com", "s\nBcc: x@example.com", "b")
        with pytest.raises(ValidationFailed, match="http"):
            outbox.enqueue_webhook(session, "file:///etc/passwd", {})


def test_email_goes_out_through_smtp_once(db: Engine) -> None:
    with smtp_server() as (port, box):
        settings = Settings(smtp_host="127.0.0.1", smtp_port=port, mail_from="so@example.com")
        with session_scope(db) as session:
            message = outbox.enqueue_email(session, "rep@example.com", "Renewal due", "Acme renews")
            again = outbox.enqueue_email(session, "rep@example.com", "x", "y", key="k")
            same = outbox.enqueue_email(session, "rep@example.com", "z", "w", key="k")
            assert again.id == same.id
        report = outbox.deliver_due(db, settings)
        assert sorted(report.sent) == sorted([message.id, again.id])
        assert outbox.deliver_due(db, settings).sent == []
    assert len(box.messages) == 2
    first = next(m for m in box.messages if "Renewal due" in m["data"])
    assert first["to"] == ["rep@example.com"]
    assert first["from"] == "so@example.com"
    assert f"Message-ID: <outbox-{message.id}@salesops>" in first["data"]
    assert "Acme renews" in first["data"]


def test_a_refused_recipient_is_dead_at_once(db: Engine) -> None:
    with smtp_server() as (port, box):
        box.refuse.add("gone@example.com")
        with session_scope(db) as session:
            message = outbox.enqueue_email(session, "gone@example.com", "s", "b")
        report = outbox.deliver_due(db, Settings(smtp_host="127.0.0.1", smtp_port=port))
    assert report.dead == [message.id]


def test_a_webhook_is_retried_with_backoff_then_delivered_once_signed(db: Engine) -> None:
    with http_server() as (base, hooks):
        hooks.statuses = [503, 503]
        settings = Settings(webhook_secret="s3cret")
        with session_scope(db) as session:
            message = outbox.enqueue_webhook(
                session, f"{base}/hook", {"contract": 7}, event="contract.signed"
            )
        assert outbox.deliver_due(db, settings, now=lambda: T0).retrying == [message.id]
        # 30 s after the first failure, then 2 min after the second.
        assert (
            outbox.deliver_due(db, settings, now=lambda: T0 + timedelta(seconds=29)).retrying == []
        )
        assert outbox.deliver_due(
            db, settings, now=lambda: T0 + timedelta(seconds=30)
        ).retrying == [message.id]
        assert outbox.deliver_due(db, settings, now=lambda: T0 + timedelta(seconds=149)).sent == []
        assert outbox.deliver_due(db, settings, now=lambda: T0 + timedelta(seconds=150)).sent == [
            message.id
        ]
        assert outbox.deliver_due(db, settings, now=lambda: T0 + timedelta(days=1)).sent == []
    assert [r["status"] for r in hooks.requests] == [503, 503, 200]
    last = hooks.requests[-1]
    assert last["body"] == {"event": "contract.signed", "id": message.id, "data": {"contract": 7}}
    assert last["headers"]["Idempotency-Key"] == f"salesops-outbox-{message.id}"
    expected = hmac.new(b"s3cret", last["raw"], hashlib.sha256).hexdigest()
    assert last["headers"]["X-Salesops-Signature"] == f"sha256={expected}"
    with session_scope(db) as session:
        row = session.get(OutboxMessage, message.id)
        assert row is not None
        assert (row.status, row.attempts) == ("sent", 3)


def test_a_client_error_is_not_retried_and_too_many_failures_give_up(db: Engine) -> None:
    with http_server() as (base, hooks):
        hooks.statuses = [400, 500, 500]
        with session_scope(db) as session:
            refused = outbox.enqueue_webhook(session, f"{base}/a", {})
        assert outbox.deliver_due(db, Settings(), now=lambda: T0).dead == [refused.id]
        with session_scope(db) as session:
            flaky = outbox.enqueue_webhook(session, f"{base}/b", {})
            session.get(OutboxMessage, flaky.id).max_attempts = 2  # type: ignore[union-attr]
        outbox.deliver_due(db, Settings(), now=lambda: T0)
        report = outbox.deliver_due(db, Settings(), now=lambda: T0 + timedelta(minutes=1))
    assert report.dead == [flaky.id]
    assert len(hooks.requests) == 3


def test_a_message_whose_worker_died_mid_send_is_not_sent_again_until_requeued(db: Engine) -> None:
    with http_server() as (base, hooks):
        with session_scope(db) as session:
            message = outbox.enqueue_webhook(session, f"{base}/a", {})
            # As a worker leaves it: claimed and committed, then the process died.
            session.execute(
                update(OutboxMessage).values(status="sending", claimed_at=T0, attempts=1)
            )
        report = outbox.deliver_due(db, Settings(), now=lambda: T0 + outbox.CLAIM_TIMEOUT * 2)
        assert report.unknown == [message.id]
        assert report.sent == []
        assert hooks.requests == []
        with session_scope(db) as session:
            outbox.requeue(session, message.id)
            with pytest.raises(Conflict):
                outbox.requeue(session, message.id)
        assert outbox.deliver_due(db, Settings()).sent == [message.id]
    assert len(hooks.requests) == 1


def test_two_deliverers_at_once_send_each_message_once(db: Engine) -> None:
    with http_server() as (base, hooks):
        with session_scope(db) as session:
            ids = [outbox.enqueue_webhook(session, f"{base}/h", {"n": n}).id for n in range(10)]
        threads = [
            threading.Thread(target=outbox.deliver_due, args=(db, Settings())) for _ in range(2)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sorted(r["body"]["id"] for r in hooks.requests) == ids
    assert set(_statuses(db).values()) == {"sent"}


def test_notify_fills_the_inbox_and_queues_an_email(db: Engine) -> None:
    with session_scope(db) as session:
        user = User(username="inbox-user", email="me@example.com", role="manager")
        session.add(user)
        session.flush()
        item = outbox.notify(
            session, user, "Approve contract 7", "Discount 30 %", link="/contracts/7", key="a7"
        )
        again = outbox.notify(session, user, "Approve contract 7", key="a7")
        assert again.id == item.id
        assert [i.subject for i in outbox.inbox(session, user, unread_only=True)] == [
            "Approve contract 7"
        ]
        outbox.mark_read(session, user, item.id)
        assert outbox.inbox(session, user, unread_only=True) == []
        other = User(username="other-user", role="sales_rep")
        session.add(other)
        session.flush()
        with pytest.raises(NotFound):
            outbox.mark_read(session, other, item.id)
        mail = session.scalars(select(OutboxMessage)).one()
        assert (mail.recipient, mail.key) == ("me@example.com", "a7:email")
        assert mail.body == "Discount 30 %\n\n/contracts/7"
        session.delete(session.get(InboxItem, item.id))
        session.delete(other)
        session.delete(user)
