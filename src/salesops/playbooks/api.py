"""REST endpoints for playbooks: revisions, the playbook in force, a deal's play and checklist,
and a dry run of a stage move. Loading a playbook is for ops, directors and admins; reading
it is for everyone; a deal's play and checklist follow the deal's scope."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Query
from sqlalchemy.orm import Session

from salesops.api.crud import ERRORS
from salesops.api.deps import CurrentUser, SessionDep
from salesops.db.limits import INT_LIMIT
from salesops.pipeline import access
from salesops.playbooks import digest, gate, inspection, service
from salesops.playbooks.hygiene import FLAGS
from salesops.playbooks.schemas import (
    ChecklistUpdate,
    DealHygieneRead,
    DealPlayRead,
    FlagRead,
    NoteCreate,
    NoteRead,
    PlaybookRead,
    PlaybookUpload,
    RepHygieneRead,
    RevisionRead,
    SnapshotCount,
    SnapshotRead,
    SubscriptionRead,
    SubscriptionUpdate,
    VerdictRead,
)

router = APIRouter(prefix="/playbooks", tags=["playbooks"], responses=ERRORS)


@router.get("", response_model=list[RevisionRead], summary="Loaded playbook revisions")
def list_revisions(session: SessionDep, who: CurrentUser) -> Any:
    return service.revisions(session)


@router.post("", response_model=PlaybookRead, status_code=201, summary="Load a playbook")
def upload(body: PlaybookUpload, session: SessionDep, who: CurrentUser) -> PlaybookRead:
    """Validate the playbook text, store it as a revision and put it in force."""
    who.scope.require_planning("load playbooks")
    with tempfile.TemporaryDirectory() as tmp:
        # The file loader is the one definition files share (it names the file in problems).
        path = Path(tmp) / body.name
        path.write_text(body.source, encoding="utf-8")
        revision = service.load(session, path, user_id=who.user.id)
    return PlaybookRead.of(RevisionRead.model_validate(revision), gate.playbook_of(revision))


@router.get("/active", response_model=PlaybookRead, summary="The playbook in force")
def active(session: SessionDep, who: CurrentUser) -> PlaybookRead:
    revision, playbook = service.require_active(session)
    return PlaybookRead.of(RevisionRead.model_validate(revision), playbook)


def _deal_play(session: Session, opp_id: int, who: CurrentUser) -> DealPlayRead:
    opp = access.get_visible(session, opp_id, scope=who.scope)
    return DealPlayRead.of(opp.id, opp.stage.name, service.deal_play(session, opp))


@router.get("/deals/{opp_id}", response_model=DealPlayRead, summary="A deal's play")
def deal(opp_id: int, session: SessionDep, who: CurrentUser) -> DealPlayRead:
    """Its stage's guidance and links, its checklist, and what it lacks to leave the stage."""
    return _deal_play(session, opp_id, who)


@router.put(
    "/deals/{opp_id}/checklist/{key}", response_model=DealPlayRead, summary="Tick a checklist item"
)
def tick(
    opp_id: int, key: str, body: ChecklistUpdate, session: SessionDep, who: CurrentUser
) -> DealPlayRead:
    opp = access.get_visible(session, opp_id, scope=who.scope)
    service.set_checklist_item(session, opp, key, done=body.done, note=body.note, scope=who.scope)
    return _deal_play(session, opp_id, who)


@router.get("/deals/{opp_id}/check", response_model=VerdictRead, summary="Dry-run a stage move")
def check(
    opp_id: int,
    session: SessionDep,
    who: CurrentUser,
    stage: str = Query(min_length=1, max_length=80, description="the stage to move to"),
) -> VerdictRead:
    """What the deal lacks to move to `stage`, and whether the playbook would block it."""
    opp = access.get_visible(session, opp_id, scope=who.scope)
    _, _ = service.require_active(session)
    target = service.stage_named(session, stage)
    found = gate.verdict(session, opp, opp.stage.name, target.name)
    assert found is not None  # a playbook is active
    return VerdictRead.of(found)


def _deal_hygiene(found: inspection.Inspection, notes: dict[int, int]) -> list[DealHygieneRead]:
    return [
        DealHygieneRead(
            opportunity_id=d.deal.id,
            name=found.deal_names[d.deal.id][0],
            owner_id=d.deal.owner_id,
            owner=found.names.get(d.deal.owner_id, ""),
            stage=d.deal.stage,
            amount=found.deal_names[d.deal.id][1],
            close_date=d.deal.close_date,
            flags=[FlagRead(code=f.code, label=f.label, detail=f.detail) for f in d.flags],
            open_notes=notes.get(d.deal.id, 0),
        )
        for d in found.deals
    ]


@router.get("/hygiene/deals", response_model=list[DealHygieneRead], summary="Flagged open deals")
def hygiene_deals(
    session: SessionDep,
    who: CurrentUser,
    rep_id: int | None = Query(None, ge=1, le=INT_LIMIT),
    flag: str | None = Query(None, description=f"only deals with this flag: {', '.join(FLAGS)}"),
    as_of: date | None = Query(None, description="inspect as at the end of this day"),
) -> list[DealHygieneRead]:
    """The open deals you may see with at least one flag (or `flag`), most flags first."""
    at = inspection.end_of(as_of) if as_of else None
    found = inspection.inspect(session, scope=who.scope, rep_id=rep_id, at=at)
    found.deals.sort(key=lambda d: (-len(d.flags), d.deal.id))
    found.deals[:] = [
        d for d in found.deals if d.flags and (flag is None or flag in {f.code for f in d.flags})
    ]
    notes = inspection.open_note_counts(session, [d.deal.id for d in found.deals])
    return _deal_hygiene(found, notes)


@router.get("/hygiene/reps", response_model=list[RepHygieneRead], summary="Hygiene per rep")
def hygiene_reps(
    session: SessionDep,
    who: CurrentUser,
    as_of: date | None = Query(None, description="inspect as at the end of this day"),
) -> list[RepHygieneRead]:
    """Per rep you may see: open deals, flagged deals, flags by kind, the score (0-1)."""
    at = inspection.end_of(as_of) if as_of else None
    found = inspection.inspect(session, scope=who.scope, at=at)
    return [
        RepHygieneRead(
            rep_id=r.rep_id,
            rep=found.names.get(r.rep_id, ""),
            open_deals=r.open_deals,
            flagged_deals=r.flagged_deals,
            flags=r.flag_counts,
            score=r.score,
        )
        for r in found.reps
    ]


@router.get("/hygiene/trend", response_model=list[SnapshotRead], summary="Hygiene trend")
def hygiene_trend(
    session: SessionDep,
    who: CurrentUser,
    rep_id: int | None = Query(None, ge=1, le=INT_LIMIT),
    since: date | None = Query(None),
) -> Any:
    """The daily snapshots (`salesops playbook hygiene-snapshot`) of the reps you may see."""
    return inspection.trend(session, scope=who.scope, rep_id=rep_id, since=since)


@router.post(
    "/hygiene/snapshots", response_model=SnapshotCount, status_code=201, summary="Take a snapshot"
)
def hygiene_snapshot(session: SessionDep, who: CurrentUser) -> SnapshotCount:
    """Store today's hygiene of every rep (ops, directors and admins; again today replaces it)."""
    who.scope.require_planning("take hygiene snapshots")
    return SnapshotCount(reps=inspection.take_snapshot(session))


@router.get("/deals/{opp_id}/notes", response_model=list[NoteRead], summary="Coaching notes")
def deal_notes(opp_id: int, session: SessionDep, who: CurrentUser) -> Any:
    return inspection.notes(session, access.get_visible(session, opp_id, scope=who.scope))


@router.post(
    "/deals/{opp_id}/notes", response_model=NoteRead, status_code=201, summary="Add a note"
)
def add_note(opp_id: int, body: NoteCreate, session: SessionDep, who: CurrentUser) -> Any:
    """A coaching note on a deal you see (managers, ops, directors, admins)."""
    opp = access.get_visible(session, opp_id, scope=who.scope)
    return inspection.add_note(session, opp, scope=who.scope, text=body.text, flag=body.flag)


@router.post("/notes/{note_id}/resolve", response_model=NoteRead, summary="Resolve a note")
def resolve_note(note_id: int, session: SessionDep, who: CurrentUser) -> Any:
    return inspection.resolve_note(session, note_id, scope=who.scope)


@router.get(
    "/subscriptions", response_model=list[SubscriptionRead], summary="Your digest subscriptions"
)
def my_subscriptions(session: SessionDep, who: CurrentUser) -> Any:
    return digest.subscriptions(session, who.user)


@router.put(
    "/subscriptions/{topic}", response_model=SubscriptionRead, summary="Subscribe to a digest"
)
def subscribe(topic: str, body: SubscriptionUpdate, session: SessionDep, who: CurrentUser) -> Any:
    """Topics: hygiene_flags, stalled_deals; daily, or weekly (Mondays)."""
    return digest.subscribe(session, who.user, topic, frequency=body.frequency)


@router.delete("/subscriptions/{topic}", status_code=204, summary="Unsubscribe")
def unsubscribe(topic: str, session: SessionDep, who: CurrentUser) -> None:
    digest.unsubscribe(session, who.user, topic)
