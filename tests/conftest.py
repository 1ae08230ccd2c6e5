"""Shared fixtures: every database test runs on SQLite and, when configured, on PostgreSQL."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from salesops.pipeline import stages
from tests.databases import (
    PG_ENV,
    fresh_postgres_url,
    fresh_sqlite_url,
    migrated_engine,
    postgres_base_url,
)

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
IN_CI = os.environ.get("CI", "").lower() == "true"


def require_postgres() -> None:
    """Skip with a reason on a developer machine without PostgreSQL; fail under CI."""
    if postgres_base_url() is None:
        if IN_CI:
            pytest.fail(f"{PG_ENV} must be set under CI: database tests must run on PostgreSQL")
        pytest.skip(f"PostgreSQL tests need {PG_ENV} (e.g. postgresql://postgres@127.0.0.1/test)")


def scratch_url(kind: str, directory: Path, suffix: str) -> str:
    """A fresh, empty database URL of `kind` ("sqlite" or "postgresql") for one test."""
    if kind == "postgresql":
        require_postgres()
        return fresh_postgres_url(suffix)
    return fresh_sqlite_url(directory, suffix)


def run_cli(capsys: pytest.CaptureFixture[str], url: str, *args: str) -> tuple[int, str, str]:
    """Run the real CLI entry point in-process (a subprocess costs seconds of imports)."""
    from salesops.cli.main import main

    argv = sys.argv
    sys.argv = ["salesops", "--database-url", url, *args]
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = int(exc.code or 0)
    finally:
        sys.argv = argv
    out, err = capsys.readouterr()
    return code, out, err


def shared_data(relative: str) -> Path:
    """A file under ../shared/data: skipped with a reason when absent, a failure under CI."""
    path = SHARED_DATA / relative
    if not path.exists():
        if IN_CI:
            pytest.fail(f"{path} is missing: real-data tests must run under CI")
        pytest.skip(f"{path} is not available on this machine")
    return path


@pytest.fixture(scope="session", autouse=True)
def user_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The user cache directory (where the metrics cache files of PostgreSQL databases go by
    default) is a scratch folder, so test runs leave nothing in the home directory."""
    folder = tmp_path_factory.mktemp("user-cache")
    before = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(folder)
    yield folder
    if before is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = before


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """A migrated database of each kind, shared by the tests of one worker."""
    eng = migrated_engine(scratch_url(request.param, tmp_path_factory.mktemp("db"), "shared"))
    yield eng
    eng.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session inside a transaction that is rolled back after the test."""
    connection = engine.connect()
    transaction = connection.begin()
    db = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    stages.ensure_stages(db)
    try:
        yield db
    finally:
        db.close()
        transaction.rollback()
        connection.close()
