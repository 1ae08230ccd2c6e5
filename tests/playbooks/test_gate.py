"""Moving a deal forward meets the playbook in force: warned moves land and are audited,
blocked ones never land; imports and backward moves are not policed."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from salesops.auth.scoping import system_scope
from salesops.errors import Conflict, ValidationFailed
from salesops.models import Activity, AuditEntry, PlaybookRevision
from salesops.pipeline import access, service, stages
from salesops.playbooks import gate
from salesops.playbooks import service as playbooks
from tests.factories import make_account, make_opportunity

SCOPE = system_scope()


def test_a_warned_move_lands_names_what_was_missing_and_is_audited(
    session: Session, meddicc: PlaybookRevision
) -> None:
    opp = make_opportunity(session, stage="Prospecting")
    access.move_stage(session, opp, "Qualification", scope=SCOPE)
    assert opp.stage.name == "Qualification"
    (verdict,) = gate.warnings(session)
    assert [m.key for m in verdict.missing] == ["account", "next_step", "meeting"]
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "exit_warning"))
    assert entry is not None
    assert entry.entity_id == str(opp.id)
    assert entry.changes["missing"][0] == "Prospecting: an account"
    assert gate.warnings(session) == []  # taken once


def test_a_blocked_move_names_every_missing_item_and_does_not_land(
    session: Session, meddicc: PlaybookRevision
) -> None:
    opp = make_opportunity(session, stage="Discovery")
    session.commit()
    with pytest.raises(ValidationFailed) as caught:
        access.move_stage(session, opp, "Proposal", scope=SCOPE)
    session.rollback()
    assert [p.message for p in caught.value.problems] == [
        "missing Discovery: a next step",
        "missing Discovery: Economic buyer met",
        "missing Discovery: Decision criteria written down",
        "missing Discovery: Decision process mapped (steps, dates, people)",
    ]
    assert {p.location for p in caught.value.problems} == {"stage"}
    session.refresh(opp)
    assert opp.stage.name == "Discovery"


def test_ticking_the_checklist_and_filling_the_next_step_in_the_same_change_unblocks(
    session: Session, meddicc: PlaybookRevision
) -> None:
    opp = make_opportunity(session, stage="Discovery")
    for key in ("economic_buyer", "decision_criteria", "decision_process"):
        playbooks.set_checklist_item(session, opp, key, done=True, scope=SCOPE)
    access.update(session, opp, scope=SCOPE, stage="Proposal", next_step="Send proposal")
    assert opp.stage.name == "Proposal"
    assert gate.warnings(session) == []


def test_skipping_stages_checks_every_stage_skipped(
    session: Session, meddicc: PlaybookRevision
) -> None:
    opp = make_opportunity(session, stage="Qualification", account=make_account(session))
    with pytest.raises(ValidationFailed) as caught:
        access.close(session, opp, scope=SCOPE, won=True)
    stages_named = {p.message.split(":")[0] for p in caught.value.problems}
    assert stages_named == {
        "missing Qualification",
        "missing Discovery",
        "missing Proposal",
        "missing Negotiation",
    }


def test_moving_back_losing_and_importing_are_not_checked(
    session: Session, meddicc: PlaybookRevision
) -> None:
    opp = make_opportunity(session, stage="Discovery")
    access.move_stage(session, opp, "Qualification", scope=SCOPE)
    access.close(session, opp, scope=SCOPE, won=False, loss_reason="no budget")
    other = make_opportunity(session, stage="Discovery")
    at = datetime(2025, 2, 1, tzinfo=UTC)
    service.move_stage(session, other, stages.by_name(session, "Closed Won"), at=at)
    assert gate.warnings(session) == []
    assert other.stage.name == "Closed Won"


def test_logged_activities_count_towards_the_criteria(
    session: Session, meddicc: PlaybookRevision
) -> None:
    opp = make_opportunity(session, stage="Prospecting", account=make_account(session))
    opp.next_step = "Demo"
    session.add(
        Activity(
            kind="meeting", occurred_at=datetime(2025, 1, 5, tzinfo=UTC), opportunity_id=opp.id
        )
    )
    session.flush()
    access.move_stage(session, opp, "Qualification", scope=SCOPE)
    assert gate.warnings(session) == []


def test_no_playbook_means_no_check(session: Session) -> None:
    opp = make_opportunity(session, stage="Discovery")
    access.move_stage(session, opp, "Closed Won", scope=SCOPE)
    assert opp.stage.name == "Closed Won"


def test_a_changed_file_needs_a_new_revision_and_the_new_one_is_in_force(
    session: Session, meddicc: PlaybookRevision, tmp_path: Path
) -> None:
    from tests.playbooks.conftest import SHIPPED

    text = SHIPPED.read_text(encoding="utf-8").replace("enforcement: block", "enforcement: warn")
    path = tmp_path / "meddicc.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(Conflict, match="higher `revision`"):
        playbooks.load(session, path)
    path.write_text(text.replace("revision: 1", "revision: 2"), encoding="utf-8")
    second = playbooks.load(session, path)
    assert [(r.revision, r.is_active) for r in playbooks.revisions(session)] == [
        (2, True),
        (1, False),
    ]
    assert gate.active_revision(session) is second
    again = playbooks.load(session, SHIPPED)  # the same text re-activates revision 1
    assert again.id == meddicc.id
    assert again.is_active
    assert not second.is_active


def test_a_checklist_item_the_playbook_does_not_have_is_refused(
    session: Session, meddicc: PlaybookRevision
) -> None:
    opp = make_opportunity(session)
    with pytest.raises(ValidationFailed, match="'budget' is not one of"):
        playbooks.set_checklist_item(session, opp, "budget", done=True, scope=SCOPE)
