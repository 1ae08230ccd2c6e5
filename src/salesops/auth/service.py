"""Users, sign-in, browser sessions and API tokens (services: session first, never commit)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, delete, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import InstrumentedAttribute, Session

from salesops.auth import passwords, tokens
from salesops.db.types import as_utc, utc_now
from salesops.errors import Conflict, NotFound, PermissionDenied, Problem, ValidationFailed
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


def parse_role(role: str) -> Role:
    """The Role called `role`, or a validation error listing the roles."""
    try:
        return Role(role.strip().lower())
    except ValueError:
        known = ", ".join(r.value for r in Role)
        raise ValidationFailed(
            "unknown role", [Problem(f"{role!r} is not one of {known}", "role")]
        ) from None


def get_user(session: Session, username: str) -> User:
    """The user called `username`."""
    user = session.scalar(select(User).where(User.username == username.strip()))
    if user is None:
        raise NotFound(f"user {username!r} does not exist")
    return user


def list_users(session: Session) -> list[User]:
    """Every user, by username."""
    return list(session.scalars(select(User).order_by(User.username)))


def create_user(
    session: Session,
    username: str,
    *,
    role: str,
    password: str | None = None,
    email: str | None = None,
    full_name: str | None = None,
) -> User:
    """Create a user; without a password they can only use API tokens until one is set."""
    username = username.strip()
    if not username or len(username) > 80 or any(c.isspace() for c in username):
        raise ValidationFailed(
            "invalid username", [Problem("1 to 80 characters, no spaces", "username")]
        )
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"user {username!r} already exists")
    user = User(
        username=username,
        role=parse_role(role).value,
        password_hash=passwords.hash_password(password) if password else None,
        email=email,
        full_name=full_name,
    )
    session.add(user)
    session.flush()
    return user


def set_password(session: Session, user: User, password: str) -> User:
    """Replace the user's password and sign out their browser sessions."""
    user.password_hash = passwords.hash_password(password)
    session.execute(delete(WebSession).where(WebSession.user_id == user.id))
    return user


def set_role(session: Session, user: User, role: str) -> User:
    """Give `user` another role (takes effect on their next request)."""
    user.role = parse_role(role).value
    return user


def disable_user(session: Session, user: User) -> User:
    """Disable `user`: sessions end, tokens stop working, sign-in is refused."""
    user.is_active = False
    session.execute(delete(WebSession).where(WebSession.user_id == user.id))
    return user


def enable_user(session: Session, user: User) -> User:
    """Allow a disabled user to sign in again."""
    user.is_active = True
    return user


def user_by_id(session: Session, user_id: int) -> User:
    """The user with id `user_id`, or NotFound."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id} does not exist")
    return user


def guard_self_change(actor: User, user: User, *, role: str | None, is_active: bool | None) -> None:
    """Refuse an admin disabling or demoting their own account (they would lock themselves out).

    `role`/`is_active` are the requested new values; None means "unchanged".
    """
    if user.id == actor.id and (is_active is False or role not in (None, Role.ADMIN)):
        raise PermissionDenied("you cannot disable or demote yourself")


# --- sign-in ---------------------------------------------------------------------------------


def _recent_failures(
    session: Session, column: InstrumentedAttribute[Any], value: str, now: datetime
) -> list[datetime]:
    return list(
        session.scalars(
            select(LoginAttempt.at)
            .where(
                column == value,
                LoginAttempt.succeeded.is_(False),
                LoginAttempt.at > now - THROTTLE_WINDOW,
            )
            .order_by(LoginAttempt.at)
        )
    )


def check_throttle(session: Session, username: str, ip: str | None, *, now: datetime) -> None:
    """Refuse a sign-in attempt while too many recent ones failed (per username and per IP)."""
    for column, value, limit in (
        (LoginAttempt.username, username, MAX_FAILURES_PER_USERNAME),
        (LoginAttempt.ip, ip, MAX_FAILURES_PER_IP),
    ):
        if value is None:
            continue
        failures = _recent_failures(session, column, value, now)
        if len(failures) >= limit:
            # Locked until the oldest failure that counts leaves the window.
            unlock = as_utc(failures[-limit]) + THROTTLE_WINDOW
            raise TooManyAttempts(max(1, int((unlock - now).total_seconds()) + 1))


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


def create_token(session: Session, user: User, *, name: str = "") -> NewToken:
    """Create an API token for `user`."""
    if not user.is_active:
        raise Conflict(f"user {user.username!r} is disabled")
    secret = tokens.new_secret(tokens.API_TOKEN_PREFIX)
    record = ApiToken(user_id=user.id, name=name.strip()[:80], token_hash=tokens.digest(secret))
    session.add(record)
    session.flush()
    return NewToken(secret, record)


def list_tokens(session: Session, *, user: User | None = None) -> list[ApiToken]:
    """API tokens (of one user, or everyone's), newest first."""
    query = select(ApiToken).order_by(ApiToken.id.desc())
    if user is not None:
        query = query.where(ApiToken.user_id == user.id)
    return list(session.scalars(query))


def revoke_token(
    session: Session, token_id: int, *, now: datetime | None = None, by: User | None = None
) -> ApiToken:
    """Revoke token `token_id` (idempotent).

    With `by`, only the token's owner or an admin may; anyone else is told it does not exist
    (so token ids of other users are not revealed).
    """
    record = session.get(ApiToken, token_id)
    if record is None or (by is not None and record.user_id != by.id and by.role != Role.ADMIN):
        raise NotFound(f"API token {token_id} does not exist")
    if record.revoked_at is None:
        record.revoked_at = now or utc_now()
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
