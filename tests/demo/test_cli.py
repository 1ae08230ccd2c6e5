"""`salesops demo` end to end: database and Parquet output, refusals as one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq
from typer.testing import CliRunner

from salesops.cli.main import app
from tests.databases import fresh_sqlite_url


def salesops(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "salesops", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        timeout=120,
        check=False,
    )


def test_demo_builds_into_an_empty_database_and_then_refuses_to_overwrite(tmp_path: Path) -> None:
    url = fresh_sqlite_url(tmp_path, "cli")
    first = salesops("--database-url", url, "demo", "--opportunities", "300", "--seed", "5")
    assert first.returncode == 0, first.stderr
    assert "opportunities" in first.stdout
    assert "300" in first.stdout
    second = salesops("--database-url", url, "demo", "--opportunities", "300")
    assert second.returncode == 4
    assert second.stderr.strip().count("\n") == 0
    assert "--replace" in second.stderr
    assert "Traceback" not in second.stderr
    third = CliRunner().invoke(app, ["--database-url", url, "demo", "-n", "200", "--replace"])
    assert third.exit_code == 0, third.output
    assert "200" in third.output


def test_invalid_options_fail_with_one_line_naming_the_option(tmp_path: Path) -> None:
    url = fresh_sqlite_url(tmp_path, "bad")
    result = salesops("--database-url", url, "demo", "--opportunities", "3", "--end", "31/10/2026")
    assert result.returncode == 2
    assert "--end" in result.stderr
    assert result.stderr.strip().count("\n") == 0


def test_parquet_output_has_one_readable_file_per_table_with_the_reported_rows(
    tmp_path: Path,
) -> None:
    out = tmp_path / "demo"
    result = CliRunner().invoke(
        app, ["demo", "--opportunities", "400", "--parquet", str(out)], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    files = {p.stem: p for p in out.glob("*.parquet")}
    assert {"opportunities", "opportunity_events", "accounts", "quotas", "pipeline_stages"} <= set(
        files
    )
    for name, path in files.items():
        rows = pq.read_metadata(path).num_rows
        assert f"{name} " in result.output
        assert f"{rows:,}" in result.output.split(f"{name} ", 1)[1].split("\n", 1)[0]
    assert pq.read_metadata(files["opportunities"]).num_rows == 400
    again = CliRunner().invoke(app, ["demo", "-n", "400", "--parquet", str(out)])
    assert again.exit_code != 0
    assert "--replace" in str(again.exception)


def test_the_end_date_option_pins_the_company_and_defaults_to_today(tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"COLUMNS": "200"}
    for name in ("a", "b"):
        result = runner.invoke(
            app,
            ["demo", "-n", "150", "--end-date", "2026-10-31", "--parquet", str(tmp_path / name)],
            env=env,
        )
        assert result.exit_code == 0, result.output
        assert "to 2026-10-31" in result.output
    first = pq.read_table(tmp_path / "a" / "opportunities.parquet")
    assert first.equals(pq.read_table(tmp_path / "b" / "opportunities.parquet"))
    today = runner.invoke(app, ["demo", "-n", "150", "--parquet", str(tmp_path / "c")], env=env)
    assert today.exit_code == 0, today.output
    assert f"to {datetime.now(UTC).date().isoformat()}" in today.output


def test_if_empty_builds_once_and_then_leaves_the_data_alone(tmp_path: Path) -> None:
    url = fresh_sqlite_url(tmp_path, "ifempty")
    runner = CliRunner()
    args = ["--database-url", url, "demo", "-n", "150", "--if-empty"]
    first = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert first.exit_code == 0, first.output
    assert "built into" in first.output
    second = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert second.exit_code == 0, second.output
    assert "already holds 150 opportunities; no demo built" in second.output
