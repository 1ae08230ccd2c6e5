"""Passwords, sign-in throttling, sessions and API tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from salesops.auth import passwords, tokens
from salesops.auth import service as auth
from salesops.errors import Conflict, PermissionDenied, ValidationFailed
from salesops.models import ApiToken, AuditEntry, LoginAttempt

NOW = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)


def test_passwords_are_stored_as_salted_argon2id_hashes() -> None:
    first, second = passwords.hash_password("s3cret-pass"), passwords.hash_password("s3cret-pass")
    assert first.startswith("$argon2id$")
    assert first != second
    assert passwords.verify_password(first, "s3cret-pass")
    assert not passwords.verify_password(first, "s3cret-pasS")
    assert not passwords.verify_password(None, "anything")
    with pytest.raises(ValidationFailed) as exc:
        passwords.hash_password("short")
    assert exc.value.problems[0].location == "password"


def test_users_need_a_known_role_and_a_unique_username(session: Session) -> None:
    auth.create_user(session, "pat", role="analyst")
    with pytest.raises(Conflict):
        auth.create_user(session, "pat", role="analyst")
    with pytest.raises(ValidationFailed) as exc:
        auth.create_user(session, "sam", role="wizard")
    assert "sales_rep" in str(exc.value)
    with pytest.raises(ValidationFailed):
        auth.create_user(session, "two words", role="analyst")


def test_sign_in_checks_the_password_and_records_every_attempt(session: Session) -> None:
    user = auth.create_user(session, "lee", role="manager", password="right-password")
    assert auth.authenticate(session, "lee", "right-password", ip="10.0.0.1", now=NOW) is user
    with pytest.raises(PermissionDenied):
        auth.authenticate(session, "lee", "wrong-password", ip="10.0.0.1", now=NOW)
    with pytest.raises(PermissionDenied):
        auth.authenticate(session, "nobody", "whatever", ip="10.0.0.1", now=NOW)
    outcomes = session.execute(
        select(LoginAttempt.username, LoginAttempt.succeeded).order_by(LoginAttempt.id)
    ).all()
    assert outcomes == [("lee", True), ("lee", False), ("nobody", False)]
    auth.disable_user(session, user)
    with pytest.raises(PermissionDenied):
        auth.authenticate(session, "lee", "right-password", ip="10.0.0.1", now=NOW)


def test_five_failures_lock_the_username_from_that_address_for_fifteen_minutes(
    session: Session,
) -> None:
    auth.create_user(session, "kim", role="analyst", password="right-password")
    for minute in range(5):
        with pytest.raises(PermissionDenied):
            auth.authenticate(
                session, "kim", "guess", ip="10.0.0.2", now=NOW + timedelta(minutes=minute)
            )
    # Even the right password is refused from that address, so guessing cannot continue.
    with pytest.raises(auth.TooManyAttempts) as exc:
        auth.authenticate(
            session, "kim", "right-password", ip="10.0.0.2", now=NOW + timedelta(minutes=5)
        )
    assert exc.value.http_status == 429
    assert exc.value.retry_after == 10 * 60 + 1
    later = NOW + timedelta(minutes=15, seconds=1)
    assert auth.authenticate(session, "kim", "right-password", ip="10.0.0.2", now=later)


def test_wrong_passwords_from_elsewhere_do_not_lock_the_owner_out(session: Session) -> None:
    auth.create_user(session, "admin", role="admin", password="right-password")
    for minute in range(5):
        with pytest.raises(PermissionDenied):
            auth.authenticate(
                session, "admin", "guess", ip="203.0.113.9", now=NOW + timedelta(minutes=minute)
            )
    at = NOW + timedelta(minutes=5)
    with pytest.raises(auth.TooManyAttempts):
        auth.authenticate(session, "admin", "right-password", ip="203.0.113.9", now=at)
    assert auth.authenticate(session, "admin", "right-password", ip="10.0.0.3", now=at)


def test_an_address_failing_across_many_usernames_is_locked_out(session: Session) -> None:
    auth.create_user(session, "ann", role="analyst", password="right-password")
    for n in range(auth.MAX_FAILURES_PER_IP):
        with pytest.raises(PermissionDenied):
            auth.authenticate(session, f"user{n}", "guess", ip="198.51.100.7", now=NOW)
    with pytest.raises(auth.TooManyAttempts):
        auth.authenticate(session, "ann", "right-password", ip="198.51.100.7", now=NOW)


def test_an_admin_unlock_clears_the_failures_keeps_them_on_record_and_is_audited(
    session: Session,
) -> None:
    admin = auth.create_user(session, "root", role="admin", password="right-password")
    auth.create_user(session, "kim", role="analyst", password="right-password")
    for ip in ("10.0.0.2", "10.0.0.4"):
        for _ in range(5):
            with pytest.raises(PermissionDenied):
                auth.authenticate(session, "kim", "guess", ip=ip, now=NOW)
    assert auth.unlock(session, "kim", ip="10.0.0.2", by=admin, via="api", now=NOW) == 5
    assert auth.authenticate(session, "kim", "right-password", ip="10.0.0.2", now=NOW)
    with pytest.raises(auth.TooManyAttempts):
        auth.authenticate(session, "kim", "right-password", ip="10.0.0.4", now=NOW)
    assert auth.unlock(session, "kim", now=NOW) == 5
    assert auth.authenticate(session, "kim", "right-password", ip="10.0.0.4", now=NOW)
    failures = session.scalar(
        select(func.count()).where(LoginAttempt.username == "kim", ~LoginAttempt.succeeded)
    )
    assert failures == 10
    entries = session.execute(
        select(AuditEntry.user_id, AuditEntry.changes)
        .where(AuditEntry.action == "unlock")
        .order_by(AuditEntry.id)
    ).all()
    assert [(user_id, c["source"], c["via"]) for user_id, c in entries] == [
        (admin.id, "10.0.0.2", "api"),
        (None, "any", "cli"),
    ]


def test_re_enabling_a_user_does_not_revive_their_old_tokens(session: Session) -> None:
    user = auth.create_user(session, "ops2", role="ops_rep")
    created = auth.create_token(session, user, name="sync")
    assert auth.resolve_token(session, created.secret) is user
    auth.disable_user(session, user)
    assert auth.resolve_token(session, created.secret) is None
    auth.enable_user(session, user)
    assert auth.resolve_token(session, created.secret) is None
    assert created.record.revoked_at is not None or session.scalar(
        select(ApiToken.revoked_at).where(ApiToken.id == created.record.id)
    )
    fresh = auth.create_token(session, user, name="new")
    assert auth.resolve_token(session, fresh.secret) is user


def test_every_user_and_password_change_is_audited(session: Session) -> None:
    admin = auth.create_user(session, "root", role="admin", password="right-password")
    user = auth.create_user(session, "lou", role="analyst", by=admin, via="api")
    auth.set_role(session, user, "manager", by=admin, via="web")
    auth.set_password(session, user, "new-password-1")
    auth.disable_user(session, user, via="cli")
    auth.enable_user(session, user, via="cli")
    auth.enable_user(session, user, via="cli")  # no change: nothing to record
    entries = session.execute(
        select(AuditEntry.user_id, AuditEntry.action, AuditEntry.changes)
        .where(AuditEntry.entity == "user", AuditEntry.entity_id == str(user.id))
        .order_by(AuditEntry.id)
    ).all()
    summary = [
        (by, action, sorted(k for k in c if k != "via"), c["via"]) for by, action, c in entries
    ]
    assert summary == [
        (admin.id, "create", ["is_active", "role", "username"], "api"),
        (admin.id, "update", ["role"], "web"),
        (None, "update", ["password"], "cli"),
        (None, "update", ["is_active"], "cli"),
        (None, "update", ["is_active"], "cli"),
    ]
    assert entries[2][2]["password"] == {"old": None, "new": "***"}
    assert "password_hash" not in str([c for *_, c in entries])


def test_sessions_expire_and_end_on_sign_out_or_disable(session: Session) -> None:
    user = auth.create_user(session, "max", role="director")
    opened = auth.open_session(session, user, now=NOW)
    assert auth.resolve_session(session, opened.cookie, now=NOW + timedelta(hours=1))
    assert auth.resolve_session(session, opened.cookie, now=NOW + timedelta(hours=13)) is None
    assert auth.resolve_session(session, "forged", now=NOW) is None
    auth.close_session(session, opened.cookie)
    assert auth.resolve_session(session, opened.cookie, now=NOW) is None
    other = auth.open_session(session, user, now=NOW)
    auth.disable_user(session, user)
    assert auth.resolve_session(session, other.cookie, now=NOW) is None


def test_api_tokens_are_stored_hashed_and_can_be_revoked(session: Session) -> None:
    user = auth.create_user(session, "ops1", role="ops_rep")
    created = auth.create_token(session, user, name="nightly sync")
    stored = session.scalars(select(ApiToken.token_hash)).all()
    assert created.secret not in stored
    assert tokens.digest(created.secret) in stored
    assert auth.resolve_token(session, created.secret) is user
    assert created.record.last_used_at is not None
    auth.revoke_token(session, created.record.id)
    assert auth.resolve_token(session, created.secret) is None
    assert session.scalar(select(func.count()).select_from(ApiToken)) == 1
