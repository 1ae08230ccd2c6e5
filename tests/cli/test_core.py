"""`salesops init`, `status` and `summary`, and how the CLI reports user errors."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from salesops.cli.lazy import LazyGroup
from salesops.cli.main import app
from tests.conftest import scratch_url
from tests.databases import fresh_sqlite_url


def salesops(*args: str, url: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SALESOPS_DATABASE_URL": url, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "salesops", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
        check=False,
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    return scratch_url(request.param, tmp_path, "cli")


def test_init_creates_the_schema_and_stages_and_is_idempotent(empty_url: str) -> None:
    first = salesops("init", url=empty_url)
    assert first.returncode == 0, first.stderr
    assert "upgraded from empty" in first.stdout
    assert "default pipeline stages created" in first.stdout
    second = salesops("init", url=empty_url)
    assert second.returncode == 0, second.stderr
    assert "already at" in second.stdout


def test_status_lists_every_table_with_its_row_count(empty_url: str) -> None:
    salesops("init", url=empty_url)
    result = salesops("status", url=empty_url)
    assert result.returncode == 0, result.stderr
    assert "pipeline_stages" in result.stdout
    assert "opportunity_events" in result.stdout
    assert "open opportunities: 0" in result.stdout


def test_commands_on_an_empty_database_say_to_run_init_without_a_traceback(
    empty_url: str,
) -> None:
    result = salesops("status", url=empty_url)
    assert result.returncode == 6
    assert "run `salesops init`" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_an_unreachable_database_is_one_clear_line(tmp_path: Path) -> None:
    result = salesops("status", url="postgresql://nobody@127.0.0.1:1/none")
    assert result.returncode == 7
    assert result.stderr.startswith("database error:")
    assert "Traceback" not in result.stderr


def test_a_nonsense_database_url_is_refused_clearly(tmp_path: Path) -> None:
    result = salesops("status", url="not a url")
    assert result.returncode == 6
    assert "invalid database URL" in result.stderr


def test_the_database_url_defaults_to_salesops_db_in_the_working_directory(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if k != "SALESOPS_DATABASE_URL"}
    result = subprocess.run(
        [sys.executable, "-m", "salesops", "init"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "salesops.db").exists()


def test_the_global_option_overrides_the_environment(tmp_path: Path) -> None:
    target = fresh_sqlite_url(tmp_path, "option")
    result = salesops("--database-url", target, "init", url="not a url")
    assert result.returncode == 0, result.stderr
    assert target in result.stdout


def test_help_lists_the_commands() -> None:
    result = salesops("--help", url="sqlite://")
    assert result.returncode == 0
    for command in ("init", "status", "demo", "summary"):
        assert command in result.stdout


@pytest.mark.parametrize("name", sorted(LazyGroup.lazy))
def test_every_registered_command_loads_and_explains_itself(name: str) -> None:
    result = CliRunner().invoke(app, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
    assert name in result.output


def test_the_root_help_does_not_import_the_domain_packages() -> None:
    code = (
        "import sys\n"
        "from salesops.cli.main import app\n"
        "from typer.testing import CliRunner\n"
        "CliRunner().invoke(app, ['--help'])\n"
        "heavy = [m for m in ('ibis', 'pandas', 'sklearn', 'fastapi') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == ""
