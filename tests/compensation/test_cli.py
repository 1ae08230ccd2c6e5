"""`salesops comp ...` end to end on a scratch database."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from salesops.db.engine import session_scope
from salesops.pipeline import stages
from tests.compensation.test_service import PLAN, won
from tests.conftest import run_cli
from tests.databases import migrated_engine
from tests.factories import make_rep


def test_calculate_and_statement_with_csv(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'comp.db'}"
    engine = migrated_engine(url)
    with session_scope(engine) as session:
        setup_db(session, tmp_path)
    engine.dispose()
    plans = str(tmp_path / "plans")
    code, out, err = run_cli(
        capsys, url, "comp", "calculate", "--period", "2026-Q1", "--plans", plans
    )
    assert code == 0, err
    assert "total 11,000.00 USD" in out  # 110,000 credited x 10%
    csv = tmp_path / "ann.csv"
    code, out, err = run_cli(
        capsys, url, "comp", "statement", "Ann Cli", "--period", "2026-Q1", "--csv", str(csv)
    )
    assert code == 0, err
    rows = csv.read_text().splitlines()
    assert rows[0] == "plan,rule,kind,tier,rate,credited,amount,deals,note"
    assert rows[1].startswith("ae@v1,commission,commission,tier 1,0.1,80000.00,8000.00,")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "x.yaml").write_text("plan: x\nversion: 1\neffective_from: 2026-01-01\nrules: 3\n")
    code, out, err = run_cli(capsys, url, "comp", "plans", "validate", str(bad / "x.yaml"))
    assert code == 2
    assert "x.yaml:4: rules" in out + err


def setup_db(session: Session, tmp_path: Path) -> None:
    stages.ensure_stages(session)
    ann = make_rep(session, name="Ann Cli")
    (tmp_path / "plans").mkdir()
    text = PLAN.format(ann=ann.name, bob=ann.name).replace(
        '  - {rep: "Ann Cli", quota: 100000}\n', "", 1
    )
    (tmp_path / "plans" / "ae.yaml").write_text(text)
    won(session, ann, 80000, date(2026, 2, 10))
    won(session, ann, 30000, date(2026, 3, 5))
