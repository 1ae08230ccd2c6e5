"""Known sign-ins for the demo company: one user of every role, with one shared password.

The password is public (it is in the README), so these sign-ins are only ever created on a
database that `salesops demo` built and into which nothing was imported since: the demo
generator leaves a `demo_builds` row, real data never has one, and imported rows carry the
`source_system` they came from (the demo writes none).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from salesops.auth import passwords
from salesops.auth import service as auth
from salesops.errors import PermissionDenied
from salesops.models import Base, DemoBuild, Imported, Opportunity, Rep, Role, User

DEMO_PASSWORD = "salesops-demo"
VIA = "demo-logins"
STAFF = (
    (Role.ADMIN, "admin", "users, settings, audit log; reads everything"),
    (Role.DIRECTOR, "director", "everything"),
    (Role.ANALYST, "analyst", "reads everything; changes nothing"),
    (Role.OPS_REP, "ops", "reads everything; maintains data and plans"),
)


class NotTheDemoCompany(PermissionDenied):
    """Demo sign-ins (a public password) asked for on a database that is not the demo."""


@dataclass(frozen=True)
class DemoLogin:
    role: str
    username: str
    sees: str


def imported_sources(session: Session) -> dict[str, int]:
    """Rows per source system that came from an import (the demo generator writes none)."""
    found: dict[str, int] = {}
    for mapper in sorted(Base.registry.mappers, key=lambda m: m.class_.__name__):
        model = mapper.class_
        if not issubclass(model, Imported):
            continue
        column = model.source_system
        rows = session.execute(
            select(column, func.count()).where(column.is_not(None)).group_by(column)
        )
        for system, count in rows.tuples():
            name = str(system)
            found[name] = found.get(name, 0) + count
    return found


def require_demo_company(session: Session) -> DemoBuild:
    """The mark of the demo build, or a refusal saying why this database is not the demo."""
    build = session.scalar(select(DemoBuild).order_by(DemoBuild.id.desc()).limit(1))
    if build is None:
        raise NotTheDemoCompany(
            "this database was not built by `salesops demo`, so no demo sign-ins were created "
            "(they share a public password); sign in with your own users, or create one with "
            "`salesops users create NAME --role admin`"
        )
    sources = imported_sources(session)
    if sources:
        listed = ", ".join(f"{count:,} from {name}" for name, count in sorted(sources.items()))
        raise NotTheDemoCompany(
            f"this demo database also holds imported data ({listed}), so no demo sign-ins "
            "were created (they share a public password); manage users with `salesops users`"
        )
    return build


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
    """Create or reset the demo sign-ins and return them, most privileged first.

    Refuses (NotTheDemoCompany) unless this database is the demo company; every change is
    audited.
    """
    require_demo_company(session)
    logins: list[DemoLogin] = []
    for role, username, sees in STAFF:
        existing = session.scalar(select(User).where(User.username == username))
        if existing is None:
            auth.create_user(session, username, role=role.value, password=password, via=VIA)
        elif not passwords.verify_password(existing.password_hash, password):
            auth.update_user(
                session, existing, role=role.value, is_active=True, password=password, via=VIA
            )
        else:
            auth.update_user(session, existing, role=role.value, is_active=True, via=VIA)
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
        if not passwords.verify_password(user.password_hash, password):
            auth.set_password(session, user, password, via=VIA)
        logins.append(DemoLogin(role.value, user.username, f"{sees} ({rep.name})"))
    return logins
