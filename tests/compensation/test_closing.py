"""Closing a period goes through approvals: proposed, approved, applied (locked), rolled back."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from salesops import approvals
from salesops.auth.scoping import scope_for
from salesops.compensation import closing, service
from salesops.errors import PermissionDenied, ValidationFailed
from salesops.models import Rep
from tests.compensation.test_service import Q1, setup, won
from tests.factories import make_user


def test_a_close_is_proposed_approved_applied_and_rolled_back(
    session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, _, plans = setup(session, tmp_path)
    monkeypatch.setattr(service, "plans_dir", lambda: plans)
    ops = scope_for(session, make_user(session, role="ops_rep"))
    director = scope_for(session, make_user(session, role="director"))
    run = service.calculate(session, Q1)
    proposal = closing.propose(session, Q1, scope=ops)
    assert proposal.state == "submitted"
    assert proposal.payload["input_checksum"] == run.input_checksum
    with pytest.raises(PermissionDenied):
        approvals.approve(session, proposal, scope=ops)
    approvals.approve(session, proposal, scope=director, reason="figures checked")
    approvals.apply(session, proposal, scope=director)
    assert run.status == "closed"
    approvals.roll_back(session, proposal, scope=director, reason="reopened for a dispute")
    assert run.status == "open"


def test_a_close_is_refused_when_the_inputs_moved_after_the_run(
    session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ann, _, plans = setup(session, tmp_path)
    monkeypatch.setattr(service, "plans_dir", lambda: plans)
    director = scope_for(session, make_user(session, role="director"))
    run = service.calculate(session, Q1)
    proposal = closing.propose(session, Q1, scope=director)
    approvals.approve(session, proposal, scope=director)
    rep = session.get(Rep, ann)
    assert rep is not None
    won(session, rep, 5000, date(2026, 3, 30))  # a late deal: the run no longer matches
    with pytest.raises(ValidationFailed, match="changed since run"):
        approvals.apply(session, proposal, scope=director)
    assert run.status == "open"


def test_a_statement_is_stored_as_html_and_pdf_documents_with_checksums(
    session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from salesops import documents
    from salesops.compensation import statements

    ann, _, plans = setup(session, tmp_path)
    service.calculate(session, Q1, directory=plans)
    rep = session.get(Rep, ann)
    assert rep is not None
    html, pdf = statements.generate(session, rep, Q1)
    assert html.filename == f"statement-{ann}-2026-Q1-run{service.current_run(session, Q1).id}.html"
    text = html.content.decode()
    assert "Commission statement: Ann Comp" in text
    assert "11,000.00 USD" in text  # 8,000 + 3,000
    assert pdf.content.startswith(b"%PDF")
    assert documents.verify(pdf)
