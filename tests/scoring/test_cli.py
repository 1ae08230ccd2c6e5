"""`salesops deals score ...` end to end on a committed database (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session

from salesops.pipeline import stages
from tests.conftest import run_cli, scratch_url
from tests.databases import migrated_engine
from tests.scoring.world import build_world


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    db_url = scratch_url(request.param, tmp_path_factory.mktemp("score"), "score_cli")
    engine = migrated_engine(db_url)
    with Session(engine) as session:
        stages.ensure_stages(session)
        build_world(session)
        session.commit()
    engine.dispose()
    return db_url


def test_evaluate_train_apply_and_show(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, url, "deals", "score", "evaluate", "--format", "json")
    assert code == 0, err
    result = json.loads(out)
    assert result["mode"] == "history"
    assert result["design"] == "time-ordered hold-out"
    assert set(result["model"]) == {"rows", "positives", "auc", "brier", "log_loss"}
    assert "attr:client_size" in result["features"]["categorical"]

    code, out, err = run_cli(capsys, url, "deals", "score", "train")
    assert code == 0, err
    assert out.startswith("trained deal_win version 1 on ")

    code, out, err = run_cli(
        capsys, url, "deals", "score", "apply", "--as-of", "2025-12-20", "--format", "json"
    )
    assert code == 0, err
    scores = json.loads(out)
    assert len(scores) == 4
    assert all(0 <= s["p_win"] <= 1 and s["model_version"] == 1 for s in scores)

    code, out, err = run_cli(capsys, url, "deals", "score", "show")
    assert code == 0, err
    assert "client_size" in out


def test_user_errors_are_one_line(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, url, "deals", "score", "evaluate", "--mode", "sometimes")
    assert code != 0
    assert "--mode must be history or final-state (got 'sometimes')" in err
    assert "Traceback" not in err
