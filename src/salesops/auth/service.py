"""Users, sign-in, browser sessions and API tokens (services: session first, never commit)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, delete, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from salesops.audit import service as audit
from salesops.auth import passwords, tokens, users
from salesops.auth.users import (
    create_user,
    disable_user,
    enable_user,
    get_user,
    guard_self_change,
    list_users,
    parse_role,
    set_password,
    set_role,
    update_user,
    user_by_id,
)
from salesops.db.types import as_utc, utc_now
from salesops.errors import Conflict, NotFound, PermissionDenied
from salesops.models import ApiToken, LoginAttempt, Role, User, WebSession

SESSION_LIFETIME = timedelta(hours=12)
THROTTLE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_USERNAME = 5
MAX_FAILURES_PER_IP = 30


class TooManyAttempts(PermissionDenied):
    """Sign-in is refused for a while after repeated failures."""

    http_status = 429

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed sign-ins; try again in {retry_after} seconds")
        self.retry_after = retry_after


# --- sign-in ---------------------------------------------------------------------------------


def _recent_failures(session: Session, *conditions: Any, now: datetime) -> list[datetime]:
    return list(
        session.scalars(
            select(LoginAttempt.at)
            .where(
                *conditions,
                LoginAttempt.succeeded.is_(False),
                LoginAttempt.cleared_at.is_(None),
                LoginAttempt.at > now - THROTTLE_WINDOW,
            )
            .order_by(LoginAttempt.at)
        )
    )


def _same_source(ip: str | None) -> Any:
    return LoginAttempt.ip.is_(None) if ip is None else LoginAttempt.ip == ip


def check_throttle(session: Session, username: str, ip: str | None, *, now: datetime) -> None:
    """Refuse a sign-in attempt while too many recent ones failed.

    A username is locked per source address: five wrong passwords from one address lock that
    address out of that username, not its owner signing in from elsewhere (otherwise anyone
    could lock the admin out by typing five wrong passwords). An address that fails for many
    usernames is locked out altogether. An admin can clear both (`unlock`).
    """
    for conditions, limit in (
        ((LoginAttempt.username == username, _same_source(ip)), MAX_FAILURES_PER_USERNAME),
        ((LoginAttempt.ip == ip,) if ip is not None else (), MAX_FAILURES_PER_IP),
    ):
        if not conditions:
            continue
        failures = _recent_failures(session, *conditions, now=now)
        if len(failures) >= limit:
            # Locked until the oldest failure that counts leaves the window.
            unlock = as_utc(failures[-limit]) + THROTTLE_WINDOW
            raise TooManyAttempts(max(1, int((unlock - now).total_seconds()) + 1))


def unlock(
    session: Session,
    username: str,
    *,
    ip: str | None = None,
    by: User | None = None,
    via: str = "cli",
    now: datetime | None = None,
) -> int:
    """Clear the recent failed sign-ins of `username` (from `ip` only, when given) so they no
    longer lock it; the attempts stay on record and the unlock is audited. Returns how many
    failures were cleared."""
    now = now or utc_now()
    username = username.strip()
    conditions = [
        LoginAttempt.username == username,
        LoginAttempt.succeeded.is_(False),
        LoginAttempt.cleared_at.is_(None),
    ]
    if ip is not None:
        conditions.append(LoginAttempt.ip == ip)
    result = session.execute(update(LoginAttempt).where(*conditions).values(cleared_at=now))
    cleared = int(getattr(result, "rowcount", 0) or 0)
    user = session.scalar(select(User).where(User.username == username))
    audit.record(
        session,
        user_id=by.id if by is not None else None,
        action="unlock",
        entity="user",
        entity_id=user.id if user is not None else username,
        changes={
            "failed_sign_ins_cleared": {"old": cleared, "new": 0},
            "source": ip or "any",
            "via": via,
        },
        at=now,
    )
    return cleared


def authenticate(
    session: Session, username: str, password: str, *, ip: str | None, now: datetime | None = None
) -> User:
    """The active user with this username and password; every attempt is recorded."""
    now = now or utc_now()
    username = username.strip()[:80]
    check_throttle(session, username, ip, now=now)
    user = session.scalar(select(User).where(User.username == username))
    ok = passwords.verify_password(user.password_hash if user else None, password)
    ok = ok and user is not None and user.is_active
    session.add(LoginAttempt(username=username, ip=ip, at=now, succeeded=ok))
    session.flush()
    if not ok or user is None:
        raise PermissionDenied("wrong username or password")
    if user.password_hash and passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    return user


def authenticate_admin(
    session: Session, username: str, password: str, *, ip: str | None, purpose: str
) -> User:
    """Like `authenticate`, then refuse anyone but an admin (for `purpose`)."""
    user = authenticate(session, username, password, ip=ip)
    if user.role != Role.ADMIN:
        raise PermissionDenied(f"{purpose} is for admins; {user.username} is {user.role}")
    return user


@dataclass(frozen=True)
class NewSession:
    """A session just opened: `cookie` goes to the browser once and is never stored."""

    cookie: str
    record: WebSession


def open_session(
    session: Session, user: User, *, ip: str | None = None, now: datetime | None = None
) -> NewSession:
    """Open a browser session for `user`."""
    now = now or utc_now()
    cookie = tokens.new_secret()
    record = WebSession(
        token_hash=tokens.digest(cookie),
        user_id=user.id,
        csrf_token=tokens.new_secret(),
        created_at=now,
        expires_at=now + SESSION_LIFETIME,
        last_seen_at=now,
        ip=ip,
    )
    session.add(record)
    # Expired sessions are swept here rather than by a scheduler nobody would run.
    session.execute(delete(WebSession).where(WebSession.expires_at < now))
    session.flush()
    return NewSession(cookie, record)


def resolve_session(
    session: Session, cookie: str, *, now: datetime | None = None
) -> tuple[WebSession, User] | None:
    """The live session and active user behind a session cookie, if any."""
    now = now or utc_now()
    record = session.scalar(
        select(WebSession).where(WebSession.token_hash == tokens.digest(cookie))
    )
    if record is None or as_utc(record.expires_at) <= now:
        return None
    user = session.get(User, record.user_id)
    if user is None or not user.is_active:
        return None
    if now - as_utc(record.last_seen_at) > timedelta(minutes=5):
        _touch(session, WebSession, record.id, "last_seen_at", now)
    return record, user


def close_session(session: Session, cookie: str) -> None:
    """Sign out: the session cookie stops working."""
    session.execute(delete(WebSession).where(WebSession.token_hash == tokens.digest(cookie)))


# --- API tokens ------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewToken:
    """A token just created: `secret` is shown once; only its digest is kept."""

    secret: str
    record: ApiToken


def _audit_token(
    session: Session,
    record: ApiToken,
    action: str,
    changes: dict[str, Any],
    *,
    by: User | None,
    via: str,
) -> None:
    users.record_access(
        session,
        "api_token",
        record.id,
        action,
        {**changes, "user_id": record.user_id},
        by=by,
        via=via,
    )


def create_token(
    session: Session, user: User, *, name: str = "", by: User | None = None, via: str = "cli"
) -> NewToken:
    """Create an API token for `user` (audited; `by` made the request)."""
    if not user.is_active:
        raise Conflict(f"user {user.username!r} is disabled")
    secret = tokens.new_secret(tokens.API_TOKEN_PREFIX)
    record = ApiToken(user_id=user.id, name=name.strip()[:80], token_hash=tokens.digest(secret))
    session.add(record)
    session.flush()
    _audit_token(
        session, record, "create", {"name": {"old": None, "new": record.name}}, by=by, via=via
    )
    return NewToken(secret, record)


def list_tokens(session: Session, *, user: User | None = None) -> list[ApiToken]:
    """API tokens (of one user, or everyone's), newest first."""
    query = select(ApiToken).order_by(ApiToken.id.desc())
    if user is not None:
        query = query.where(ApiToken.user_id == user.id)
    return list(session.scalars(query))


def revoke_token(
    session: Session,
    token_id: int,
    *,
    now: datetime | None = None,
    by: User | None = None,
    via: str = "cli",
) -> ApiToken:
    """Revoke token `token_id` (idempotent; audited when it changes anything).

    With `by`, only the token's owner or an admin may; anyone else is told it does not exist
    (so token ids of other users are not revealed).
    """
    record = session.get(ApiToken, token_id)
    if record is None or (by is not None and record.user_id != by.id and by.role != Role.ADMIN):
        raise NotFound(f"API token {token_id} does not exist")
    if record.revoked_at is None:
        record.revoked_at = now or utc_now()
        _audit_token(session, record, "revoke", {}, by=by, via=via)
    return record


def resolve_token(session: Session, secret: str, *, now: datetime | None = None) -> User | None:
    """The active user a bearer token belongs to, unless it is unknown or revoked."""
    record = session.scalar(select(ApiToken).where(ApiToken.token_hash == tokens.digest(secret)))
    if record is None or record.revoked_at is not None:
        return None
    user = session.get(User, record.user_id)
    if user is None or not user.is_active:
        return None
    now = now or utc_now()
    if record.last_used_at is None or now - as_utc(record.last_used_at) > timedelta(minutes=1):
        _touch(session, ApiToken, record.id, "last_used_at", now)
    return user


def _touch(
    session: Session, model: type[ApiToken | WebSession], row_id: int, column: str, now: datetime
) -> None:
    """Record when a token or session was last used, outside the request's transaction.

    Bookkeeping must not turn every read into a write that holds SQLite's lock for the whole
    request (twenty concurrent readers would queue behind each other), so it is committed on
    its own short connection, and skipped when the database is busy. A session bound to one
    connection (tests, nested units of work) just updates in place.
    """
    bind = session.get_bind()
    statement = update(model).where(model.id == row_id).values({column: now})
    if not isinstance(bind, Engine):
        session.execute(statement)
        return
    try:
        with bind.connect() as connection:
            if connection.dialect.name == "sqlite":
                connection.exec_driver_sql("PRAGMA busy_timeout = 100")
            connection.execute(statement)
            connection.commit()
    except OperationalError:
        return


# User management lives in `auth.users`; callers reach it through this module as before.
__all__ = [
    "NewSession",
    "NewToken",
    "TooManyAttempts",
    "authenticate",
    "authenticate_admin",
    "check_throttle",
    "close_session",
    "create_token",
    "create_user",
    "disable_user",
    "enable_user",
    "get_user",
    "guard_self_change",
    "list_tokens",
    "list_users",
    "open_session",
    "parse_role",
    "resolve_session",
    "resolve_token",
    "revoke_token",
    "set_password",
    "set_role",
    "unlock",
    "update_user",
    "user_by_id",
]
