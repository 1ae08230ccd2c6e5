"""Territories in the database: definitions from files, rule checks, coverage as of a date."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from salesops.audit.service import record
from salesops.auth.scoping import Scope
from salesops.errors import NotFound
from salesops.models import Account, AccountOwner, Rep, Territory, TerritoryAssignment
from salesops.territories.files import definition_model
from salesops.territories.rules import (
    AccountFacts,
    Hierarchy,
    Placement,
    TerritoryDef,
    build,
    load_definitions,
    place_all,
)

_LISTED = frozenset({"country", "region", "postal_prefix", "industry", "segment", "accounts"})


def _definition(t: Territory, parents: dict[int, str]) -> TerritoryDef:
    # Rules may have been written through the generic records API: validate, never trust.
    stored = t.rules if isinstance(t.rules, dict) else {"rules": t.rules}
    rules = stored.get("rules", {})
    if stored and not {"rules", "overlay", "covers"} & stored.keys():
        # Rules written before territory files (the demo, imports, the records API) are the
        # attributes themselves, one value each: {"region": "NA", "segment": "SMB"}.
        rules = {k: [v] if isinstance(v, str) and k in _LISTED else v for k, v in stored.items()}
    data = {
        "name": t.name,
        "parent": parents.get(t.parent_id) if t.parent_id else None,
        "overlay": stored.get("overlay", False),
        "covers": stored.get("covers", []),
        "rules": rules,
    }
    return definition_model(
        TerritoryDef, data, source=f"territory {t.id} ({t.name})", what="stored territory rules"
    )


def hierarchy(session: Session) -> Hierarchy:
    """The territory definitions stored in the database, validated."""
    rows = list(session.scalars(select(Territory).order_by(Territory.id)))
    names = {t.id: t.name for t in rows}
    return build([_definition(t, names) for t in rows], source="database")


def save_definitions(session: Session, path: Path, *, scope: Scope) -> list[Territory]:
    """Create or update the territories of definition file `path` (matched by name), audited.

    Territories absent from the file are left alone: removing one is a separate decision."""
    scope.require_planning("change territories")
    h = load_definitions(path)
    existing = {t.name: t for t in session.scalars(select(Territory))}
    saved = []
    for name, d in h.by_name.items():
        t = existing.get(name) or Territory(name=name)
        stored = {
            "overlay": d.overlay,
            "covers": d.covers,
            "rules": d.rules.model_dump(mode="json", exclude_defaults=True),
        }
        before = None if t.id is None else dict(t.rules or {})
        t.rules = stored
        session.add(t)
        saved.append(t)
        existing[name] = t
        if before != stored:
            record(
                session,
                user_id=scope.user_id,
                action="create" if before is None else "update",
                entity="territory",
                entity_id=name,
                changes={"rules": {"old": before, "new": stored}},
            )
    session.flush()
    for name, d in h.by_name.items():
        existing[name].parent_id = existing[d.parent].id if d.parent else None
    session.flush()
    return saved


def facts(account: Account) -> AccountFacts:
    return AccountFacts(
        id=account.id,
        name=account.name,
        external_id=account.external_id,
        country=account.country,
        region=account.region,
        postal_code=account.postal_code,
        industry=account.industry,
        segment=account.segment,
        employees=account.employees,
        revenue=account.annual_revenue,
    )


def all_facts(session: Session) -> list[AccountFacts]:
    return [facts(a) for a in session.scalars(select(Account).order_by(Account.id))]


@dataclass(frozen=True)
class CheckReport:
    accounts: int
    placed: dict[str, int]
    unmatched: list[AccountFacts]
    conflicts: list[tuple[AccountFacts, tuple[str, ...]]]


def check(session: Session, *, h: Hierarchy | None = None) -> CheckReport:
    """Accounts matched by no rule and accounts matched by conflicting rules."""
    h = h or hierarchy(session)
    accounts = all_facts(session)
    placements = place_all(h, accounts)
    by_id = {a.id: a for a in accounts}
    return CheckReport(
        accounts=len(accounts),
        placed=dict(sorted(Counter(p.territory for p in placements if p.territory).items())),
        unmatched=[
            by_id[p.account_id] for p in placements if p.territory is None and not p.conflicts
        ],
        conflicts=[(by_id[p.account_id], p.conflicts) for p in placements if p.conflicts],
    )


def _live(
    valid_from: InstrumentedAttribute[date],
    valid_to: InstrumentedAttribute[date | None],
    as_of: date,
) -> ColumnElement[bool]:
    return and_(valid_from <= as_of, or_(valid_to.is_(None), valid_to > as_of))


@dataclass(frozen=True)
class TerritoryView:
    name: str
    parent: str | None
    overlay: bool
    covers: list[str]
    rules: dict[str, object]
    as_of: date
    reps: list[tuple[int, str, date, date | None]]
    accounts: list[tuple[int, str, str | None]]  # id, name, owner's name on as_of


def show(session: Session, name: str, *, as_of: date, scope: Scope) -> TerritoryView:
    """A territory as of `as_of`: its rules, the reps covering it then and its accounts."""
    h = hierarchy(session)
    if name not in h.by_name:
        raise NotFound(f"territory {name!r} does not exist")
    d = h.by_name[name]
    territory = session.scalars(select(Territory).where(Territory.name == name)).one()
    reps = session.execute(
        select(Rep.id, Rep.name, TerritoryAssignment.valid_from, TerritoryAssignment.valid_to)
        .join(Rep, Rep.id == TerritoryAssignment.rep_id)
        .where(
            TerritoryAssignment.territory_id == territory.id,
            _live(TerritoryAssignment.valid_from, TerritoryAssignment.valid_to, as_of),
        )
        .order_by(Rep.name)
    ).all()
    placements: dict[int, Placement] = {p.account_id: p for p in place_all(h, all_facts(session))}
    inside = sorted(
        aid
        for aid, p in placements.items()
        if p.territory is not None
        and (p.territory == name or name in h.ancestors[p.territory] or name in p.overlays)
    )
    owners = dict(
        session.execute(
            select(AccountOwner.account_id, Rep.name)
            .join(Rep, Rep.id == AccountOwner.rep_id)
            .where(
                AccountOwner.account_id.in_(inside),
                _live(AccountOwner.valid_from, AccountOwner.valid_to, as_of),
            )
        )
        .tuples()
        .all()
    )
    visible = (
        set(session.scalars(select(Account.id).where(scope.accounts())))
        if not scope.sees_all
        else None
    )
    names = dict(
        session.execute(select(Account.id, Account.name).where(Account.id.in_(inside)))
        .tuples()
        .all()
    )
    accounts = [
        (aid, names[aid], owners.get(aid)) for aid in inside if visible is None or aid in visible
    ]
    return TerritoryView(
        name=name,
        parent=d.parent,
        overlay=d.overlay,
        covers=d.covers,
        rules=d.rules.model_dump(mode="json", exclude_defaults=True),
        as_of=as_of,
        reps=[(r[0], r[1], r[2], r[3]) for r in reps],
        accounts=accounts,
    )
