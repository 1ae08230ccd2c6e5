"""Import from an upload: a dry run whose summary is shown before anything is written, the
rejects downloadable, then the same files committed through `ingest.service.run_import`."""

from __future__ import annotations

import re
import time
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from salesops.models import AuditEntry, Opportunity
from tests.ingest.conftest import DEALS_MAPPING
from tests.orgchart import Org
from tests.web.test_pages import _form_token, sign_in

REPS = b"rep_id,name\nr1,Ana Alves\nr2,Ben Berg\n"
DEALS = (
    b"id,name,rep,stage,amount,close,created\n"
    b"d1,Alpha,r1,Prospecting,1000,31/03/2025,2025-01-10\n"
    b"d2,Beta,r2,Won,2500.50,15/02/2025,2025-01-05\n"
    b"d3,Gamma,r1,Nowhere,700,30/04/2025,2025-02-01\n"
)


def _opps(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Opportunity)) or 0


def _upload(client: TestClient, **extra: object) -> object:
    token = _form_token(client.get("/imports").text)
    files = [
        ("files", ("reps.csv", REPS, "text/csv")),
        ("files", ("deals.csv", DEALS, "text/csv")),
        ("mapping", ("mapping.yaml", DEALS_MAPPING.encode(), "application/yaml")),
    ]
    return client.post(
        "/imports", data={"csrf_token": token, "source": "csv", **extra}, files=files
    )


def test_an_upload_is_a_dry_run_first_then_committed_with_its_rejects_downloadable(
    app: FastAPI, session: Session, org: Org, tmp_path: Path
) -> None:
    ops = sign_in(app, session, org, "ops_rep")
    before = _opps(session)
    reply = _upload(ops, as_of="2025-03-01T00:00")
    assert reply.status_code == 200, reply.text  # type: ignore[attr-defined]
    html = reply.text  # type: ignore[attr-defined]
    assert "Dry run: what the import would do" in html
    row = re.search(r'data-testid="import-row-opportunities">(.*?)</tr>', html, re.S)
    assert row is not None
    cells = re.findall(r'<td class="num">([^<]*)</td>', row.group(1))
    assert cells[:2] == ["3", "2"]  # read 3, would insert 2
    assert cells[4] == "1"  # 1 rejected
    assert _opps(session) == before  # nothing written yet
    # d2 is won and the mapping has no lifecycle: the page says what that means, with d2
    warning = re.search(r'data-testid="import-warning">([^<]*)</div>', html)
    assert warning is not None
    assert "1 closed deal(s) were imported with no history (e.g. &#39;d2&#39;" in warning.group(1)
    link = re.search(r'href="(/imports/[^"]+/rejects-dry-run\.csv)"', html)
    assert link is not None
    rejects = ops.get(link.group(1))
    assert rejects.status_code == 200
    assert "Nowhere" in rejects.text
    assert rejects.text.startswith("_file,_line,_table,_reason")
    # Another importer cannot fetch or commit someone else's upload.
    director = sign_in(app, session, org, "director")
    assert director.get(link.group(1)).status_code == 404
    commit = re.search(r'action="(/imports/[^"]+/commit)"', html)
    assert commit is not None
    done = ops.post(commit.group(1), data={"csrf_token": _form_token(html)})
    assert done.status_code == 200, done.text
    assert 'data-testid="import-done"' in done.text
    assert _opps(session) == before + 2
    entry = session.scalars(select(AuditEntry).where(AuditEntry.entity == "import")).one()
    assert entry.user_id == org.users["ops_rep"].id
    assert entry.changes["tables"]["opportunities"]["inserted"] == 2
    assert entry.changes["files"] == ["deals.csv", "reps.csv"]
    again = ops.post(commit.group(1), data={"csrf_token": _form_token(html)})
    assert again.status_code == 422  # an upload is imported once


def test_an_upload_without_a_mapping_or_with_unknown_files_is_explained(
    app: FastAPI, session: Session, org: Org
) -> None:
    ops = sign_in(app, session, org, "ops_rep")
    token = _form_token(ops.get("/imports").text)
    reply = ops.post(
        "/imports",
        data={"csrf_token": token, "source": "csv"},
        files=[("files", ("notes.pdf", b"%PDF", "application/pdf"))],
    )
    assert reply.status_code == 422
    assert 'data-testid="error-files">notes.pdf: not a data file' in reply.text
    assert 'data-testid="error-mapping">a CSV or XLSX import needs its mapping file' in reply.text
    mismatch = ops.post(
        "/imports",
        data={"csrf_token": token, "source": "salesforce"},
        files=[("files", ("deals.csv", DEALS, "text/csv"))],
    )
    assert mismatch.status_code == 422
    assert "none of the files matches the salesforce mapping" in mismatch.text


def test_uploads_older_than_a_day_are_removed_when_the_next_one_arrives(
    app: FastAPI, session: Session, org: Org
) -> None:
    import os

    from salesops.web.imports import KEEP_SECONDS, upload_root

    stale = upload_root() / ("x" * 32)
    stale.mkdir(parents=True, exist_ok=True)
    old = time.time() - KEEP_SECONDS - 60
    os.utime(stale, (old, old))
    ops = sign_in(app, session, org, "ops_rep")
    assert _upload(ops).status_code == 200  # type: ignore[attr-defined]
    assert not stale.exists()


def test_only_ops_directors_and_admins_import(app: FastAPI, session: Session, org: Org) -> None:
    for name in ("analyst", "mia", "ann"):
        client = sign_in(app, session, org, name)
        assert client.get("/imports").status_code == 403, name
        assert 'href="/imports"' not in client.get("/deals").text
    analyst = sign_in(app, session, org, "analyst")
    token = _form_token(analyst.get("/deals").text)
    refused = analyst.post(
        "/imports",
        data={"csrf_token": token, "source": "csv"},
        files=[("files", ("deals.csv", DEALS, "text/csv"))],
    )
    assert refused.status_code == 403
