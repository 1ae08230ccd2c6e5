"""`salesops metrics ...` on a committed copy of the edge-case company."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from salesops.cli.main import app
from salesops.errors import ValidationFailed
from salesops.pipeline import stages
from tests.databases import fresh_sqlite_url, migrated_engine
from tests.metrics.scenario import build


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> str:
    database = fresh_sqlite_url(tmp_path_factory.mktemp("cli"), "metrics_cli")
    engine = migrated_engine(database)
    with Session(engine) as session:
        stages.ensure_stages(session)
        build(session)
        session.commit()
    engine.dispose()
    return database


def run(url: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        app, ["--database-url", url, "metrics", *args], env={"COLUMNS": "200"}
    )
    return result.exit_code, result.output


def test_query_as_json_is_an_array_keyed_by_dimension_and_metric_name(url: str) -> None:
    code, out = run(url, "query", "win_rate", "--by", "owner", "--format", "json")
    assert code == 0, out
    assert json.loads(out) == [
        {"owner": "Ann Seller", "win_rate": 2 / 3},
        {"owner": "Bob Seller", "win_rate": 1.0},
        {"owner": "Cid Seller", "win_rate": 0.0},
    ]
    code, out = run(
        url, "query", "bookings", "--grain", "month", "--from", "2025-02-01", "--to",
        "2025-02-28", "--compare", "previous", "--format", "json",
    )  # fmt: skip
    assert code == 0, out
    assert json.loads(out) == [
        {"period": "2025-02-01", "bookings": 600.0, "previous": 2500.0, "delta": -1900.0,
         "pct_change": -0.76}
    ]  # fmt: skip


def test_query_as_csv_and_table_with_filters_as_of_and_parameters(url: str) -> None:
    code, out = run(
        url, "query", "pipeline_value", "--by", "team", "--filter", "team=Sales",
        "--as-of", "2025-01-31", "--format", "csv",
    )  # fmt: skip
    assert code == 0, out
    assert list(csv.DictReader(io.StringIO(out))) == [{"team": "Sales", "pipeline_value": "6960.0"}]
    code, out = run(url, "query", "stalled_deals", "--param", "stalled_days=100000")
    assert code == 0, out
    assert "Stalled deals" in out
    code, out = run(url, "query", "win_rate", "--explain")
    assert code == 0
    assert "SELECT" in out


def test_list_show_funnel_and_waterfall(url: str) -> None:
    code, out = run(url, "list", "--format", "json")
    assert code == 0
    assert "quota_attainment_rate" in {m["name"] for m in json.loads(out)}
    code, out = run(url, "show", "win_rate")
    assert code == 0
    assert "Denominator" in out
    assert "SELECT" in out
    code, out = run(url, "funnel", "--format", "json")
    assert code == 0
    assert json.loads(out)[0] == {
        "stage": "Prospecting", "entered": 8, "advanced": 6, "conversion": 0.75, "won": 3,
        "win_rate": 0.375,
    }  # fmt: skip
    code, out = run(
        url, "waterfall", "--from", "2025-01-31", "--to", "2025-03-31", "--format", "csv"
    )
    assert code == 0, out
    steps = {r["step"]: r["amount"] for r in csv.DictReader(io.StringIO(out))}
    assert steps["starting"] == "6960.0"
    assert steps["ending"] == "1060.0"


def test_user_errors_are_one_line_with_an_exit_code(url: str, tmp_path: Path) -> None:
    code, out = run(url, "query", "win_rate", "--by", "planet")
    assert code != 0
    # Every problem of a query is named at once, not only the first one found.
    args = ["query", "win_rate", "--by", "planet", "--grain", "fortnight"]
    result = CliRunner().invoke(app, ["--database-url", url, "metrics", *args])
    assert isinstance(result.exception, ValidationFailed)
    flat = str(result.exception)
    assert "cannot be sliced by 'planet'" in flat
    assert "unknown grain 'fortnight'" in flat
    (tmp_path / "bad.yaml").write_text("metrics: {x: {kind: nope}}", encoding="utf-8")
    code, _ = run(url, "validate", str(tmp_path))
    assert code != 0
    good = tmp_path / "good"
    good.mkdir()
    code, out = run(url, "validate", str(good))
    assert code == 0
    assert "0 metric(s) valid" in " ".join(out.split())


def test_a_large_result_prints_plain_aligned_columns_with_a_note_instead_of_a_table(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from salesops.metrics import cli

    args = ["--database-url", url, "metrics", "query", "win_rate", "--by", "owner"]
    drawn = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert drawn.exit_code == 0, drawn.output
    assert "┃" in drawn.stdout
    assert "rows: printed as plain columns" not in drawn.output
    monkeypatch.setattr(cli, "TABLE_ROWS", 2)
    plain = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert plain.exit_code == 0, plain.output
    assert plain.stdout.splitlines()[1:] == [
        "owner       win_rate",
        "----------  --------",
        "Ann Seller    0.6667",
        "Bob Seller         1",
        "Cid Seller         0",
    ]
    assert "3 rows: printed as plain columns" in plain.stderr
    assert "--format csv" in plain.stderr
    # csv and json are written a row at a time and are the same text as before.
    code, out = run(url, "query", "win_rate", "--by", "owner", "--format", "json")
    assert code == 0
    assert out == json.dumps(json.loads(out), indent=2) + "\n"
    code, out = run(url, "query", "win_rate", "--by", "owner", "--format", "csv")
    assert out.splitlines() == [
        "owner,win_rate",
        "Ann Seller,0.6666666666666666",
        "Bob Seller,1.0",
        "Cid Seller,0.0",
    ]
