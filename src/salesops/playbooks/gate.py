"""The one place a stage move meets the playbook: `pipeline.access` calls `check_after_move`
after every scoped stage change (API, CLI and dashboard all go through it), so the exit
criteria are enforced the same way whichever door the change came through.

Imports, the demo and other system writers call `pipeline.service` directly and are not
checked: history from another CRM is what happened, not a move to police.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from salesops.audit import service as audit
from salesops.errors import Problem, ValidationFailed
from salesops.models import (
    Activity,
    DealChecklistItem,
    Opportunity,
    PipelineStage,
    PlaybookRevision,
)
from salesops.playbooks.criteria import DealFacts, Verdict, check_move
from salesops.playbooks.definition import Playbook, parse_playbook

WARNINGS_KEY = "playbook_warnings"


@lru_cache(maxsize=16)
def _parsed(checksum: str, source: str) -> Playbook:
    import yaml

    return parse_playbook(yaml.safe_load(source), stage_names=None, name=f"playbook {checksum[:8]}")


def checksum(source: str) -> str:
    return hashlib.sha256(source.encode("utf-8")).hexdigest()


def active_revision(session: Session) -> PlaybookRevision | None:
    """The playbook revision in force, if one was loaded."""
    return session.scalar(
        select(PlaybookRevision)
        .where(PlaybookRevision.is_active.is_(True))
        .order_by(PlaybookRevision.id.desc())
        .limit(1)
    )


def playbook_of(revision: PlaybookRevision) -> Playbook:
    return _parsed(revision.checksum, revision.source)


def active_playbook(session: Session) -> Playbook | None:
    revision = active_revision(session)
    return playbook_of(revision) if revision is not None else None


def stage_order(session: Session) -> list[tuple[str, str]]:
    rows = session.execute(
        select(PipelineStage.name, PipelineStage.category).order_by(PipelineStage.sort_order)
    ).all()
    return [(name, category) for name, category in rows]


def filled_fields(opp: Opportunity) -> frozenset[str]:
    """The requirable fields this deal has filled (see definition.REQUIRABLE_FIELDS)."""
    values = {
        "amount": opp.amount is not None and opp.amount > 0,
        "close_date": opp.close_date is not None,
        "next_step": bool(opp.next_step and opp.next_step.strip()),
        "account": opp.account_id is not None,
        "product": opp.product_id is not None,
        "competitor": bool(opp.competitor),
        "lead_source": bool(opp.lead_source),
        "probability": opp.probability is not None,
    }
    return frozenset(name for name, ok in values.items() if ok)


def deal_facts(session: Session, opp: Opportunity) -> DealFacts:
    """What the exit criteria look at for `opp`, read from the database."""
    checked = session.scalars(
        select(DealChecklistItem.item_key).where(
            DealChecklistItem.opportunity_id == opp.id, DealChecklistItem.done.is_(True)
        )
    )
    counts = session.execute(
        select(Activity.kind, func.count())
        .where(Activity.opportunity_id == opp.id)
        .group_by(Activity.kind)
    ).all()
    return DealFacts(
        filled=filled_fields(opp),
        checked=frozenset(checked),
        activities={kind: int(n) for kind, n in counts},
    )


def verdict(session: Session, opp: Opportunity, from_stage: str, to_stage: str) -> Verdict | None:
    """What `opp` lacks to move from `from_stage` to `to_stage` (None: no playbook loaded)."""
    playbook = active_playbook(session)
    if playbook is None:
        return None
    return check_move(
        playbook, stage_order(session), from_stage, to_stage, deal_facts(session, opp)
    )


def check_after_move(
    session: Session, opp: Opportunity, from_stage: str, *, user_id: int | None
) -> Verdict | None:
    """Enforce the exit criteria of the move `opp` just made from `from_stage`.

    Blocked: raises ValidationFailed naming every missing item (location `stage`), and the
    caller's transaction is rolled back, so the move never lands. Warned: the move stands,
    the missing items go to the audit log and to `warnings(session)` for the caller to show.
    """
    to_stage = opp.stage.name
    if from_stage == to_stage:
        return None
    found = verdict(session, opp, from_stage, to_stage)
    if found is None or found.ok:
        return found
    if found.blocked:
        raise ValidationFailed(
            f"the playbook blocks moving this deal from {from_stage} to {to_stage}",
            [Problem(f"missing {m}", "stage") for m in found.missing],
        )
    audit.record(
        session,
        user_id=user_id,
        action="exit_warning",
        entity="opportunity",
        entity_id=opp.id,
        changes={
            "from": from_stage,
            "to": to_stage,
            "missing": [str(m) for m in found.missing],
        },
    )
    session.info.setdefault(WARNINGS_KEY, []).append(found)
    return found


def warnings(session: Session) -> list[Verdict]:
    """The warned moves of this unit of work so far, taken (a second call returns none)."""
    found: list[Verdict] = session.info.pop(WARNINGS_KEY, [])
    return found


def warning_header(session: Session) -> str | None:
    """This unit of work's warned moves as one HTTP `Warning` value (299: a persistent
    warning), or None. Non-Latin-1 characters are escaped: headers carry Latin-1 only."""
    found = warnings(session)
    if not found:
        return None
    text = " | ".join(
        f"exit criteria not met leaving {v.from_stage} for {v.to_stage}: {v.summary()}"
        for v in found
    )
    safe = text.replace("\\", "\\\\").replace('"', "'").encode("latin-1", "backslashreplace")
    return f'299 salesops "{safe.decode("latin-1")}"'
