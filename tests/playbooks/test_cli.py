"""`salesops playbook ...` on a committed database (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session

from salesops.auth import service as auth
from salesops.pipeline import stages
from tests.conftest import run_cli, scratch_url
from tests.databases import migrated_engine
from tests.factories import make_opportunity, make_rep
from tests.playbooks.conftest import SHIPPED


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    db_url = scratch_url(request.param, tmp_path_factory.mktemp("pb"), "playbook_cli")
    engine = migrated_engine(db_url)
    with Session(engine) as session:
        stages.ensure_stages(session)
        ann = auth.create_user(session, "ann", role="sales_rep")
        cat = auth.create_user(session, "cat", role="sales_rep")
        make_opportunity(session, owner=make_rep(session, name="Ann", user=ann), stage="Discovery")
        make_opportunity(session, owner=make_rep(session, name="Cat", user=cat))
        session.commit()
    engine.dispose()
    return db_url


def test_load_show_tick_and_move_from_the_shell(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(capsys, url, "playbook", "move", "1", "Proposal")
    assert (code, out) == (0, "deal 1: Discovery -> Proposal\n"), err  # no playbook yet
    run_cli(capsys, url, "playbook", "move", "1", "Discovery")
    code, out, err = run_cli(capsys, url, "playbook", "load", str(SHIPPED))
    assert code == 0, err
    assert "loaded MEDDICC revision 1" in out
    assert "5 stages, 5 with exit criteria" in out
    code, out, _ = run_cli(capsys, url, "playbook", "show")
    assert "Discovery" in out
    assert "block" in out
    code, out, err = run_cli(capsys, url, "playbook", "move", "1", "Proposal", "--as", "ann")
    assert code == 2
    assert "blocks moving this deal from Discovery to Proposal" in err
    assert "Economic buyer met" in err
    code, _, err = run_cli(capsys, url, "playbook", "tick", "1", "economic_buyer", "--as", "cat")
    assert code == 3, err  # not cat's deal: as if it did not exist
    for key in ("economic_buyer", "decision_criteria", "decision_process"):
        code, _, err = run_cli(capsys, url, "playbook", "tick", "1", key, "--as", "ann")
        assert code == 0, err
    code, out, _ = run_cli(capsys, url, "playbook", "deal", "1")
    assert "[x] economic_buyer" in out
    assert "- a next step" in out


def test_hygiene_snapshot_and_coaching_from_the_shell(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(capsys, url, "playbook", "hygiene", "--as-of", "2025-02-15")
    assert code == 0, err
    assert "of 2 open deals flagged" in out
    assert "no next step" in out
    code, out, err = run_cli(capsys, url, "playbook", "hygiene", "--as", "cat", "--limit", "0")
    assert code == 0, err
    assert "Ann" not in out
    assert "1 of 1 open deals flagged" in out
    code, out, err = run_cli(capsys, url, "playbook", "hygiene-snapshot", "--on", "2025-02-15")
    assert (code, out) == (0, "hygiene of 2 reps recorded\n"), err
    code, _, err = run_cli(capsys, url, "playbook", "note", "1", "Who signs?", "--as", "ann")
    assert code == 5, err
    assert "cannot write coaching notes" in err
    code, out, err = run_cli(capsys, url, "playbook", "note", "1", "Who signs?", "--flag", "stale")
    assert code == 0, err
    assert out.startswith("note ")


def test_feedback_from_the_shell(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(
        capsys, url, "playbook", "feedback-submit", "process", "Too many fields", "Cut them",
        "--as", "ann",
    )  # fmt: skip
    assert code == 0, err
    item = out.split()[1]
    code, _, err = run_cli(
        capsys, url, "playbook", "feedback-triage", item, "--status", "done", "--as", "ann"
    )
    assert code == 5, err
    code, out, err = run_cli(
        capsys, url, "playbook", "feedback-triage", item, "--status", "done", "--owner", "cat",
        "--change-made", "Removed 4 fields",
    )  # fmt: skip
    assert (code, out.strip()) == (0, f"feedback {item}: done"), err
    code, out, _ = run_cli(capsys, url, "playbook", "feedback", "--status", "done")
    assert "Too many fields" in out
