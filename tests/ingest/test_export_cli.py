"""`salesops export`: credentials only in an admin's full backup, which is audited."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from salesops.auth import service as auth
from salesops.db import make_engine, session_scope
from salesops.models import AuditEntry, LoginAttempt
from tests.conftest import run_cli
from tests.databases import fresh_sqlite_url, migrated_engine

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    url = fresh_sqlite_url(tmp_path, "export_cli")
    engine = migrated_engine(url)
    with session_scope(engine) as session:
        auth.create_user(session, "root", role="admin", password="admin-password")
        auth.create_user(session, "ann", role="analyst", password="analyst-password")
    engine.dispose()
    return url


def test_the_default_export_leaves_credentials_out_and_says_so(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(capsys, db_url, "export", str(tmp_path / "out"), "-f", "csv")
    assert code == 0, err
    assert "left out (credentials): api_tokens, web_sessions, login_attempts" in out
    assert "users.password_hash" in out
    assert "$argon2id$" not in (tmp_path / "out" / "users.csv").read_text()
    assert not (tmp_path / "out" / "api_tokens.csv").exists()


def test_a_full_backup_needs_an_admin_who_signs_in(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    target = str(tmp_path / "full")
    code, _, err = run_cli(capsys, db_url, "export", target, "--include-secrets")
    assert code == 5
    assert "--as-user" in err
    monkeypatch.setenv("SALESOPS_PASSWORD", "analyst-password")
    code, _, err = run_cli(
        capsys, db_url, "export", target, "--include-secrets", "--as-user", "ann"
    )
    assert code == 5
    assert "for admins" in err
    monkeypatch.setenv("SALESOPS_PASSWORD", "wrong-password")
    code, _, err = run_cli(
        capsys, db_url, "export", target, "--include-secrets", "--as-user", "root"
    )
    assert code == 5
    assert not Path(target).exists()
    monkeypatch.setenv("SALESOPS_PASSWORD", "admin-password")
    code, out, err = run_cli(
        capsys, db_url, "export", target, "--include-secrets", "--as-user", "root", "-f", "csv"
    )
    assert code == 0, err
    assert "left out" not in out
    manifest = json.loads((Path(target) / "manifest.json").read_text())
    assert manifest["includes_secrets"] is True
    assert "$argon2id$" in (Path(target) / "users.csv").read_text()
    engine = make_engine(db_url)
    with session_scope(engine) as session:
        root = auth.get_user(session, "root")
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "export")).one()
        assert entry.user_id == root.id
        assert entry.changes["include_secrets"]["new"] is True
        failed = session.scalar(
            select(func.count()).where(LoginAttempt.username == "root", ~LoginAttempt.succeeded)
        )
        assert failed == 1  # the wrong password counts towards the lock
    engine.dispose()
