"""Managing users: every change of a user, a role, an access or a password is audited here.

The audit entry is written by these services rather than by their callers, so no interface
(CLI, API, dashboard, the demo sign-ins) can change a user without leaving a record. `by` is
the signed-in user making the change (None from the command line, which has no sign-in) and
`via` names the interface.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from salesops.audit import service as audit
from salesops.auth import passwords
from salesops.crm import versioning
from salesops.db.types import utc_now
from salesops.errors import Conflict, NotFound, PermissionDenied, Problem, ValidationFailed
from salesops.models import ApiToken, Role, User, WebSession

HIDDEN = "***"  # what the audit log shows instead of a password


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


def user_by_id(session: Session, user_id: int) -> User:
    """The user with id `user_id`, or NotFound."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id} does not exist")
    return user


def list_users(session: Session) -> list[User]:
    """Every user, by username."""
    return list(session.scalars(select(User).order_by(User.username)))


def values_of(user: User) -> dict[str, Any]:
    """The audited fields of a user (never the password hash)."""
    return {
        "username": user.username,
        "role": user.role,
        "is_active": user.is_active,
        "email": user.email,
        "full_name": user.full_name,
    }


def record(
    session: Session,
    user: User,
    action: str,
    changes: dict[str, Any],
    *,
    by: User | None,
    via: str,
) -> None:
    """Append an audit entry about `user` (the interface goes with the changes)."""
    record_access(session, "user", user.id, action, changes, by=by, via=via)


def record_access(
    session: Session,
    entity: str,
    entity_id: int,
    action: str,
    changes: dict[str, Any],
    *,
    by: User | None,
    via: str,
) -> None:
    """Append an audit entry about a user or a credential, naming the interface used."""
    audit.record(
        session,
        user_id=by.id if by is not None else None,
        action=action,
        entity=entity,
        entity_id=entity_id,
        changes={**changes, "via": via},
    )


def create_user(
    session: Session,
    username: str,
    *,
    role: str,
    password: str | None = None,
    email: str | None = None,
    full_name: str | None = None,
    by: User | None = None,
    via: str = "cli",
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
    changes = audit.diff({}, values_of(user))
    if password:
        changes["password"] = {"old": None, "new": HIDDEN}
    record(session, user, "create", changes, by=by, via=via)
    return user


def _end_access(session: Session, user: User) -> None:
    """Sign `user` out everywhere and revoke their API tokens for good."""
    session.execute(delete(WebSession).where(WebSession.user_id == user.id))
    session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utc_now())
    )


def update_user(
    session: Session,
    user: User,
    *,
    role: str | None = None,
    is_active: bool | None = None,
    password: str | None = None,
    email: str | None = None,
    full_name: str | None = None,
    by: User | None = None,
    via: str = "cli",
    expected: Sequence[versioning.Expected | None] = (),
) -> User:
    """Change what is given (None leaves a field alone) and record it in one audit entry.

    `expected`: the version(s) the change is based on (API `If-Match` or body `version`, the
    admin form's hidden field); a stale one is refused before anything changes.

    Disabling ends the user's sessions and revokes their API tokens: enabling them again
    later gives back sign-in only, never the old tokens. A new password signs out their
    browser sessions. An empty `email` or `full_name` clears it.
    """
    if by is not None:
        guard_self_change(by, user, role=role, is_active=is_active)
    versioning.check(user, "user", *expected)
    before = values_of(user)
    if role is not None:
        user.role = parse_role(role).value
    if is_active is not None and is_active != user.is_active:
        user.is_active = is_active
        if not is_active:
            _end_access(session, user)
    if email is not None:
        user.email = email or None
    if full_name is not None:
        user.full_name = full_name or None
    changes = audit.diff(before, values_of(user))
    if password is not None:
        old = HIDDEN if user.password_hash else None
        user.password_hash = passwords.hash_password(password)
        session.execute(delete(WebSession).where(WebSession.user_id == user.id))
        changes["password"] = {"old": old, "new": HIDDEN}
    if changes:
        record(session, user, "update", changes, by=by, via=via)
    versioning.flush(session, "user", user.id)
    return user


def set_password(
    session: Session, user: User, password: str, *, by: User | None = None, via: str = "cli"
) -> User:
    """Replace the user's password and sign out their browser sessions."""
    return update_user(session, user, password=password, by=by, via=via)


def set_role(
    session: Session, user: User, role: str, *, by: User | None = None, via: str = "cli"
) -> User:
    """Give `user` another role (takes effect on their next request)."""
    return update_user(session, user, role=role, by=by, via=via)


def disable_user(session: Session, user: User, *, by: User | None = None, via: str = "cli") -> User:
    """Disable `user`: sessions end, tokens are revoked, sign-in is refused."""
    return update_user(session, user, is_active=False, by=by, via=via)


def enable_user(session: Session, user: User, *, by: User | None = None, via: str = "cli") -> User:
    """Allow a disabled user to sign in again (their revoked tokens stay revoked)."""
    return update_user(session, user, is_active=True, by=by, via=via)


def guard_self_change(actor: User, user: User, *, role: str | None, is_active: bool | None) -> None:
    """Refuse an admin disabling or demoting their own account (they would lock themselves out).

    `role`/`is_active` are the requested new values; None means "unchanged".
    """
    if user.id == actor.id and (is_active is False or role not in (None, Role.ADMIN)):
        raise PermissionDenied("you cannot disable or demote yourself")
