"""Digest subscriptions and the daily job that sends them.

A person subscribes to a topic, daily or weekly (sent on Mondays). The `playbooks.digests` job
(run by `salesops worker`, once a day) writes each due digest through the outbox owned by
`salesops.outbox`: an in-app inbox item and, when the person has an address, an e-mail.
Each digest has a key (topic, person, day), so running the job twice on a day, or again after
a crash, sends nothing twice. Topics (more can join, one function each):

- `hygiene_flags`: open deals in the person's scope with hygiene flags, most flags first.
- `stalled_deals`: open deals with no activity for 14 days or stuck in their stage.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from salesops.auth.scoping import Scope, scope_for
from salesops.db.types import utc_now
from salesops.errors import NotFound, Problem, ValidationFailed
from salesops.jobs import handler
from salesops.models import NotificationSubscription, User
from salesops.outbox import notify
from salesops.playbooks import inspection
from salesops.playbooks.hygiene import DealFlags

FREQUENCIES = ("daily", "weekly")
MAX_LINES = 25


def _hygiene(found: inspection.Inspection) -> list[DealFlags]:
    return [d for d in found.deals if d.flags]


def _stalled(found: inspection.Inspection) -> list[DealFlags]:
    stalled = {"stale", "stuck_in_stage"}
    return [
        DealFlags(d.deal, tuple(f for f in d.flags if f.code in stalled))
        for d in found.deals
        if any(f.code in stalled for f in d.flags)
    ]


TOPICS: dict[str, tuple[str, Callable[[inspection.Inspection], list[DealFlags]]]] = {
    "hygiene_flags": ("Deal hygiene", _hygiene),
    "stalled_deals": ("Stalled deals", _stalled),
}


def subscribe(
    session: Session, user: User, topic: str, *, frequency: str = "daily"
) -> NotificationSubscription:
    """Subscribe `user` to `topic` (or change how often)."""
    problems = []
    if topic not in TOPICS:
        problems.append(Problem(f"{topic!r} is not one of {', '.join(TOPICS)}", "topic"))
    if frequency not in FREQUENCIES:
        problems.append(Problem(f"{frequency!r} is not daily or weekly", "frequency"))
    if problems:
        raise ValidationFailed("invalid subscription", problems)
    found = session.scalar(
        select(NotificationSubscription).where(
            NotificationSubscription.user_id == user.id, NotificationSubscription.topic == topic
        )
    )
    if found is None:
        found = NotificationSubscription(user_id=user.id, topic=topic)
        session.add(found)
    found.frequency = frequency
    session.flush()
    return found


def unsubscribe(session: Session, user: User, topic: str) -> None:
    found = session.scalar(
        select(NotificationSubscription).where(
            NotificationSubscription.user_id == user.id, NotificationSubscription.topic == topic
        )
    )
    if found is None:
        raise NotFound(f"you are not subscribed to {topic!r}")
    session.delete(found)
    session.flush()


def subscriptions(session: Session, user: User) -> list[NotificationSubscription]:
    return list(
        session.scalars(
            select(NotificationSubscription)
            .where(NotificationSubscription.user_id == user.id)
            .order_by(NotificationSubscription.topic)
        )
    )


def compose(topic: str, found: inspection.Inspection) -> tuple[str, str] | None:
    """The subject and text of one digest, or None when there is nothing to say."""
    title, select_deals = TOPICS[topic]
    deals = sorted(select_deals(found), key=lambda d: (-len(d.flags), d.deal.id))
    if not deals:
        return None
    lines = [
        f"- {found.deal_names[d.deal.id][0]} ({found.names.get(d.deal.owner_id, '')},"
        f" {d.deal.stage}): {'; '.join(f.label for f in d.flags)}"
        for d in deals[:MAX_LINES]
    ]
    if len(deals) > MAX_LINES:
        lines.append(f"... and {len(deals) - MAX_LINES} more")
    subject = f"{title}: {len(deals)} deal(s) to look at"
    return subject, "\n".join(lines)


def send_digests(session: Session, *, on: date) -> int:
    """Write every digest due on `on` to the outbox; returns how many were written."""
    sent = 0
    scopes: dict[int, Scope] = {}
    found_by_user: dict[int, inspection.Inspection] = {}
    rows = session.execute(
        select(NotificationSubscription, User)
        .join(User, User.id == NotificationSubscription.user_id)
        .where(User.is_active.is_(True))
        .order_by(NotificationSubscription.id)
    ).all()
    for sub, user in rows:
        if sub.frequency == "weekly" and on.weekday() != 0:
            continue
        scope = scopes.setdefault(user.id, scope_for(session, user, today=on))
        if user.id not in found_by_user:
            found_by_user[user.id] = inspection.inspect(
                session, scope=scope, at=inspection.end_of(on - timedelta(days=1))
            )
        message = compose(sub.topic, found_by_user[user.id])
        if message is None:
            continue
        notify(
            session,
            user,
            message[0],
            message[1],
            link="/hygiene",
            key=f"digest:{sub.topic}:{user.id}:{on.isoformat()}",
        )
        sent += 1
    return sent


@handler("playbooks.digests", every=timedelta(days=1))
def digests_job(session: Session, payload: dict[str, Any]) -> str:
    """The daily digest run (a weekly subscription is served on Mondays)."""
    day = date.fromisoformat(payload["on"]) if payload.get("on") else utc_now().date()
    return f"{send_digests(session, on=day)} digest(s) for {day}"
