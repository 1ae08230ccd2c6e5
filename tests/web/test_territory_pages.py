"""Territory pages: the roles that see the company read them; only deciders get the approve
and reject buttons; every value from the data is escaped."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy.orm import Session

from salesops.auth.scoping import system_scope
from salesops.models import Proposal
from salesops.territories import planning, service
from salesops.territories.scenario import parse_scenario
from tests.orgchart import Org
from tests.web.test_pages import _form_token, sign_in

EVIL = "<script>alert(1)</script>"


def test_territory_pages_by_role_escaped_and_a_director_approves(
    app: FastAPI, session: Session, org: Org, tmp_path: Path
) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(
        f'territories:\n  - name: "{EVIL}"\n    rules: {{country: [DE]}}\n', encoding="utf-8"
    )
    service.save_definitions(session, path, scope=system_scope())
    result = planning.plan_from_database(
        session, parse_scenario({"name": EVIL}), as_of=date(2025, 1, 1)
    )
    proposal = planning.propose(
        session, result, scope=system_scope(), effective_from=date(2025, 2, 1)
    )
    session.commit()
    assert sign_in(app, session, org, "ann").get("/territories").status_code == 403
    ops = sign_in(app, session, org, "ops_rep")
    page = ops.get("/territories")
    assert page.status_code == 200
    assert EVIL not in page.text
    assert "&lt;script&gt;" in page.text
    plan = ops.get(f"/territories/plans/{proposal.id}").text
    assert 'data-testid="plan-submit"' in plan
    assert 'data-testid="plan-approve"' not in plan
    submitted = ops.post(
        f"/territories/plans/{proposal.id}/submit",
        data={"csrf_token": _form_token(plan)},
        follow_redirects=False,
    )
    assert submitted.status_code == 303
    director = sign_in(app, session, org, "director")
    plan = director.get(f"/territories/plans/{proposal.id}").text
    assert 'data-testid="plan-approve"' in plan
    assert 'data-testid="plan-reject"' in plan
    approved = director.post(
        f"/territories/plans/{proposal.id}/approve",
        data={"csrf_token": _form_token(plan), "reason": "fine"},
        follow_redirects=False,
    )
    assert approved.status_code == 303
    session.expire_all()
    stored = session.get(Proposal, proposal.id)
    assert stored is not None
    assert (stored.state, stored.decision_reason) == ("approved", "fine")
    assert (
        ops.post(
            f"/territories/plans/{proposal.id}/apply", data={"csrf_token": _form_token(plan)}
        ).status_code
        == 403
    )
