"""Feedback from the field: anyone submits (category, title, text, optionally a deal they
see), Sales Ops (ops, directors, admins) triages it (status, owner, response, what changed),
others vote once each. Every change is in the audit log, which is the item's history."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from salesops.audit import service as audit
from salesops.auth.scoping import Scope
from salesops.crm import versioning
from salesops.db.types import utc_now
from salesops.errors import Conflict, NotFound, Problem, ValidationFailed
from salesops.models import AuditEntry, Feedback, FeedbackVote, Opportunity, User

CATEGORIES = ("process", "tools", "leads", "content", "other")
STATUSES = ("new", "triaged", "planned", "in_progress", "done", "declined")
TRIAGE_FIELDS = ("status", "owner_id", "response", "change_made")


@dataclass(frozen=True)
class Item:
    """A feedback item as one reader sees it: votes, their own vote, the deal if visible."""

    feedback: Feedback
    votes: int
    voted: bool
    opportunity_id: int | None


def _choice(value: str, allowed: Sequence[str], field: str) -> str:
    if value not in allowed:
        raise ValidationFailed(
            f"invalid {field}", [Problem(f"{value!r} is not one of {', '.join(allowed)}", field)]
        )
    return value


def values_of(item: Feedback) -> dict[str, Any]:
    return {
        "category": item.category,
        "title": item.title,
        "text": item.text,
        "opportunity_id": item.opportunity_id,
        "status": item.status,
        "owner_id": item.owner_id,
        "response": item.response,
        "change_made": item.change_made,
    }


def submit(
    session: Session,
    *,
    scope: Scope,
    category: str,
    title: str,
    text: str,
    opportunity_id: int | None = None,
) -> Feedback:
    """Record a feedback item by the caller; a deal it names must be one they see."""
    problems = []
    if category not in CATEGORIES:
        problems.append(Problem(f"{category!r} is not one of {', '.join(CATEGORIES)}", "category"))
    if not title.strip():
        problems.append(Problem("required", "title"))
    if not text.strip():
        problems.append(Problem("required", "text"))
    if problems:
        raise ValidationFailed("invalid feedback", problems)
    if opportunity_id is not None:
        opp = session.get(Opportunity, opportunity_id)
        if opp is None or not scope.sees_rep(opp.owner_id):
            raise NotFound(f"opportunity {opportunity_id} does not exist")
    now = utc_now()
    item = Feedback(
        author_id=scope.user_id,
        category=category,
        title=title.strip(),
        text=text.strip(),
        opportunity_id=opportunity_id,
        status="new",
        created_at=now,
        updated_at=now,
    )
    session.add(item)
    session.flush()
    audit.record(
        session,
        user_id=scope.user_id,
        action="create",
        entity="feedback",
        entity_id=item.id,
        changes=audit.diff({}, values_of(item)),
    )
    return item


def get(session: Session, feedback_id: int) -> Feedback:
    item = session.get(Feedback, feedback_id)
    if item is None:
        raise NotFound(f"feedback {feedback_id} does not exist")
    return item


def _visible_deal(session: Session, scope: Scope, opp_id: int | None) -> int | None:
    if opp_id is None:
        return None
    owner = session.scalar(select(Opportunity.owner_id).where(Opportunity.id == opp_id))
    return opp_id if owner is not None and scope.sees_rep(owner) else None


def items(
    session: Session,
    *,
    scope: Scope,
    status: str | None = None,
    category: str | None = None,
    sort: str = "votes",
    limit: int = 200,
    ids: Sequence[int] | None = None,
) -> list[Item]:
    """Feedback items with their votes, most voted (or newest) first. Everyone reads every
    item; the deal it names is shown only to those who see that deal."""
    votes = (
        select(FeedbackVote.feedback_id, func.count().label("n"))
        .group_by(FeedbackVote.feedback_id)
        .subquery()
    )
    query = select(Feedback, func.coalesce(votes.c.n, 0)).outerjoin(
        votes, votes.c.feedback_id == Feedback.id
    )
    if status:
        query = query.where(Feedback.status == _choice(status, STATUSES, "status"))
    if category:
        query = query.where(Feedback.category == _choice(category, CATEGORIES, "category"))
    if ids is not None:
        query = query.where(Feedback.id.in_(ids))
    order = (
        [func.coalesce(votes.c.n, 0).desc(), Feedback.id.desc()]
        if sort == "votes"
        else [Feedback.id.desc()]
    )
    rows = session.execute(query.order_by(*order).limit(limit)).all()
    mine = set(
        session.scalars(
            select(FeedbackVote.feedback_id).where(
                FeedbackVote.user_id == scope.user_id,
                FeedbackVote.feedback_id.in_([f.id for f, _ in rows]),
            )
        )
    )
    return [
        Item(f, int(n), f.id in mine, _visible_deal(session, scope, f.opportunity_id))
        for f, n in rows
    ]


def item(session: Session, feedback_id: int, *, scope: Scope) -> Item:
    get(session, feedback_id)
    (found,) = items(session, scope=scope, ids=[feedback_id])
    return found


def triage(
    session: Session,
    feedback: Feedback,
    *,
    scope: Scope,
    expected: Sequence[versioning.Expected | None] = (),
    **changes: Any,
) -> Feedback:
    """Sales Ops sets status, owner (a user id), response and what changed because of it."""
    scope.require_planning("triage feedback")
    versioning.check(feedback, "feedback", *expected)
    unknown = set(changes) - set(TRIAGE_FIELDS)
    if unknown:
        raise ValidationFailed(
            "invalid triage", [Problem("cannot be changed by triage", k) for k in sorted(unknown)]
        )
    before = values_of(feedback)
    if changes.get("status") is not None:
        feedback.status = _choice(changes["status"], STATUSES, "status")
    if "owner_id" in changes:
        owner_id = changes["owner_id"]
        if owner_id is not None and session.get(User, owner_id) is None:
            raise ValidationFailed(
                "unknown owner", [Problem(f"user {owner_id} does not exist", "owner_id")]
            )
        feedback.owner_id = owner_id
    for name in ("response", "change_made"):
        if name in changes:
            setattr(feedback, name, (changes[name] or "").strip() or None)
    diff = audit.diff(before, values_of(feedback))
    if diff:
        feedback.updated_at = utc_now()
        versioning.flush(session, "feedback", feedback.id)
        audit.record(
            session,
            user_id=scope.user_id,
            action="triage",
            entity="feedback",
            entity_id=feedback.id,
            changes=diff,
        )
    return feedback


def vote(session: Session, feedback: Feedback, *, scope: Scope, up: bool = True) -> None:
    """Add (or withdraw) the caller's one vote; authors do not vote on their own item."""
    if scope.user_id is None:
        raise ValidationFailed("only a signed-in user can vote")
    if feedback.author_id == scope.user_id:
        raise Conflict("you cannot vote for your own feedback")
    existing = session.scalar(
        select(FeedbackVote).where(
            FeedbackVote.feedback_id == feedback.id, FeedbackVote.user_id == scope.user_id
        )
    )
    if up and existing is None:
        try:
            with session.begin_nested():
                session.add(FeedbackVote(feedback_id=feedback.id, user_id=scope.user_id))
        except IntegrityError:
            return  # the same user's concurrent vote landed first: one vote either way
    elif not up and existing is not None:
        session.delete(existing)
        session.flush()


def history(session: Session, feedback: Feedback) -> list[AuditEntry]:
    """What changed on the item, oldest first (from the audit log)."""
    return list(
        session.scalars(
            select(AuditEntry)
            .where(AuditEntry.entity == "feedback", AuditEntry.entity_id == str(feedback.id))
            .order_by(AuditEntry.at, AuditEntry.id)
        )
    )
