"""`salesops territories ...` and `salesops proposals ...` end to end on a committed database."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from salesops.models import AccountOwner, Proposal
from tests.conftest import run_cli, scratch_url
from tests.databases import migrated_engine
from tests.factories import make_account, make_rep

TERRITORIES = """\
territories:
  - name: Germany
    rules: {country: [DE]}
  - name: France
    rules: {country: [FR]}
"""
SCENARIO = """\
name: even
balance:
  - {measure: accounts, lo: 1, hi: 1}
weights: {disruption: 1, disruption_measure: accounts}
"""


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    db_url = scratch_url(request.param, tmp_path, "territories_cli")
    engine = migrated_engine(db_url)
    with Session(engine) as session:
        a, b = make_rep(session, name="Anna"), make_rep(session, name="Ben")
        for i, country in enumerate(["DE", "DE", "FR", "IT"]):
            acc = make_account(session, name=f"Acc{i}")
            acc.country = country
            session.add(
                AccountOwner(
                    account_id=acc.id, rep_id=a.id, valid_from=date(2025, 1, 1), valid_to=None
                )
            )
        del b
        session.commit()
    engine.dispose()
    return db_url


def test_load_check_show_plan_propose_approve_apply_and_roll_back(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    defs, scen = tmp_path / "t.yaml", tmp_path / "s.yaml"
    defs.write_text(TERRITORIES, encoding="utf-8")
    scen.write_text(SCENARIO, encoding="utf-8")
    assert run_cli(capsys, url, "territories", "load", str(defs))[0] == 0
    code, out, _ = run_cli(capsys, url, "territories", "check", "--format", "json")
    report = json.loads(out)
    assert code == 1
    assert [a["name"] for a in report["unmatched"]] == ["Acc3"]
    assert report["placed"] == {"France": 1, "Germany": 2}
    code, out, _ = run_cli(
        capsys, url, "territories", "show", "Germany", "--as-of", "2026-01-01", "--format", "json"
    )
    assert code == 0
    assert [a[1:] for a in json.loads(out)["accounts"]] == [["Acc0", "Anna"], ["Acc1", "Anna"]]
    code, out, err = run_cli(
        capsys,
        url,
        "territories",
        "plan",
        "--scenario",
        str(scen),
        "--as-of",
        "2026-01-01",
        "--propose",
        "--effective",
        "2026-02-01",
    )
    assert code == 0, err
    assert "gap 0.0000%" in out
    assert "saved as draft proposal" in out
    pid = out.rsplit("saved as draft proposal ", 1)[1].split()[0]
    for step in (["submit", pid], ["approve", pid, "--reason", "ok"], ["apply", pid]):
        code, out, err = run_cli(capsys, url, "proposals", *step)
        assert code == 0, err
    assert "is applied" in out
    code, out, _ = run_cli(capsys, url, "proposals", "reject", pid, "--reason", "late")
    assert code == 4
    code, out, _ = run_cli(capsys, url, "proposals", "show", pid)
    shown = json.loads(out)
    assert [h["action"] for h in shown["history"]] == ["create", "submit", "approve", "apply"]
    assert len(shown["payload"]["moves"]) == 2
    assert run_cli(capsys, url, "proposals", "rollback", pid, "--reason", "undo")[0] == 0
    engine = migrated_engine(url)
    with Session(engine) as session:
        owners = session.scalars(select(AccountOwner)).all()
        assert [o.valid_to for o in owners] == [None] * 4
        assert session.scalars(select(Proposal.state)).one() == "rolled_back"
    engine.dispose()


def test_plan_from_files_writes_csv_and_bad_files_name_their_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scen, accs, reps = tmp_path / "s.yaml", tmp_path / "a.csv", tmp_path / "r.csv"
    scen.write_text(SCENARIO, encoding="utf-8")
    accs.write_text(
        "account_id,workload,potential,current_rep\nx,1,10,r1\ny,1,20,r1\n", encoding="utf-8"
    )
    reps.write_text("rep_id,experience,quota\nr1,0.5,100\nr2,0.9,100\n", encoding="utf-8")
    out_csv = tmp_path / "plan.csv"
    url = f"sqlite:///{tmp_path / 'unused.db'}"
    code, _, err = run_cli(
        capsys,
        url,
        "territories",
        "plan",
        "--scenario",
        str(scen),
        "--accounts",
        str(accs),
        "--reps",
        str(reps),
        "--format",
        "csv",
        "-o",
        str(out_csv),
    )
    assert code == 0, err
    rows = out_csv.read_text(encoding="utf-8").splitlines()
    assert rows[0] == "account_id,rep_id,moved_from,cost,alternative,alternative_cost,why"
    assert sorted(r.split(",")[1] for r in rows[1:]) == ["r1", "r2"]
    accs.write_text("account_id,workload\nx,lots\n", encoding="utf-8")
    scen.write_text("name: s\nbalance:\n  - {measure: size, lo: 1, hi: 1}\n", encoding="utf-8")
    code, _, err = run_cli(capsys, url, "territories", "plan", "--scenario", str(scen))
    assert code == 2
    assert "s.yaml:3: balance[0].measure" in err
    scen.write_text(SCENARIO, encoding="utf-8")
    code, _, err = run_cli(
        capsys,
        url,
        "territories",
        "plan",
        "--scenario",
        str(scen),
        "--accounts",
        str(accs),
        "--reps",
        str(reps),
    )
    assert code == 2
    assert "a.csv:2: workload must be a number (got 'lots')" in err
