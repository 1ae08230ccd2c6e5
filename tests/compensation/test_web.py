"""The compensation page: a rep sees their own statement, a manager their team's."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from salesops.compensation import service
from salesops.pipeline import stages
from tests.api.test_permissions import COMP_PLAN
from tests.appsupport import app, client_as, org, session  # noqa: F401 (fixtures)
from tests.orgchart import Org
from tests.web.test_pages import sign_in


@pytest.fixture
def q1_run(
    client_as: Callable[[str], TestClient],  # noqa: F811
    org: Org,  # noqa: F811
    session: Session,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (tmp_path / "flat.yaml").write_text(COMP_PLAN)
    monkeypatch.setattr(service, "plans_dir", lambda: tmp_path)
    won = stages.by_name(session, "Closed Won")
    for deals in org.opps.values():
        for deal in deals:
            deal.stage = won
    session.commit()
    reply = client_as("ops_rep").post("/api/v1/comp/runs", json={"period": "2025-Q1"})
    assert reply.status_code == 201, reply.text


def test_a_rep_sees_only_their_statement_and_a_manager_their_team(
    app: FastAPI,  # noqa: F811
    session: Session,  # noqa: F811
    org: Org,  # noqa: F811
    q1_run: None,
) -> None:
    ann = sign_in(app, session, org, "ann")
    page = ann.get("/comp", params={"period": "2025-Q1"})
    assert page.status_code == 200, page.text
    assert "Statement: Ann" in page.text
    assert "<h1>Compensation</h1>" in page.text
    # Payouts are per period: the team, territory, segment and rep filters are not offered.
    assert re.findall(r'<select name="(\w+)"', page.text) == ["period"]
    assert ">100.00<" in page.text  # 10% of 1,000
    assert ">200.00<" in page.text  # 10% of 2,000
    assert ">Bob<" not in page.text
    cat = org.reps["cat"].id
    assert ann.get("/comp", params={"period": "2025-Q1", "rep": cat}).status_code == 404
    mia = sign_in(app, session, org, "mia")
    team = mia.get("/comp", params={"period": "2025-Q1", "rep": org.reps["ann"].id})
    assert team.status_code == 200
    assert "Statement: Ann" in team.text
    assert ">Bob<" in team.text  # the team's payouts
    assert mia.get("/comp", params={"period": "2025-Q1", "rep": cat}).status_code == 404


def test_a_statement_pdf_is_scoped_like_the_statement(
    client_as: Callable[[str], TestClient],  # noqa: F811
    org: Org,  # noqa: F811
    q1_run: None,
) -> None:
    ann = client_as("ann")
    own = ann.post(
        f"/api/v1/comp/statements/{org.reps['ann'].id}/pdf", params={"period": "2025-Q1"}
    )
    assert own.status_code == 200, own.text
    assert own.headers["content-type"] == "application/pdf"
    assert own.content.startswith(b"%PDF")
    cat = org.reps["cat"].id
    assert (
        ann.post(f"/api/v1/comp/statements/{cat}/pdf", params={"period": "2025-Q1"}).status_code
        == 404
    )
