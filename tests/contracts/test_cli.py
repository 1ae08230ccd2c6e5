"""The contracts, jobs and outbox commands through the real CLI entry point."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine

from salesops.auth.scoping import system_scope
from salesops.contracts import service
from salesops.contracts.service import LineInput
from salesops.db.engine import session_scope
from salesops.models import AccountOwner, Document
from salesops.pipeline import stages
from tests.conftest import run_cli, scratch_url
from tests.databases import migrated_engine
from tests.factories import make_account, make_rep, make_user


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def cli_db(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Engine]]:
    url = scratch_url(request.param, tmp_path_factory.mktemp("db"), "cli")
    engine = migrated_engine(url)
    yield url, engine
    engine.dispose()


def test_a_contract_is_moved_amended_printed_and_its_renewals_job_run(
    cli_db: tuple[str, Engine], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    url, engine = cli_db
    with session_scope(engine) as session:
        stages.ensure_stages(session)
        user = make_user(session, username="ann_cli", role="sales_rep")
        rep = make_rep(session, user=user)
        account = make_account(session, name="Acme CLI")
        session.add(AccountOwner(account_id=account.id, rep_id=rep.id, valid_from=date(2020, 1, 1)))
        contract = service.create_contract(
            session,
            scope=system_scope(),
            by=None,
            account_id=account.id,
            start_date=date(2026, 1, 1),
            term_months=12,
            lines=[LineInput(10, Decimal(1200), Decimal("0.45"))],
        )
        cid = contract.id
    code, out, err = run_cli(
        capsys, url, "contracts", "move", str(cid), "in_review", "--as", "ann_cli"
    )
    assert code == 0, err
    # A 45 % discount needs a director: the rep cannot approve, and nothing changes.
    code, out, err = run_cli(
        capsys, url, "contracts", "move", str(cid), "approved", "--as", "ann_cli"
    )
    assert code == 5
    assert "needs a director's approval" in err
    for status in ("approved", "sent", "active"):
        code, out, err = run_cli(capsys, url, "contracts", "move", str(cid), status)
        assert code == 0, err
    code, out, err = run_cli(
        capsys,
        url,
        "contracts",
        "amend",
        str(cid),
        "--kind",
        "upsell",
        "--effective",
        "2026-07-01",
        "--add",
        "2,1200,0.25",
    )
    assert code == 0, err
    assert "annual +1,800.00, prorated +907.40" in out
    code, out, err = run_cli(
        capsys,
        url,
        "contracts",
        "amend",
        str(cid),
        "--kind",
        "upsell",
        "--effective",
        "2026-07-01",
        "--add",
        "two,1200",
    )
    assert code == 2
    assert "--add[0]" in err
    code, out, err = run_cli(capsys, url, "contracts", "documents", str(cid))
    assert code == 0, err
    with session_scope(engine) as session:
        pdf = session.query(Document).filter_by(entity_id=cid, format="pdf").one()
        pdf_id, pdf_sha = pdf.id, pdf.sha256
    target = tmp_path / "c.pdf"
    code, out, err = run_cli(
        capsys, url, "contracts", "download", str(pdf_id), "--out", str(target)
    )
    assert code == 0, err
    assert hashlib.sha256(target.read_bytes()).hexdigest() == pdf_sha
    code, out, err = run_cli(capsys, url, "contracts", "show", str(cid))
    assert "approved" in out
    assert "upsell from 2026-07-01" in out
    bad = tmp_path / "bad.html"
    bad.write_text("<p>{{ customer }}</p>")
    code, out, err = run_cli(capsys, url, "contracts", "template", "mine", str(bad))
    assert code == 2
    assert "unknown variable 'customer'" in err
    code, out, err = run_cli(capsys, url, "worker", "--once")
    assert code == 0, err
    assert "contracts.renewals: done" in out
    code, out, err = run_cli(capsys, url, "jobs", "runs")
    assert "contracts.renewals" in out
