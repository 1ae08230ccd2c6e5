"""The import and export commands, run as a user runs them: in a separate process."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text

from salesops.db import session_scope
from salesops.models import Opportunity, Rep
from salesops.pipeline import stages
from tests.conftest import scratch_url
from tests.databases import fresh_sqlite_url, migrated_engine
from tests.ingest.conftest import DEALS_MAPPING, write

SALESOPS = [str(Path(sys.executable).parent / "salesops")]


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Engine]]:
    """A fresh, migrated database with the default stages, and its URL."""
    url = scratch_url(request.param, tmp_path, "cli")
    engine = migrated_engine(url)
    with session_scope(engine) as session:
        stages.ensure_stages(session)
    yield url, engine
    engine.dispose()


def run(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SALESOPS_DATABASE_URL": url, "COLUMNS": "120"}
    return subprocess.run(
        [*SALESOPS, *args], capture_output=True, text=True, env=env, timeout=120, check=False
    )


def big_deals(path: Path, rows: int) -> Path:
    with path.open("w", encoding="utf-8") as handle:
        handle.write("id,name,rep,stage,amount,close,created\n")
        for i in range(rows):
            handle.write(
                f"d{i},Deal {i},r{1 + i % 2},Prospecting,{i % 9000},31/03/2025,2025-01-10\n"
            )
    return path


def wait_until_reading(pid: int, path: Path, *, minimum: int) -> int:
    """Wait until process `pid` has read at least `minimum` bytes of `path`; return where it is."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                if Path(os.readlink(fd)) != path:
                    continue
                info = Path(f"/proc/{pid}/fdinfo/{fd.name}").read_text()
            except OSError:
                continue
            position = int(info.split("pos:")[1].split()[0])
            if position >= minimum:
                return position
        time.sleep(0.05)
    raise AssertionError("the import never got going")


def counts(engine: Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        opps = conn.execute(select(func.count()).select_from(Opportunity)).scalar_one()
        reps = conn.execute(select(func.count()).select_from(Rep)).scalar_one()
    return opps, reps


def test_killing_an_import_midway_leaves_the_database_exactly_as_before(
    database: tuple[str, Engine], tmp_path: Path
) -> None:
    url, engine = database
    mapping = write(tmp_path / "mapping.yaml", DEALS_MAPPING)
    reps = write(tmp_path / "reps.csv", "rep_id,name\nr1,Ana\nr2,Ben\n")
    deals = big_deals(tmp_path / "deals.csv", 400_000)
    env = {**os.environ, "SALESOPS_DATABASE_URL": url}
    process = subprocess.Popen(
        [*SALESOPS, "import", "csv", str(reps), str(deals), "--mapping", str(mapping)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    size = deals.stat().st_size
    position = wait_until_reading(process.pid, deals, minimum=size // 10)
    process.send_signal(signal.SIGKILL)
    assert 0 < position < size, "the import was not midway when it was killed"
    process.wait(timeout=30)
    assert counts(engine) == (0, 0)
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA integrity_check")).scalar_one() == "ok"


def test_import_prints_a_summary_and_export_writes_every_table(
    database: tuple[str, Engine], tmp_path: Path
) -> None:
    url, engine = database
    mapping = write(tmp_path / "mapping.yaml", DEALS_MAPPING)
    reps = write(tmp_path / "reps.csv", "rep_id,name\nr1,Ana\nr2,Ben\n")
    deals = write(
        tmp_path / "deals.csv",
        "id,name,rep,stage,amount,close,created\n"
        "d1,A,r1,Won,10,31/03/2025,2025-01-10\n"
        "d2,B,r7,Won,10,31/03/2025,2025-01-10\n",
    )
    rejects = tmp_path / "out" / "rejects.csv"
    done = run(
        url, "import", "csv", str(reps), str(deals), "-m", str(mapping), "--rejects", str(rejects)
    )
    assert done.returncode == 0, done.stderr
    assert "opportunities" in done.stdout
    assert "1 rejected row(s)" in done.stdout
    assert "unknown owner 'r7'" in rejects.read_text()
    assert counts(engine) == (1, 2)
    exported = run(url, "export", str(tmp_path / "export"), "--format", "csv")
    assert exported.returncode == 0, exported.stderr
    assert (tmp_path / "export" / "manifest.json").is_file()
    assert (tmp_path / "export" / "opportunities.csv").is_file()


def test_a_user_error_is_one_line_and_an_exit_code_never_a_traceback(tmp_path: Path) -> None:
    url = fresh_sqlite_url(tmp_path, "errors")
    migrated_engine(url).dispose()
    bad = write(
        tmp_path / "bad.yaml",
        "source_system: x\nfiles:\n  - match: a.csv\n    outputs:\n      - target: nowhere\n",
    )
    done = run(url, "import", "csv", str(tmp_path), "--mapping", str(bad))
    assert done.returncode == 2
    assert "unknown target 'nowhere'" in done.stderr
    assert "Traceback" not in done.stderr


def test_an_import_refused_by_its_files_never_waits_for_the_write_lock(tmp_path: Path) -> None:
    # SQLite only: PostgreSQL has no database-wide write lock to wait for.
    url = fresh_sqlite_url(tmp_path, "lock")
    migrated_engine(url).dispose()
    mapping = write(tmp_path / "mapping.yaml", DEALS_MAPPING)
    reps = write(tmp_path / "reps.csv", "rep_id,surname\nr1,Ana\n")  # no `name` column
    other_writer = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
    other_writer.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        # Before, the import took the lock first and waited the full busy timeout (30 s).
        done = run(url, "import", "csv", str(reps), "--mapping", str(mapping))
        waited = time.monotonic() - started
    finally:
        other_writer.execute("ROLLBACK")
        other_writer.close()
    assert done.returncode == 2, done.stderr
    assert "missing column 'name'" in done.stderr
    assert waited < 20, f"the refused import waited {waited:.1f}s for the lock"


def test_an_import_holds_the_write_lock_while_it_writes(tmp_path: Path) -> None:
    url = fresh_sqlite_url(tmp_path, "writing")
    engine = migrated_engine(url)
    with session_scope(engine) as session:
        stages.ensure_stages(session)
    mapping = write(tmp_path / "mapping.yaml", DEALS_MAPPING)
    reps = write(tmp_path / "reps.csv", "rep_id,name\nr1,Ana\nr2,Ben\n")
    deals = big_deals(tmp_path / "deals.csv", 400_000)
    env = {**os.environ, "SALESOPS_DATABASE_URL": url}
    process = subprocess.Popen(
        [*SALESOPS, "import", "csv", str(reps), str(deals), "--mapping", str(mapping)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_reading(process.pid, deals, minimum=deals.stat().st_size // 10)
        probe = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=0, isolation_level=None)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            probe.execute("BEGIN IMMEDIATE")
        probe.close()
    finally:
        process.kill()
        process.wait(timeout=30)
    engine.dispose()
