"""REST endpoints for playbooks: revisions, the playbook in force, a deal's play and checklist,
and a dry run of a stage move. Loading a playbook is for ops, directors and admins; reading
it is for everyone; a deal's play and checklist follow the deal's scope."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Query
from sqlalchemy.orm import Session

from salesops.api.crud import ERRORS
from salesops.api.deps import CurrentUser, SessionDep
from salesops.pipeline import access
from salesops.playbooks import gate, service
from salesops.playbooks.schemas import (
    ChecklistUpdate,
    DealPlayRead,
    PlaybookRead,
    PlaybookUpload,
    RevisionRead,
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
