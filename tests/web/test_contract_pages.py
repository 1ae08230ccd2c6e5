"""The contract pages: list, detail with lifecycle buttons, approvals inbox, renewals
calendar and pipeline, notifications; each through the scoped services."""

from __future__ import annotations

import hashlib
import re
from datetime import date
from decimal import Decimal

from fastapi import FastAPI
from sqlalchemy.orm import Session

from salesops.auth.scoping import scope_for
from salesops.contracts import service
from salesops.contracts.service import LineInput
from salesops.models import Contract, Document
from tests.orgchart import Org
from tests.web.test_pages import _form_token, sign_in


def test_a_contract_is_reviewed_approved_and_printed_from_its_pages(
    app: FastAPI, session: Session, org: Org
) -> None:
    ann_scope = scope_for(session, org.users["ann"])
    contract = service.create_contract(
        session,
        scope=ann_scope,
        by=org.users["ann"],
        account_id=org.accounts["acme"],
        start_date=date(2026, 1, 1),
        term_months=12,
        notice_days=30,
        lines=[LineInput(3, Decimal(1000), Decimal("0.1"))],
    )
    session.commit()
    cid = contract.id
    ann = sign_in(app, session, org, "ann")
    listing = ann.get("/contracts")
    assert listing.status_code == 200
    assert f'href="/contracts/{cid}"' in listing.text
    page = ann.get(f"/contracts/{cid}")
    assert "Submit for review" in page.text
    assert "2,700" in page.text
    token = _form_token(page.text)
    moved = ann.post(
        f"/contracts/{cid}/move",
        data={"csrf_token": token, "status": "in_review"},
        follow_redirects=False,
    )
    assert moved.status_code == 303, moved.text
    mia = sign_in(app, session, org, "mia")
    assert f'href="/contracts/{cid}"' in mia.get("/approvals").text
    assert f"Contract {cid} awaits your approval" in mia.get("/inbox").text
    assert "Nothing awaits your approval" in ann.get("/approvals").text
    mia_token = _form_token(mia.get(f"/contracts/{cid}").text)
    approved = mia.post(
        f"/contracts/{cid}/move",
        data={"csrf_token": mia_token, "status": "approved"},
        follow_redirects=False,
    )
    assert approved.status_code == 303, approved.text
    refused = ann.post(f"/contracts/{cid}/move", data={"csrf_token": token, "status": "active"})
    assert refused.status_code == 409
    assert "cannot be signed" in refused.text
    made = ann.post(
        f"/contracts/{cid}/documents", data={"csrf_token": token}, follow_redirects=False
    )
    assert made.status_code == 303, made.text
    session.expire_all()
    pdf = session.query(Document).filter_by(entity_id=cid, format="pdf").one()
    link = re.search(
        rf'href="(/contracts/{cid}/documents/{pdf.id})"', ann.get(f"/contracts/{cid}").text
    )
    assert link
    download = ann.get(link.group(1))
    assert hashlib.sha256(download.content).hexdigest() == pdf.sha256
    cat = sign_in(app, session, org, "cat")
    assert cat.get(f"/contracts/{cid}").status_code == 404
    assert cat.get(link.group(1)).status_code == 404


def test_the_renewals_page_shows_the_calendar_and_pipeline_in_scope(
    app: FastAPI, session: Session, org: Org
) -> None:
    acme = Contract(
        account_id=org.accounts["acme"],
        status="active",
        start_date=date(2026, 1, 1),
        end_date=date(2026, 12, 31),
        term_months=12,
        value=Decimal(5000),
        notice_days=30,
    )
    globex = Contract(
        account_id=org.accounts["globex"],
        status="active",
        start_date=date(2026, 1, 1),
        end_date=date(2026, 12, 31),
        term_months=12,
        value=Decimal(7000),
    )
    session.add_all([acme, globex])
    session.commit()
    ann = sign_in(app, session, org, "ann")
    page = ann.get("/renewals?start=2026-12-01&end=2026-12-31")
    assert page.status_code == 200
    assert f'href="/contracts/{acme.id}"' in page.text
    assert f'href="/contracts/{globex.id}"' not in page.text
    assert "<td>2026-12</td>" in page.text
    director = sign_in(app, session, org, "director")
    assert (
        f'href="/contracts/{globex.id}"'
        in director.get("/renewals?start=2026-12-01&end=2026-12-31").text
    )
    assert ann.get("/renewals?start=nonsense").status_code == 200


def test_contract_pages_are_titled_and_show_no_filter_bar_they_would_ignore(
    app: FastAPI, session: Session, org: Org
) -> None:
    director = sign_in(app, session, org, "director")
    for path, title in (("/contracts", "Contracts"), ("/renewals", "Renewals")):
        page = director.get(path)
        assert page.status_code == 200, page.text
        assert f"<h1>{title}</h1>" in page.text
        assert '<form class="filters"' not in page.text
