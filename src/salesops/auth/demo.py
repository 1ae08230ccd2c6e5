"""Known sign-ins for the demo company: one user of every role, with one shared password."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from salesops.auth import service as auth
from salesops.models import Opportunity, Rep, Role, User

DEMO_PASSWORD = "salesops-demo"
STAFF = (
    (Role.ADMIN, "admin", "users, settings, audit log; reads everything"),
    (Role.DIRECTOR, "director", "everything"),
    (Role.ANALYST, "analyst", "reads everything; changes nothing"),
    (Role.OPS_REP, "ops", "reads everything; maintains data and plans"),
)


@dataclass(frozen=True)
class DemoLogin:
    role: str
    username: str
    sees: str


def _busiest_user(session: Session, role: Role) -> tuple[User, Rep] | None:
    """The user of `role` linked to the rep owning most deals (so the demo shows data)."""
    row = session.execute(
        select(User, Rep)
        .join(Rep, Rep.user_id == User.id)
        .outerjoin(Opportunity, Opportunity.owner_id == Rep.id)
        .where(User.role == role.value, User.is_active.is_(True))
        .group_by(User.id, Rep.id)
        .order_by(func.count(Opportunity.id).desc(), User.username)
        .limit(1)
    ).first()
    return (row[0], row[1]) if row else None


def ensure_demo_logins(session: Session, *, password: str = DEMO_PASSWORD) -> list[DemoLogin]:
    """Create or reset the demo sign-ins and return them, most privileged first."""
    logins: list[DemoLogin] = []
    for role, username, sees in STAFF:
        existing = session.scalar(select(User).where(User.username == username))
        if existing is None:
            auth.create_user(session, username, role=role.value, password=password)
        else:
            auth.set_role(session, existing, role.value)
            auth.enable_user(session, existing)
            auth.set_password(session, existing, password)
        logins.append(DemoLogin(role.value, username, sees))
    for role, sees in (
        (Role.MANAGER, "their team, down the hierarchy"),
        (Role.SALES_REP, "only their own deals, accounts and leads"),
    ):
        found = _busiest_user(session, role)
        if found is None:
            logins.append(DemoLogin(role.value, "(none: run `salesops demo` first)", sees))
            continue
        user, rep = found
        auth.set_password(session, user, password)
        logins.append(DemoLogin(role.value, user.username, f"{sees} ({rep.name})"))
    return logins
