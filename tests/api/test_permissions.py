"""The permission matrix: each role sees exactly its records, through every way of asking."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.orgchart import Org

Client = Callable[[str], TestClient]

# Who sees whose deals (see tests/orgchart.py for the organisation).
VISIBLE_DEALS = {
    "ann": ("ann",),
    "bob": ("bob",),
    "cat": ("cat",),
    "dan": ("dan",),
    "mia": ("mia", "ann", "bob", "dan"),
    "will": ("will", "cat"),
}
EVERYONE = ("director", "analyst", "ops_rep", "admin")


def _ids(client: TestClient, path: str, **params: object) -> set[int]:
    reply = client.get(path, params={"limit": 500, **params})
    assert reply.status_code == 200, reply.text
    return {row["id"] for row in reply.json()["items"]}


@pytest.mark.parametrize("who", [*VISIBLE_DEALS, *EVERYONE])
def test_each_role_lists_exactly_the_opportunities_it_may_see(
    client_as: Client, org: Org, who: str
) -> None:
    expected = org.opp_ids(*VISIBLE_DEALS[who]) if who in VISIBLE_DEALS else org.all_opp_ids
    assert _ids(client_as(who), "/api/v1/opportunities") == expected
    assert len(org.all_opp_ids) == 7


@pytest.mark.parametrize(
    ("who", "accounts"),
    [
        ("ann", {"acme"}),
        ("bob", set()),
        ("cat", {"globex", "initech"}),
        ("mia", {"acme"}),
        ("will", {"globex", "initech"}),
        ("analyst", {"acme", "globex", "initech"}),
    ],
)
def test_accounts_are_visible_through_ownership_or_a_visible_deal(
    client_as: Client, org: Org, who: str, accounts: set[str]
) -> None:
    assert _ids(client_as(who), "/api/v1/accounts") == {org.accounts[a] for a in accounts}


def test_reps_and_leads_are_scoped_like_deals(client_as: Client, org: Org) -> None:
    ann, mia = client_as("ann"), client_as("mia")
    assert _ids(ann, "/api/v1/reps") == {org.reps["ann"].id}
    assert _ids(mia, "/api/v1/reps") == {org.reps[n].id for n in ("mia", "ann", "bob", "dan")}
    assert _ids(ann, "/api/v1/leads") == {org.leads["ann"].id}
    assert _ids(mia, "/api/v1/leads") == {org.leads["ann"].id}
    assert _ids(client_as("director"), "/api/v1/leads") == {lead.id for lead in org.leads.values()}


def test_a_rep_cannot_read_or_change_another_reps_deal_by_guessing_its_id(
    client_as: Client, org: Org
) -> None:
    ann = client_as("ann")
    cats_deal = org.opps["cat"][0].id
    assert ann.get(f"/api/v1/opportunities/{cats_deal}").status_code == 404
    assert ann.get(f"/api/v1/opportunities/{cats_deal}/events").status_code == 404
    assert ann.patch(f"/api/v1/opportunities/{cats_deal}", json={"amount": "1"}).status_code == 404
    assert (
        ann.post(f"/api/v1/opportunities/{cats_deal}/close", json={"won": True}).status_code == 404
    )
    assert (
        ann.post(f"/api/v1/opportunities/{cats_deal}/stage", json={"stage": "Proposal"}).status_code
        == 404
    )
    missing = ann.get("/api/v1/opportunities/999999")
    # Someone else's deal and a deal that does not exist look exactly alike.
    assert missing.status_code == 404
    assert missing.json()["error"]["type"] == "not_found"
    globex = org.accounts["globex"]
    assert ann.patch(f"/api/v1/accounts/{globex}", json={"name": "Mine"}).status_code == 404
    assert ann.delete(f"/api/v1/leads/{org.leads['cat'].id}").status_code == 404
    director = client_as("director")
    assert director.get(f"/api/v1/opportunities/{cats_deal}").json()["amount"] == "1000.00"


def test_a_rep_cannot_hand_a_deal_or_lead_to_someone_outside_their_scope(
    client_as: Client, org: Org
) -> None:
    ann = client_as("ann")
    own = org.opps["ann"][0].id
    reply = ann.patch(f"/api/v1/opportunities/{own}", json={"owner_id": org.reps["cat"].id})
    assert reply.status_code == 404
    reply = ann.post("/api/v1/leads", json={"first_name": "X", "owner_id": org.reps["cat"].id})
    assert reply.status_code == 403
    # A manager may reassign inside their team.
    mia = client_as("mia")
    reply = mia.patch(f"/api/v1/opportunities/{own}", json={"owner_id": org.reps["bob"].id})
    assert reply.status_code == 200, reply.text
    assert reply.json()["owner_id"] == org.reps["bob"].id


def test_filters_search_and_pagination_never_widen_the_scope(client_as: Client, org: Org) -> None:
    ann = client_as("ann")
    assert _ids(ann, "/api/v1/opportunities", owner_id=org.reps["cat"].id) == set()
    assert _ids(ann, "/api/v1/opportunities", q="cat deal") == set()
    assert _ids(ann, "/api/v1/opportunities", account_id=org.accounts["initech"]) == set()
    mia = client_as("mia")
    pages: set[int] = set()
    for offset in (0, 2, 4):
        reply = mia.get("/api/v1/opportunities", params={"limit": 2, "offset": offset})
        body = reply.json()
        assert body["total"] == 5
        pages |= {row["id"] for row in body["items"]}
    assert pages == org.opp_ids("mia", "ann", "bob", "dan")


def test_a_csv_export_holds_only_the_callers_deals(client_as: Client, org: Org) -> None:
    reply = client_as("will").get("/api/v1/opportunities/export.csv")
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("text/csv")
    lines = reply.text.strip().splitlines()
    assert lines[0].startswith("id,name,")
    assert {int(line.split(",")[0]) for line in lines[1:]} == org.opp_ids("will", "cat")


@pytest.mark.parametrize(
    ("who", "status"),
    [("analyst", 403), ("ann", 201), ("ops_rep", 201), ("director", 201)],
)
def test_who_may_create_a_deal(client_as: Client, org: Org, who: str, status: int) -> None:
    body = {
        "name": "New deal",
        "amount": "5000",
        "close_date": "2025-06-30",
        "owner_id": org.reps["ann"].id,
    }
    assert client_as(who).post("/api/v1/opportunities", json=body).status_code == status


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("ann", 204),  # her own deal
        ("mia", 204),  # her team's
        ("director", 204),
        ("admin", 204),
        ("cat", 404),  # outside her scope it does not exist
        ("will", 404),
        ("analyst", 403),  # reads only
    ],
)
def test_who_may_delete_a_deal(client_as: Client, org: Org, who: str, status: int) -> None:
    deal = org.opps["ann"][0].id
    assert client_as(who).delete(f"/api/v1/opportunities/{deal}").status_code == status


@pytest.mark.parametrize(
    ("who", "status"),
    [("ann", 403), ("mia", 403), ("analyst", 403), ("ops_rep", 201), ("director", 201)],
)
def test_only_ops_directors_and_admins_change_plans(
    client_as: Client, org: Org, who: str, status: int
) -> None:
    body = {
        "rep_id": org.reps["ann"].id,
        "period_start": "2025-01-01",
        "period_end": "2025-03-31",
        "amount": "100000",
    }
    assert client_as(who).post("/api/v1/quotas", json=body).status_code == status


@pytest.mark.parametrize("who", ["director", "analyst", "ops_rep", "mia", "ann"])
def test_only_admins_read_the_audit_log_and_manage_users(
    client_as: Client, org: Org, who: str
) -> None:
    client = client_as(who)
    assert client.get("/api/v1/audit").status_code == 403
    assert client.get("/api/v1/users").status_code == 403
    assert client.get("/api/v1/quarantine").status_code == 403
    bob = org.users["bob"].id
    assert client.get(f"/api/v1/users/{bob}").status_code == 403
    assert client.patch(f"/api/v1/users/{bob}", json={"role": "admin"}).status_code == 403
    reply = client.post("/api/v1/users", json={"username": "x", "role": "admin"})
    assert reply.status_code == 403
    assert reply.json()["error"]["type"] == "permission_denied"


def test_me_reports_the_scope(client_as: Client, org: Org) -> None:
    body = client_as("mia").get("/api/v1/me").json()
    assert body["user"]["role"] == "manager"
    assert body["rep_id"] == org.reps["mia"].id
    assert set(body["visible_rep_ids"]) == {org.reps[n].id for n in ("mia", "ann", "bob", "dan")}
    assert client_as("analyst").get("/api/v1/me").json()["sees_all"] is True


# --- forecasting: runs, predictions, risk, calls -----------------------------------------------

# The teams each manager's scope holds (East SMB is under East).
VISIBLE_TEAMS = {"mia": ("east", "smb"), "will": ("west",)}
FORECAST = {"as_of": "2025-01-07", "methods": ["stage_weighted"], "horizon": 1, "sims": 200}


@pytest.mark.parametrize("who", [*VISIBLE_DEALS, *EVERYONE])
def test_each_role_reads_exactly_its_part_of_a_forecast_run(
    client_as: Client, org: Org, who: str
) -> None:
    made = client_as("director").post("/api/v1/forecasts/runs", json=FORECAST)
    assert made.status_code == 201, made.text
    [run] = made.json()
    client = client_as(who)
    for view in (
        client.get(f"/api/v1/forecasts/runs/{run['id']}").json(),
        client.get("/api/v1/forecasts/runs").json()[0],
    ):
        teams = {ln["team_id"] for ln in view["lines"]}
        if who in EVERYONE:
            assert None in teams  # the company line
            assert "own_lines" not in view
        else:
            allowed = {org.teams[t].id for t in VISIBLE_TEAMS.get(who, ())}
            assert teams <= allowed, view["lines"]
            assert len(view["own_lines"]) == 1
    predictions = client.get(f"/api/v1/forecasts/runs/{run['id']}/predictions").json()
    expected = org.opp_ids(*VISIBLE_DEALS[who]) if who in VISIBLE_DEALS else org.all_opp_ids
    assert {p["opportunity_id"] for p in predictions} == expected
    risk = client.get("/api/v1/forecasts/risk").json()
    assert {d["opportunity_id"] for d in risk["deals"]} == expected  # all at 5%: at risk
    shortfall_teams = {s["team_id"] for s in risk["shortfalls"]}
    if who in EVERYONE:
        assert shortfall_teams == {None}  # the company's
    else:
        allowed = {org.teams[t].id for t in VISIBLE_TEAMS.get(who, ())}
        assert {c["team_id"] for c in risk["coverage"]} <= allowed
        assert shortfall_teams <= allowed


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("ann", 403),
        ("mia", 403),
        ("analyst", 403),
        ("ops_rep", 200),
        ("director", 200),
        ("admin", 200),
    ],
)
def test_only_ops_directors_and_admins_start_backtests(
    client_as: Client, org: Org, who: str, status: int
) -> None:
    body = {"methods": ["stage_weighted"], "from": "2024-10-01", "to": "2024-10-01", "sims": 200}
    assert client_as(who).post("/api/v1/forecasts/backtest", json=body).status_code == status


@pytest.mark.parametrize("who", [*VISIBLE_DEALS, *EVERYONE])
def test_each_role_reads_the_calls_of_its_scope(client_as: Client, org: Org, who: str) -> None:
    call = {"period": "2025-Q1", "commit": "100", "best_case": "150", "pipeline": "300"}
    for rep in ("ann", "cat", "dan"):
        assert client_as(rep).post("/api/v1/forecasts/calls", json=call).status_code == 201
    tree = client_as(who).get("/api/v1/forecasts/calls", params={"period": "2025-Q1"}).json()
    accuracy = (
        client_as(who).get("/api/v1/forecasts/calls/accuracy", params={"period": "2025-Q1"}).json()
    )
    callers = {org.reps[n].id for n in ("ann", "cat", "dan")}
    visible = {org.reps[n].id for n in VISIBLE_DEALS.get(who, ("ann", "cat", "dan"))} & callers
    assert {c["rep_id"] for c in accuracy["calls"]} == visible
    if who in EVERYONE:
        assert {t["team"] for t in tree} == {"East", "West"}
    elif who in VISIBLE_TEAMS:
        assert {t["team_id"] for t in tree} == {org.teams[VISIBLE_TEAMS[who][0]].id}
    else:
        assert {c["rep_id"] for c in tree} == visible  # a rep: their own calls only


def test_list_totals_are_exact_up_to_the_count_limit_and_a_lower_bound_past_it(
    client_as: Client, org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    from salesops.crm import records

    director, mia = client_as("director"), client_as("mia")
    # Below the limit the total is exact, whether the page holds the last row or not.
    body = director.get("/api/v1/opportunities", params={"limit": 2}).json()
    assert (body["total"], body["total_at_least"]) == (7, False)
    body = mia.get("/api/v1/opportunities", params={"limit": 50}).json()
    assert (body["total"], body["total_at_least"]) == (5, False)
    monkeypatch.setattr(records, "COUNT_LIMIT", 3)
    # Past it, counting stops at the limit (or the end of the page asked for) and says so.
    body = director.get("/api/v1/opportunities", params={"limit": 2}).json()
    assert (body["total"], body["total_at_least"], len(body["items"])) == (3, True, 2)
    body = director.get("/api/v1/opportunities", params={"limit": 2, "offset": 2}).json()
    assert (body["total"], body["total_at_least"], len(body["items"])) == (4, True, 2)
    # The last page knows the exact total from its own rows, and never counts a scope wider.
    body = director.get("/api/v1/opportunities", params={"limit": 2, "offset": 6}).json()
    assert (body["total"], body["total_at_least"], len(body["items"])) == (7, False, 1)
    body = mia.get("/api/v1/opportunities", params={"limit": 2, "offset": 2}).json()
    assert (body["total"], body["total_at_least"], len(body["items"])) == (4, True, 2)
    body = client_as("ann").get("/api/v1/opportunities", params={"limit": 1}).json()
    assert (body["total"], body["total_at_least"]) == (2, False)


# --- deal scores ---------------------------------------------------------------------------------


@pytest.mark.parametrize("who", [*VISIBLE_DEALS, *EVERYONE])
def test_each_role_reads_exactly_the_deal_scores_of_the_deals_it_may_see(
    client_as: Client, org: Org, session: Session, who: str
) -> None:
    from salesops.models import DealScore, TrainedModel

    row = TrainedModel(
        name="deal_win", version=1, algorithm="test", as_of=datetime(2025, 1, 7, tzinfo=UTC),
        fingerprint="0" * 64, blob=b"-", checksum="0" * 64, metrics={"design": "test"},
    )  # fmt: skip
    session.add(row)
    session.flush()
    session.add_all(
        DealScore(model_id=row.id, opportunity_id=opp_id, p_win=Decimal("0.5"), reasons=["x"])
        for opp_id in org.all_opp_ids
    )
    session.flush()
    client = client_as(who)
    expected = org.opp_ids(*VISIBLE_DEALS[who]) if who in VISIBLE_DEALS else org.all_opp_ids
    reply = client.get("/api/v1/deal-scores")
    assert reply.status_code == 200, reply.text
    assert {s["opportunity_id"] for s in reply.json()} == expected
    described = client.get("/api/v1/deal-scores/model")
    assert described.status_code == 200, described.text
    assert described.json()["version"] == 1


# Playbooks, hygiene and feedback (salesops.playbooks): who may do what, on Ann's deal.
PLAYBOOK_ROLES = ("ann", "bob", "mia", "will", "director", "analyst", "ops_rep", "admin")
PLAYBOOK_MATRIX = {
    # (method, path template): expected status per role, in PLAYBOOK_ROLES order
    ("GET", "/api/v1/playbooks"): (200, 200, 200, 200, 200, 200, 200, 200),
    ("GET", "/api/v1/playbooks/active"): (200, 200, 200, 200, 200, 200, 200, 200),
    ("POST", "/api/v1/playbooks"): (403, 403, 403, 403, 201, 403, 201, 201),
    ("GET", "/api/v1/playbooks/deals/{deal}"): (200, 404, 200, 404, 200, 200, 200, 200),
    ("GET", "/api/v1/playbooks/deals/{deal}/check?stage=Qualification"): (
        200, 404, 200, 404, 200, 200, 200, 200,
    ),
    ("PUT", "/api/v1/playbooks/deals/{deal}/checklist/champion"): (
        200, 404, 200, 404, 200, 403, 200, 200,
    ),
    ("GET", "/api/v1/playbooks/hygiene/deals"): (200, 200, 200, 200, 200, 200, 200, 200),
    ("GET", "/api/v1/playbooks/hygiene/reps"): (200, 200, 200, 200, 200, 200, 200, 200),
    ("GET", "/api/v1/playbooks/hygiene/trend"): (200, 200, 200, 200, 200, 200, 200, 200),
    ("POST", "/api/v1/playbooks/hygiene/snapshots"): (403, 403, 403, 403, 201, 403, 201, 201),
    ("GET", "/api/v1/playbooks/deals/{deal}/notes"): (200, 404, 200, 404, 200, 200, 200, 200),
    ("POST", "/api/v1/playbooks/deals/{deal}/notes"): (403, 404, 201, 404, 201, 403, 201, 201),
    ("GET", "/api/v1/feedback"): (200, 200, 200, 200, 200, 200, 200, 200),
    ("POST", "/api/v1/feedback"): (201, 201, 201, 201, 201, 201, 201, 201),
    ("PATCH", "/api/v1/feedback/{feedback}"): (403, 403, 403, 403, 200, 403, 200, 200),
    ("POST", "/api/v1/feedback/{feedback}/vote"): (409, 200, 200, 200, 200, 200, 200, 200),
    ("PUT", "/api/v1/playbooks/subscriptions/hygiene_flags"): (200,) * 8,
    ("GET", "/api/v1/playbooks/subscriptions"): (200,) * 8,
    ("DELETE", "/api/v1/playbooks/subscriptions/hygiene_flags"): (204,) * 8,
    ("GET", "/api/v1/tools"): (403, 403, 403, 403, 200, 200, 200, 200),
    ("POST", "/api/v1/tools"): (403, 403, 403, 403, 201, 403, 409, 409),
    ("POST", "/api/v1/tools/usage"): (403, 403, 403, 403, 200, 403, 200, 200),
    ("POST", "/api/v1/tools/evaluations"): (403, 403, 403, 403, 201, 403, 201, 201),
}  # fmt: skip
PLAYBOOK_BODIES = {
    "/api/v1/playbooks/deals/{deal}/checklist/champion": {"done": True},
    "/api/v1/playbooks/deals/{deal}/notes": {"text": "Who signs?"},
    "/api/v1/feedback": {"category": "process", "title": "t", "text": "x"},
    "/api/v1/feedback/{feedback}": {"status": "triaged"},
    "/api/v1/playbooks/subscriptions/hygiene_flags": {"frequency": "daily"},
    "/api/v1/tools": {"name": "Dialer", "seats": 5},
    "/api/v1/tools/usage": {"csv": "tool,month,active_users\nDialer,2025-02,3\n"},
    "/api/v1/tools/evaluations": {
        "name": "CI",
        "requirements": {"sync": "1"},
        "candidates": {"X": {"sync": 4}},
    },
}


def test_playbook_hygiene_and_feedback_endpoints_follow_the_role_matrix(
    client_as: Client, org: Org
) -> None:
    from pathlib import Path

    import salesops.playbooks

    shipped = Path(salesops.playbooks.__file__).parent / "meddicc.yaml"
    source = shipped.read_text(encoding="utf-8")
    clients = {who: client_as(who) for who in PLAYBOOK_ROLES}
    assert clients["admin"].post("/api/v1/playbooks", json={"source": source}).status_code == 201
    body = PLAYBOOK_BODIES["/api/v1/feedback"]
    item = clients["ann"].post("/api/v1/feedback", json=body).json()["id"]
    wrong = {}
    for (method, path), expected in PLAYBOOK_MATRIX.items():
        url = path.format(deal=org.opps["ann"][0].id, feedback=item)
        body = {"source": source} if path == "/api/v1/playbooks" else PLAYBOOK_BODIES.get(path)
        got = tuple(clients[w].request(method, url, json=body).status_code for w in PLAYBOOK_ROLES)
        if got != expected:
            wrong[f"{method} {path}"] = dict(zip(PLAYBOOK_ROLES, got, strict=True))
    assert wrong == {}


COMP_PLAN = """\
plan: flat
version: 1
effective_from: 2025-01-01
assign: [{role: sales_rep}, {role: manager}]
crediting: {manager_levels: 1}
rules: [{name: commission, tiers: [{from: 0, rate: 10%}]}]
"""
# Each role's visible reps' Q1 2025 payouts: 10% of their own deals plus, for a manager, of
# their reps' (mia: 1,000 own + ann 3,000 + bob 1,000; will: cat 3,000).
COMP_TOTALS = {"ann": "300.00", "bob": "100.00", "cat": "300.00", "dan": "100.00"}
COMP_TOTALS |= {"mia": "500.00", "will": "300.00"}
COMP_VISIBLE = {name: (name,) for name in ("ann", "bob", "cat", "dan")}
COMP_VISIBLE |= {"mia": ("mia", "ann", "bob", "dan"), "will": ("will", "cat")}


@pytest.fixture
def comp_run(client_as: Client, org: Org, session: Any, tmp_path: Any, monkeypatch: Any) -> None:
    from salesops.compensation import service as comp
    from salesops.pipeline import stages

    (tmp_path / "flat.yaml").write_text(COMP_PLAN)
    monkeypatch.setattr(comp, "plans_dir", lambda: tmp_path)
    won = stages.by_name(session, "Closed Won")
    for deals in org.opps.values():
        for deal in deals:
            deal.stage = won
    session.commit()
    assert client_as("ann").post("/api/v1/comp/runs", json={"period": "2025-Q1"}).status_code == 403
    reply = client_as("ops_rep").post("/api/v1/comp/runs", json={"period": "2025-Q1"})
    assert reply.status_code == 201, reply.text


@pytest.mark.parametrize("who", [*COMP_VISIBLE, *EVERYONE])
def test_comp_statements_and_payouts_are_scoped_like_deals(
    client_as: Client, org: Org, comp_run: None, who: str
) -> None:
    client = client_as(who)
    visible = COMP_VISIBLE.get(who, tuple(COMP_TOTALS))
    payouts = client.get("/api/v1/comp/payouts", params={"period": "2025-Q1"}).json()
    assert {p["rep_id"]: p["total"] for p in payouts} == {
        org.reps[n].id: COMP_TOTALS[n] for n in visible
    }
    for name, rep in org.reps.items():
        reply = client.get(f"/api/v1/comp/statements/{rep.id}", params={"period": "2025-Q1"})
        if name in visible:
            assert reply.status_code == 200, reply.text
            assert reply.json()["total"] == COMP_TOTALS[name]
        else:
            assert reply.status_code == 404


# Contracts (see tests/contracts/test_api.py for the lifecycle): who may do what.
CONTRACT_DRAFT = {"start_date": "2026-01-01", "term_months": 12, "value": "1000"}


@pytest.mark.parametrize(
    ("who", "account", "status"),
    [
        ("ann", "acme", 201),
        ("cat", "acme", 422),  # Acme is outside Cat's book: "account does not exist"
        ("mia", "acme", 201),
        ("analyst", "acme", 403),
        ("ops_rep", "globex", 201),
    ],
)
def test_who_may_draft_a_contract(
    client_as: Client, org: Org, who: str, account: str, status: int
) -> None:
    body = CONTRACT_DRAFT | {"account_id": org.accounts[account]}
    assert client_as(who).post("/api/v1/contracts/drafts", json=body).status_code == status


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("ann", 403),
        ("bob", 404),
        ("cat", 404),
        ("will", 404),
        ("analyst", 403),
        ("mia", 200),
        ("director", 200),
    ],
)
def test_who_may_approve_a_contract(client_as: Client, org: Org, who: str, status: int) -> None:
    ann = client_as("ann")
    body = CONTRACT_DRAFT | {"account_id": org.accounts["acme"]}
    cid = ann.post("/api/v1/contracts/drafts", json=body).json()["id"]
    assert ann.post(f"/api/v1/contracts/{cid}/transitions", json={"status": "in_review"}).is_success
    reply = client_as(who).post(f"/api/v1/contracts/{cid}/transitions", json={"status": "approved"})
    assert reply.status_code == status, reply.text


@pytest.mark.parametrize(
    ("who", "status"),
    [("ann", 403), ("mia", 403), ("analyst", 403), ("ops_rep", 200), ("director", 200)],
)
def test_only_planners_run_renewals_and_save_templates(
    client_as: Client, who: str, status: int
) -> None:
    client = client_as(who)
    assert client.post("/api/v1/renewals/run", json={}).status_code == status
    saved = client.post("/api/v1/document-templates", json={"name": "t", "body": "<p>x</p>"})
    assert saved.status_code == (201 if status == 200 else 403)


TERRITORY_READERS = ("analyst", "ops_rep", "director", "admin")
PLANNERS = ("ops_rep", "director", "admin")


@pytest.mark.parametrize("who", [*VISIBLE_DEALS, *EVERYONE])
def test_territory_checks_plans_and_proposals_follow_the_roles(
    client_as: Client, org: Org, who: str
) -> None:
    client = client_as(who)
    check = client.get("/api/v1/territories/rules/check")
    assert check.status_code == (200 if who in TERRITORY_READERS else 403), check.text
    body = {"scenario": {"name": "s", "time_limit": 5}, "as_of": "2025-01-01", "propose": True}
    made = client.post("/api/v1/territory-plans", json=body)
    assert made.status_code == (201 if who in PLANNERS else 403), made.text
    listed = client.get("/api/v1/proposals")
    assert listed.status_code == (200 if who in TERRITORY_READERS else 403)
    if who in PLANNERS:
        pid = made.json()["proposal_id"]
        assert client.post(f"/api/v1/proposals/{pid}/submit", json={}).status_code == 200
        decided = client.post(f"/api/v1/proposals/{pid}/approve", json={"reason": "ok"})
        assert decided.status_code == (403 if who == "ops_rep" else 200)
        stale = client.post(f"/api/v1/proposals/{pid}/apply", json={}, headers={"If-Match": '"1"'})
        assert stale.status_code == (403 if who == "ops_rep" else 412)


def test_a_territory_shows_only_the_accounts_the_caller_may_see(
    client_as: Client, org: Org, session: Session, tmp_path: Path
) -> None:
    import yaml

    from salesops.auth.scoping import system_scope
    from salesops.models import Account
    from salesops.territories import service

    director = client_as("director")
    for account in session.scalars(select(Account)):
        account.country = "DE"
    session.flush()
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump({"territories": [{"name": "DE", "rules": {"country": ["DE"]}}]}))
    [territory] = service.save_definitions(session, path, scope=system_scope())
    session.flush()
    url = f"/api/v1/territories/{territory.id}/coverage"
    names = {a["name"] for a in director.get(url).json()["accounts"]}
    assert names == {"Acme", "Globex", "Initech"}
    ann = client_as("ann").get(url).json()["accounts"]
    assert {a["name"] for a in ann} == {"Acme"}
