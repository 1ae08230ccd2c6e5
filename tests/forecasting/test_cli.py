"""`salesops forecast ...` end to end on a committed database (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from sqlalchemy.orm import Session

from salesops.cli.context import console
from salesops.forecasting import service
from salesops.forecasting.periods import period_of, shift
from salesops.pipeline import stages
from tests.conftest import run_cli, scratch_url
from tests.databases import migrated_engine
from tests.forecasting.company import add_quotas, build_company


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    db_url = scratch_url(request.param, tmp_path_factory.mktemp("fc"), "forecast_cli")
    engine = migrated_engine(db_url)
    with Session(engine) as session:
        stages.ensure_stages(session)
        company = build_company(session, weeks=80)
        add_quotas(session, company, start=date(2025, 1, 1), quarters=2)
        session.commit()
    engine.dispose()
    return db_url


def run(url: str, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    return run_cli(capsys, url, *args)


def test_backtest_json_has_one_object_per_method_with_scores_and_periods(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        url,
        capsys,
        "forecast",
        "backtest",
        "--method",
        "historical",
        "--method",
        "run_rate",
        "--grain",
        "quarter",
        "--from",
        "2024-07-01",
        "--to",
        "2025-01-01",
        "--format",
        "json",
        "--sims",
        "300",
    )
    assert code == 0, err
    result = json.loads(out)
    assert [r["method"] for r in result] == ["historical", "run_rate"]
    for r in result:
        assert {"method", "wape", "bias", "mape", "coverage_p10_p90", "brier", "periods"} <= set(r)
        assert [p["period"] for p in r["periods"]] == ["2024-Q3", "2024-Q4", "2025-Q1"]
        actual = sum(p["actual"] for p in r["periods"])
        error = sum(abs(p["forecast"] - p["actual"]) for p in r["periods"])
        assert r["wape"] == pytest.approx(error / actual, rel=1e-6)
        width = sum(p["p90"] - p["p10"] for p in r["periods"])
        assert r["interval_width"] == pytest.approx(width / actual, rel=1e-6)
        loss = sum(
            max(q * (p["actual"] - p[k]), (q - 1) * (p["actual"] - p[k]))
            for p in r["periods"]
            for q, k in ((0.1, "p10"), (0.5, "p50"), (0.9, "p90"))
        )
        assert r["quantile_loss"] == pytest.approx(2 * loss / actual / 3, rel=1e-6)
        assert r["periods_without_bookings"] == []
    assert result[0]["brier"] is not None
    assert result[1]["brier"] is None  # top-down: no deal-level probabilities


def test_table_output_and_unknown_methods(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        url,
        capsys,
        "forecast",
        "backtest",
        "--method",
        "stage_weighted",
        "--from",
        "2024-10-01",
        "--to",
        "2025-01-01",
        "--sims",
        "200",
    )
    assert code == 0
    assert "WAPE" in out
    assert "stage_weighted" in out
    code, _, err = run(url, capsys, "forecast", "backtest", "--method", "magic")
    assert code == 2
    assert "unknown method(s) magic" in err
    assert "Traceback" not in err


def test_run_then_calls_then_risk(
    url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = run(
        url,
        capsys,
        "forecast",
        "run",
        "--as-of",
        "2025-01-01",
        "--method",
        "ml",
        "--horizon",
        "2",
        "--sims",
        "300",
        "--format",
        "json",
    )
    assert code == 0, err
    [made] = json.loads(out)
    assert made["method"] == "ml"
    assert [ln["period_start"] for ln in made["lines"]] == ["2025-01-01", "2025-04-01"]

    code, out, err = run(
        url,
        capsys,
        "forecast",
        "call",
        "--rep",
        "Rep 0",
        "--period",
        "2025-Q1",
        "--commit",
        "1000",
        "--best-case",
        "2000",
        "--pipeline",
        "3000",
    )
    assert code == 0, err
    assert "commit 1,000" in out
    code, out, _ = run(url, capsys, "forecast", "calls", "--period", "2025-Q1", "--format", "json")
    [region] = json.loads(out)
    assert region["commit"] == "1000.00"
    code, out, _ = run(url, capsys, "forecast", "calls", "--period", "2025-Q1")
    assert "Team 0" in out

    code, out, err = run(url, capsys, "forecast", "risk", "--format", "json")
    assert code == 0, err
    report = json.loads(out)
    assert report["run_id"] == made["run_id"]
    assert {"deals", "coverage", "shortfalls"} <= set(report)
    monkeypatch.setattr(console, "width", 200)
    code, out, _ = run(url, capsys, "forecast", "risk")
    assert "risky deals" in out
    # Money and percentages as the rest of the CLI prints them: 4 reps x 60,000 of quota.
    shortfalls = out.split("periods vs target")[1]
    assert "240,000" in shortfalls
    assert "240000.00" not in out
    assert re.search(r"\d%", shortfalls)
    assert not re.search(r"\d\.\d{3}\b", out)  # no bare 0.123 ratios

    # Call accuracy names the callers, and only scores periods that have ended.
    code, out, err = run(url, capsys, "forecast", "calls", "--period", "2025-Q1", "--accuracy")
    assert code == 0, err
    assert "Rep 0" in out
    current = period_of(date.today(), "quarter").label
    code, out, err = run(url, capsys, "forecast", "calls", "--period", current, "--accuracy")
    assert code == 0, err
    assert f"not scored: {current} has not ended" in out

    # The stored run is listed and shown, with its team lines on request.
    code, out, err = run(url, capsys, "forecast", "runs", "--format", "json")
    assert code == 0, err
    listed = json.loads(out)
    assert listed[0]["id"] == made["run_id"]
    assert all(ln["team_id"] is None for ln in listed[0]["lines"])
    code, out, err = run(url, capsys, "forecast", "runs", "--kind", "forecast")
    assert code == 0, err
    assert f"{made['run_id']}" in out
    assert "ml" in out
    code, out, err = run(
        url, capsys, "forecast", "show", str(made["run_id"]), "--teams", "--format", "json"
    )
    assert code == 0, err
    shown = json.loads(out)
    company = [ln for ln in shown["lines"] if ln["team_id"] is None]
    assert [ln["expected"] for ln in company] == [ln["expected"] for ln in made["lines"]]
    assert {ln["team_id"] for ln in shown["lines"]} - {None}
    # Wide enough for every column whatever COLUMNS the test run has (CI sets 80).
    monkeypatch.setattr(console, "width", 160)
    code, out, err = run(url, capsys, "forecast", "show", str(made["run_id"]), "--teams")
    assert code == 0, err
    for name in ("company", "Team 0", "Region"):
        assert name in out


def test_bad_options_are_refused_with_what_is_wrong(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(url, capsys, "forecast", "run", "--sims", "0", "--horizon", "40")
    assert code != 0
    assert "horizon must be between 1 and 12 periods (got 40)" in err
    assert "sims must be between 100 and 20,000 (got 0)" in err
    code, _, err = run(url, capsys, "forecast", "run", "--format", "xml")
    assert code != 0
    assert "--format must be table or json" in err
    code, _, err = run(url, capsys, "forecast", "calls", "--period", "2025-Q5")
    assert code != 0
    assert "period must be a quarter like 2025-Q1, a month like 2025-03" in err
    # A backtest only scores periods that have ended.
    code, _, err = run(
        url, capsys, "forecast", "backtest", "--method", "run_rate", "--from", "2030-01-01",
        "--to", "2030-04-01",
    )  # fmt: skip
    assert code != 0
    assert "a backtest scores periods that have ended" in err
    assert "(give --to " in err
    # Without --from/--to the range ends with the latest start whose periods have all ended,
    # whatever the horizon.
    code, out, err = run(
        url, capsys, "forecast", "backtest", "--method", "run_rate", "--grain", "month",
        "--horizon", "3", "--format", "json", "--sims", "200",
    )  # fmt: skip
    assert code == 0, err
    [score] = json.loads(out)
    latest = max(date.fromisoformat(p["period_start"]) for p in score["periods"])
    today = date.today()
    assert (latest.year, latest.month) < (today.year, today.month)


def test_backtests_stop_where_the_data_ends(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    engine = migrated_engine(url)
    with Session(engine) as session:
        end = service.data_end(session)
    engine.dispose()
    assert end is not None
    assert end.date() < date(2026, 1, 1)
    # Ended by today, but after the last deal was created, closed or changed: refused.
    code, _, err = run(
        url, capsys, "forecast", "backtest", "--method", "run_rate", "--from", "2026-01-01",
        "--to", "2026-04-01", "--sims", "200",
    )  # fmt: skip
    assert code != 0
    assert f"the data ends on {end.date()}" in err
    assert "with nothing to score against" in err
    # The default range ends with the last period the data covers completely.
    code, out, err = run(
        url, capsys, "forecast", "backtest", "--method", "run_rate", "--grain", "month",
        "--format", "json", "--sims", "200",
    )  # fmt: skip
    assert code == 0, err
    [score] = json.loads(out)
    latest = max(date.fromisoformat(p["period_start"]) for p in score["periods"])
    assert latest == shift(period_of(end.date() + timedelta(days=1), "month").start, -1, "month")
    assert all(p["actual"] > 0 for p in score["periods"])


def test_as_of_a_day_means_the_end_of_that_day(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        url, capsys, "forecast", "run", "--as-of", "2025-01-07", "--method", "stage_weighted",
        "--horizon", "1", "--format", "json", "--sims", "200",
    )  # fmt: skip
    assert code == 0, err
    [stored] = json.loads(out)
    assert stored["as_of"].startswith("2025-01-07T23:59:59.999999")


def test_stored_runs_refuse_bad_options(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(url, capsys, "forecast", "show", "987654")
    assert code != 0
    assert "forecast run 987654 does not exist" in err
    code, _, err = run(url, capsys, "forecast", "runs", "--kind", "nightly")
    assert code != 0
    assert "--kind must be forecast or backtest" in err
    code, _, err = run(url, capsys, "forecast", "runs", "--method", "crystal_ball")
    assert code != 0
    assert "unknown method" in err
