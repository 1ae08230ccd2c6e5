"""Playbooks: load a methodology's file as a new revision, read the one in force, keep each
deal's checklist, and say what a deal still lacks to leave its stage."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from salesops.audit import service as audit
from salesops.auth.scoping import Scope
from salesops.db.types import utc_now
from salesops.errors import Conflict, NotFound, Problem, ValidationFailed
from salesops.models import (
    DealChecklistItem,
    Opportunity,
    PipelineStage,
    PlaybookRevision,
    StageCategory,
)
from salesops.pipeline import stages
from salesops.playbooks import gate
from salesops.playbooks.criteria import Missing, missing_for
from salesops.playbooks.definition import Playbook, StagePlay, load_playbook


def load(session: Session, path: Path, *, user_id: int | None = None) -> PlaybookRevision:
    """Validate the playbook file at `path` against the stages, store it as a revision of its
    methodology and put it in force. Loading the same text again only re-activates it."""
    names = [s.name for s in stages.ordered(session)]
    playbook, source = load_playbook(path, stage_names=names)
    digest = gate.checksum(source)
    revision = session.scalar(
        select(PlaybookRevision).where(
            PlaybookRevision.methodology == playbook.methodology,
            PlaybookRevision.revision == playbook.revision,
        )
    )
    if revision is not None and revision.checksum != digest:
        raise Conflict(
            f"{path.name}: revision {playbook.revision} of {playbook.methodology} is already"
            " loaded with other content; give the changed file a higher `revision`"
        )
    if revision is None:
        revision = PlaybookRevision(
            methodology=playbook.methodology,
            revision=playbook.revision,
            description=playbook.description,
            source=source,
            checksum=digest,
            loaded_at=utc_now(),
            loaded_by_id=user_id,
        )
        session.add(revision)
    for other in session.scalars(
        select(PlaybookRevision).where(PlaybookRevision.is_active.is_(True))
    ):
        other.is_active = False
    revision.is_active = True
    session.flush()
    audit.record(
        session,
        user_id=user_id,
        action="activate",
        entity="playbook",
        entity_id=revision.id,
        changes={"methodology": playbook.methodology, "revision": playbook.revision},
    )
    return revision


def revisions(session: Session) -> list[PlaybookRevision]:
    """Every loaded revision, newest first."""
    return list(session.scalars(select(PlaybookRevision).order_by(PlaybookRevision.id.desc())))


def get_revision(session: Session, revision_id: int) -> PlaybookRevision:
    found = session.get(PlaybookRevision, revision_id)
    if found is None:
        raise NotFound(f"playbook revision {revision_id} does not exist")
    return found


def require_active(session: Session) -> tuple[PlaybookRevision, Playbook]:
    revision = gate.active_revision(session)
    if revision is None:
        raise NotFound("no playbook is loaded; load one with `salesops playbook load FILE`")
    return revision, gate.playbook_of(revision)


@dataclass(frozen=True)
class ChecklistLine:
    stage: str
    key: str
    label: str
    help: str
    done: bool
    note: str | None


@dataclass(frozen=True)
class DealPlay:
    """What the playbook says to a deal now: its stage's play and what it lacks to leave it."""

    revision: PlaybookRevision | None
    play: StagePlay | None
    missing: tuple[Missing, ...]
    checklist: tuple[ChecklistLine, ...]
    is_open: bool


def deal_play(session: Session, opp: Opportunity) -> DealPlay:
    """The playbook's view of `opp`: guidance, links, checklist state, missing exit items."""
    revision = gate.active_revision(session)
    if revision is None:
        return DealPlay(None, None, (), (), opp.stage.category == StageCategory.OPEN)
    playbook = gate.playbook_of(revision)
    state = {
        row.item_key: row
        for row in session.scalars(
            select(DealChecklistItem).where(DealChecklistItem.opportunity_id == opp.id)
        )
    }
    lines = tuple(
        ChecklistLine(
            play.stage,
            item.key,
            item.label,
            item.help,
            bool(state[item.key].done) if item.key in state else False,
            state[item.key].note if item.key in state else None,
        )
        for play in playbook.stages
        for item in play.checklist
    )
    play = playbook.play(opp.stage.name)
    is_open = opp.stage.category == StageCategory.OPEN
    missing = tuple(missing_for(play, gate.deal_facts(session, opp))) if play and is_open else ()
    return DealPlay(revision, play, missing, lines, is_open)


def set_checklist_item(
    session: Session,
    opp: Opportunity,
    key: str,
    *,
    done: bool,
    scope: Scope,
    note: str | None = None,
) -> DealChecklistItem:
    """Tick (or untick) checklist item `key` on `opp`; the owner's side may, read-only roles not."""
    scope.require_record_write("change deal checklists")
    _, playbook = require_active(session)
    if key not in playbook.checklist_keys():
        known = ", ".join(sorted(playbook.checklist_keys())) or "none"
        raise ValidationFailed(
            "unknown checklist item", [Problem(f"{key!r} is not one of {known}", "item")]
        )
    row = session.scalar(
        select(DealChecklistItem).where(
            DealChecklistItem.opportunity_id == opp.id, DealChecklistItem.item_key == key
        )
    )
    before = {"done": row.done, "note": row.note} if row else {}
    if row is None:
        row = DealChecklistItem(opportunity_id=opp.id, item_key=key)
        session.add(row)
    row.done = done
    if note is not None:
        row.note = note.strip()[:255] or None
    row.updated_at = utc_now()
    row.updated_by_id = scope.user_id
    session.flush()
    changes = audit.diff(before, {"done": row.done, "note": row.note})
    if changes:
        audit.record(
            session,
            user_id=scope.user_id,
            action="checklist",
            entity="opportunity",
            entity_id=opp.id,
            changes={"item": key, **changes},
        )
    return row


def stage_named(session: Session, name: str) -> PipelineStage:
    """The stage called `name` (NotFound naming the stages there are)."""
    for stage in stages.ordered(session):
        if stage.name == name:
            return stage
    names = ", ".join(s.name for s in stages.ordered(session))
    raise NotFound(f"stage {name!r} does not exist (stages: {names})")
