"""The contracts API end to end through the real app: draft, review, approval by the right
manager, signing, no edits after signing, amendments, documents downloaded unchanged."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.appsupport import app, client_as, org, session
from tests.orgchart import Org

__all__ = ["app", "client_as", "org", "session"]

Client = Callable[[str], TestClient]
API = "/api/v1"


def _draft(client: TestClient, account: int, discount: str = "0.1") -> dict[str, object]:
    reply = client.post(
        f"{API}/contracts/drafts",
        json={
            "account_id": account,
            "start_date": "2026-01-01",
            "term_months": 12,
            "notice_days": 30,
            "auto_renew": True,
            "lines": [
                {"description": "Seats", "quantity": 10, "list_price": "1200", "discount": discount}
            ],
        },
    )
    assert reply.status_code == 201, reply.text
    return reply.json()  # type: ignore[no-any-return]


def _move(client: TestClient, cid: object, status: str, note: str | None = None) -> int:
    body = {"status": status} | ({"note": note} if note else {})
    return client.post(f"{API}/contracts/{cid}/transitions", json=body).status_code


def test_a_contract_goes_from_draft_to_signed_with_the_right_people(
    client_as: Client, org: Org, session: Session
) -> None:
    ann = client_as("ann")
    contract = _draft(ann, org.accounts["acme"])
    cid = contract["id"]
    assert (contract["status"], contract["value"]) == ("draft", "10800.00")
    assert _move(ann, cid, "active") == 409  # not approved
    assert _move(ann, cid, "in_review") == 200
    queue = client_as("mia").get(f"{API}/contract-approvals").json()
    assert [item["contract"]["id"] for item in queue] == [cid]
    assert client_as("ann").get(f"{API}/contract-approvals").json() == []
    assert _move(ann, cid, "approved") == 403  # a rep does not approve
    assert _move(client_as("will"), cid, "approved") == 404  # another team's manager
    inbox = client_as("mia").get(f"{API}/inbox").json()
    assert inbox[0]["link"] == f"/contracts/{cid}"
    assert _move(client_as("mia"), cid, "approved") == 200
    assert _move(ann, cid, "sent") == 200
    assert _move(ann, cid, "active") == 200
    # Signed: the generic edit is refused; an amendment is how it changes.
    reply = ann.patch(f"{API}/contracts/{cid}", json={"notice_days": 5})
    assert reply.status_code == 409, reply.text
    assert "amendment" in reply.text
    reply = ann.post(
        f"{API}/contracts/{cid}/amendments",
        json={
            "kind": "upsell",
            "effective_date": "2026-07-01",
            "add": [{"quantity": 2, "list_price": "1200", "discount": "0.25"}],
        },
    )
    assert reply.status_code == 201, reply.text
    assert (reply.json()["annual_change"], reply.json()["prorated_amount"]) == ("1800.00", "907.40")
    detail = ann.get(f"{API}/contracts/{cid}/detail").json()
    assert detail["contract"]["value"] == "12600.00"
    assert [e["kind"] for e in detail["history"]] == [
        "created",
        "transition",
        "approved",
        "transition",
        "signed",
        "amended",
    ]
    assert detail["notice_date"] == "2026-12-01"


def test_documents_are_generated_and_downloaded_unchanged_by_those_who_see_them(
    client_as: Client, org: Org
) -> None:
    ann = client_as("ann")
    cid = _draft(ann, org.accounts["acme"])["id"]
    reply = ann.post(f"{API}/contracts/{cid}/documents")
    assert reply.status_code == 201, reply.text
    docs = {d["format"]: d for d in reply.json()}
    pdf = ann.get(f"{API}/contracts/{cid}/documents/{docs['pdf']['id']}")
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    assert hashlib.sha256(pdf.content).hexdigest() == docs["pdf"]["sha256"]
    html = client_as("analyst").get(f"{API}/contracts/{cid}/documents/{docs['html']['id']}")
    assert "Acme" in html.text
    assert "10,800.00" in html.text
    assert (
        client_as("cat").get(f"{API}/contracts/{cid}/documents/{docs['pdf']['id']}").status_code
        == 404
    )
    assert client_as("analyst").post(f"{API}/contracts/{cid}/documents").status_code == 403


def test_a_template_with_an_unknown_variable_is_refused_and_nothing_is_saved(
    client_as: Client,
) -> None:
    director = client_as("director")
    reply = director.post(
        f"{API}/document-templates", json={"name": "custom", "body": "<p>{{ acount.name }}</p>"}
    )
    assert reply.status_code == 422
    assert "acount" in reply.text
    assert (
        client_as("ann")
        .post(f"{API}/document-templates", json={"name": "custom", "body": "<p>x</p>"})
        .status_code
        == 403
    )
    ok = director.post(
        f"{API}/document-templates", json={"name": "custom", "body": "<p>{{ account.name }}</p>"}
    )
    assert ok.status_code == 201
    assert ok.json()["version"] == 1
    names = [t["name"] for t in director.get(f"{API}/document-templates").json()]
    assert names == ["custom"]


def test_renewals_run_on_demand_for_planners_and_show_in_the_calendar(
    client_as: Client, org: Org
) -> None:
    ann, mia = client_as("ann"), client_as("mia")
    cid = _draft(ann, org.accounts["acme"])["id"]
    for who, status in ((ann, "in_review"), (mia, "approved"), (ann, "sent"), (ann, "active")):
        assert _move(who, cid, status) == 200
    assert ann.post(f"{API}/renewals/run", json={"today": "2026-10-01"}).status_code == 403
    reply = client_as("ops_rep").post(f"{API}/renewals/run", json={"today": "2026-10-01"})
    assert reply.json()["raised"] == [cid]
    rows = ann.get(f"{API}/renewals", params={"start": "2026-12-01", "end": "2026-12-31"}).json()
    assert [(r["contract_id"], r["status"]) for r in rows] == [(cid, "renewal_due")]
    assert (
        client_as("cat")
        .get(f"{API}/renewals", params={"start": "2026-12-01", "end": "2026-12-31"})
        .json()
        == []
    )
    pipeline = ann.get(
        f"{API}/renewals/pipeline", params={"start": "2026-12-01", "end": "2026-12-31"}
    ).json()
    assert sum(pipeline["2026-12"].values()) == 1
