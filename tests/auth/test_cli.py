"""`salesops users`, `salesops tokens` and the demo sign-ins, against a real database file."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from salesops.auth import service as auth
from salesops.db import make_engine, session_scope
from salesops.models import ApiToken, AuditEntry, User
from tests.conftest import run_cli
from tests.databases import migrated_engine

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    """The real CLI entry point, run in-process."""

    def invoke(url: str, *args: str) -> Result:
        return Result(*run_cli(capsys, url, *args))

    return invoke


@pytest.fixture(scope="module")
def db_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('cli') / 'cli.db'}"
    migrated_engine(url).dispose()
    return url


def test_users_and_tokens_from_the_command_line(db_url: str, run: Callable[..., Result]) -> None:
    created = run(db_url, "users", "create", "root", "--role", "admin", "--password", "pw-long-1")
    assert created.returncode == 0, created.stderr
    again = run(db_url, "users", "create", "root", "--role", "admin", "--password", "pw-long-1")
    assert again.returncode == 4
    assert "already exists" in again.stderr
    bad = run(db_url, "users", "create", "x", "--role", "king", "--password", "pw-long-1")
    assert bad.returncode == 2
    assert run(db_url, "users", "set-role", "root", "director").returncode == 0
    listing = run(db_url, "users", "list")
    assert "root" in listing.stdout
    assert "director" in listing.stdout
    token = run(db_url, "tokens", "create", "root", "--name", "ci")
    assert token.returncode == 0
    secret = token.stdout.strip().splitlines()[-1]
    assert secret.startswith("so_")
    engine = make_engine(db_url)
    with session_scope(engine) as session:
        assert auth.resolve_token(session, secret) is not None
        token_id = session.scalars(select(ApiToken.id)).one()
    assert run(db_url, "tokens", "revoke", str(token_id)).returncode == 0
    assert run(db_url, "users", "disable", "root").returncode == 0
    with session_scope(engine) as session:
        assert auth.resolve_token(session, secret) is None
        user = session.scalars(select(User).where(User.username == "root")).one()
        assert user.is_active is False
        assert user.role == "director"
        actions = session.execute(
            select(AuditEntry.entity, AuditEntry.action).order_by(AuditEntry.id)
        ).all()
        assert actions == [
            ("user", "create"),
            ("user", "update"),
            ("api_token", "create"),
            ("api_token", "revoke"),
            ("user", "update"),
        ]
    engine.dispose()
