"""The proposal life cycle: states, who may move a proposal, and the audit of every move."""

from __future__ import annotations

import hashlib
import importlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from salesops.audit.service import jsonable, record
from salesops.auth.scoping import PLANNING_ROLES, Scope
from salesops.db.types import utc_now
from salesops.errors import Conflict, NotFound, Problem, StaleRecord, ValidationFailed
from salesops.models import AuditEntry, Proposal, Role

STATES = ("draft", "submitted", "approved", "rejected", "applied", "rolled_back")

# action -> (states it may start from, state it leads to)
_MOVES: dict[str, tuple[frozenset[str], str]] = {
    "submit": (frozenset({"draft"}), "submitted"),
    "withdraw": (frozenset({"submitted"}), "draft"),
    "approve": (frozenset({"submitted"}), "approved"),
    "reject": (frozenset({"submitted"}), "rejected"),
    "apply": (frozenset({"approved"}), "applied"),
    "roll_back": (frozenset({"applied"}), "rolled_back"),
}
_DONE = {
    "submit": "submitted",
    "withdraw": "withdrawn",
    "approve": "approved",
    "reject": "rejected",
    "apply": "applied",
    "roll_back": "rolled back",
}


@dataclass(frozen=True)
class ApplyContext:
    """What a domain's apply/roll-back step gets besides the proposal: when, from when, who."""

    at: datetime
    effective: date
    user_id: int | None


@dataclass(frozen=True)
class Kind:
    """How one domain's proposals are checked, applied and undone.

    `check(session, payload)` returns the problems of a payload (empty when fine); it runs
    when a proposal is created and again just before it is applied, since the data may have
    moved on in between. `apply` makes the change and returns what `roll_back` needs to undo
    it (stored on the proposal as `undo`, so it must be JSON-able).
    """

    name: str
    apply: Callable[[Session, Proposal, ApplyContext], Mapping[str, Any]]
    roll_back: Callable[[Session, Proposal, ApplyContext], None]
    check: Callable[[Session, Mapping[str, Any]], list[Problem]] = lambda _s, _p: []
    proposers: frozenset[Role] = PLANNING_ROLES
    deciders: frozenset[Role] = field(
        default_factory=lambda: frozenset({Role.DIRECTOR, Role.ADMIN})
    )


_KINDS: dict[str, Kind] = {}

# The module that registers each kind, imported on first use so that the API, the CLI and the
# pages know every kind without importing every domain up front. A domain adds its line here.
PROVIDERS: dict[str, str] = {
    "territory_plan": "salesops.territories.planning",
    "comp_period_close": "salesops.compensation.closing",
}


def register_kind(kind: Kind) -> Kind:
    """Make `kind` known (idempotent for the same name: the last registration wins)."""
    _KINDS[kind.name] = kind
    return kind


def kind_of(name: str) -> Kind:
    """The registered kind called `name`."""
    if name not in _KINDS and name in PROVIDERS:
        importlib.import_module(PROVIDERS[name])
    try:
        return _KINDS[name]
    except KeyError:
        known = ", ".join(sorted(_KINDS)) or "none"
        raise ValidationFailed(
            "unknown proposal kind", [Problem(f"{name!r} is not one of: {known}", "kind")]
        ) from None


def fingerprint(payload: Mapping[str, Any]) -> str:
    """A SHA-256 of the payload's canonical JSON: the same change always has the same print."""
    text = json.dumps(jsonable(dict(payload)), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _audit(
    session: Session, proposal: Proposal, action: str, scope: Scope, at: datetime, **extra: Any
) -> None:
    changes: dict[str, Any] = {"kind": proposal.kind, **{k: jsonable(v) for k, v in extra.items()}}
    record(
        session,
        user_id=scope.user_id,
        action=action,
        entity="proposal",
        entity_id=proposal.id,
        changes=changes,
        at=at,
    )


def require_may(scope: Scope, proposal: Proposal, action: str) -> None:
    """Refuse (PermissionDenied) when `scope`'s role may not `action` this proposal's kind."""
    kind = kind_of(proposal.kind)
    roles = kind.proposers if action in {"submit", "withdraw"} else kind.deciders
    scope.require_role(roles, f"{action.replace('_', ' ')} {proposal.kind} proposals")


def _move(
    session: Session,
    proposal: Proposal,
    action: str,
    scope: Scope,
    at: datetime | None,
    expected_version: int | None,
    reason: str | None = None,
) -> datetime:
    starts, target = _MOVES[action]
    require_may(scope, proposal, action)
    if expected_version is not None and expected_version != proposal.version:
        raise StaleRecord(
            f"proposal {proposal.id} changed since version {expected_version}",
            current=proposal.version,
        )
    if proposal.state not in starts:
        raise Conflict(
            f"proposal {proposal.id} is {proposal.state}: only a proposal that is "
            f"{' or '.join(sorted(starts))} can be {_DONE[action]}"
        )
    if action in {"reject", "roll_back"} and not (reason or "").strip():
        raise ValidationFailed(
            f"a reason is needed to {action.replace('_', ' ')}",
            [Problem("give the reason (kept in the audit log)", "reason")],
        )
    when = at or utc_now()
    _audit(
        session,
        proposal,
        action,
        scope,
        when,
        state={"old": proposal.state, "new": target},
        **({"reason": reason} if reason else {}),
    )
    proposal.state = target
    return when


def create(
    session: Session,
    *,
    kind: str,
    title: str,
    payload: Mapping[str, Any],
    scope: Scope,
    effective_from: date | None = None,
    at: datetime | None = None,
) -> Proposal:
    """A new draft proposal of `kind` after its domain checked the payload."""
    handler = kind_of(kind)
    scope.require_role(handler.proposers, f"propose {kind} changes")
    problems = handler.check(session, payload)
    if not title.strip():
        problems = [*problems, Problem("a proposal needs a title", "title")]
    if problems:
        raise ValidationFailed(f"the {kind} proposal is not valid", problems)
    when = at or utc_now()
    proposal = Proposal(
        kind=kind,
        title=title.strip(),
        state="draft",
        payload=jsonable(dict(payload)),
        fingerprint=fingerprint(payload),
        effective_from=effective_from,
        created_at=when,
        created_by=scope.user_id,
        undo={},
    )
    session.add(proposal)
    session.flush()
    _audit(
        session,
        proposal,
        "create",
        scope,
        when,
        title=proposal.title,
        fingerprint=proposal.fingerprint,
        effective_from=effective_from,
    )
    return proposal


def submit(
    session: Session,
    proposal: Proposal,
    *,
    scope: Scope,
    at: datetime | None = None,
    expected_version: int | None = None,
) -> Proposal:
    """Send a draft for a decision."""
    when = _move(session, proposal, "submit", scope, at, expected_version)
    proposal.submitted_at, proposal.submitted_by = when, scope.user_id
    return proposal


def withdraw(
    session: Session,
    proposal: Proposal,
    *,
    scope: Scope,
    at: datetime | None = None,
    expected_version: int | None = None,
) -> Proposal:
    """Take a submitted proposal back to draft (before anyone decided)."""
    _move(session, proposal, "withdraw", scope, at, expected_version)
    proposal.submitted_at = proposal.submitted_by = None
    return proposal


def _decide(
    session: Session,
    proposal: Proposal,
    action: str,
    scope: Scope,
    reason: str | None,
    at: datetime | None,
    expected_version: int | None,
) -> Proposal:
    """Record an approval or a rejection: who decided, when and why."""
    when = _move(session, proposal, action, scope, at, expected_version, reason)
    proposal.decided_at, proposal.decided_by = when, scope.user_id
    proposal.decision_reason = reason
    return proposal


def approve(
    session: Session,
    proposal: Proposal,
    *,
    scope: Scope,
    reason: str | None = None,
    at: datetime | None = None,
    expected_version: int | None = None,
) -> Proposal:
    """Approve a submitted proposal (it is applied separately, or right away by the caller)."""
    return _decide(session, proposal, "approve", scope, reason, at, expected_version)


def reject(
    session: Session,
    proposal: Proposal,
    *,
    scope: Scope,
    reason: str,
    at: datetime | None = None,
    expected_version: int | None = None,
) -> Proposal:
    """Reject a submitted proposal, saying why."""
    return _decide(session, proposal, "reject", scope, reason, at, expected_version)


def apply(
    session: Session,
    proposal: Proposal,
    *,
    scope: Scope,
    at: datetime | None = None,
    expected_version: int | None = None,
) -> Proposal:
    """Make an approved proposal's change, effective from its `effective_from` (or today)."""
    handler = kind_of(proposal.kind)
    problems = handler.check(session, proposal.payload)
    if problems:
        raise ValidationFailed(
            f"proposal {proposal.id} no longer fits the data; nothing was applied", problems
        )
    when = _move(session, proposal, "apply", scope, at, expected_version)
    context = ApplyContext(when, proposal.effective_from or when.date(), scope.user_id)
    proposal.undo = jsonable(dict(handler.apply(session, proposal, context)))
    proposal.applied_at, proposal.applied_by = when, scope.user_id
    return proposal


def roll_back(
    session: Session,
    proposal: Proposal,
    *,
    scope: Scope,
    reason: str,
    at: datetime | None = None,
    expected_version: int | None = None,
) -> Proposal:
    """Undo an applied proposal with the data its apply step kept."""
    handler = kind_of(proposal.kind)
    when = _move(session, proposal, "roll_back", scope, at, expected_version, reason)
    handler.roll_back(
        session, proposal, ApplyContext(when, proposal.effective_from or when.date(), scope.user_id)
    )
    proposal.rolled_back_at, proposal.rolled_back_by = when, scope.user_id
    return proposal


def get(session: Session, proposal_id: int, *, kind: str | None = None) -> Proposal:
    """One proposal (of `kind` when given)."""
    proposal = session.get(Proposal, proposal_id)
    if proposal is None or (kind is not None and proposal.kind != kind):
        raise NotFound(f"proposal {proposal_id} does not exist")
    return proposal


def list_proposals(
    session: Session, *, kind: str | None = None, state: str | None = None, limit: int = 100
) -> list[Proposal]:
    """Proposals, newest first, optionally of one kind and state."""
    query = select(Proposal)
    if kind is not None:
        query = query.where(Proposal.kind == kind)
    if state is not None:
        query = query.where(Proposal.state == state)
    return list(session.scalars(query.order_by(Proposal.id.desc()).limit(limit)))


def history(session: Session, proposal: Proposal) -> list[AuditEntry]:
    """Every audited move of `proposal`, oldest first."""
    return list(
        session.scalars(
            select(AuditEntry)
            .where(AuditEntry.entity == "proposal", AuditEntry.entity_id == str(proposal.id))
            .order_by(AuditEntry.at, AuditEntry.id)
        )
    )
