"""The Quotas page: listed by period and scope; ops and directors add and change quotas
through the same records service as /api/v1/quotas (audited, versioned); others read."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session

from salesops.models import AuditEntry, Quota
from tests.orgchart import Org
from tests.web.test_pages import _form_token, sign_in

Q1 = "period=2025-Q1"


def _quota(session: Session, rep_id: int, amount: str = "90000") -> Quota:
    quota = Quota(
        rep_id=rep_id,
        period_start=date(2025, 1, 1),
        period_end=date(2025, 3, 31),
        amount=Decimal(amount),
    )
    session.add(quota)
    session.commit()
    return quota


def test_ops_adds_a_quota_and_changes_it_and_both_are_audited(
    app: FastAPI, session: Session, org: Org
) -> None:
    ops = sign_in(app, session, org, "ops_rep")
    page = ops.get(f"/quotas?{Q1}")
    assert page.status_code == 200
    assert 'data-testid="quota-form"' in page.text
    token = _form_token(page.text)
    form = {
        "csrf_token": token,
        "holder": f"rep:{org.reps['ann'].id}",
        "period_start": "2025-01-01",
        "period_end": "2025-03-31",
        "amount": "120000",
        "currency": "USD",
        "ramp_factor": "0.5",
    }
    added = ops.post("/quotas", data=form, follow_redirects=False)
    assert added.status_code == 303, added.text
    quota = session.scalars(select(Quota).where(Quota.rep_id == org.reps["ann"].id)).one()
    assert (quota.amount, quota.ramp_factor, quota.version) == (120000, Decimal("0.5"), 1)
    edit = ops.get(f"/quotas?edit={quota.id}&{Q1}").text
    assert 'name="version" value="1"' in edit
    changed = ops.post(
        f"/quotas/{quota.id}",
        data=form | {"amount": "150000", "version": "1"},
        follow_redirects=False,
    )
    assert changed.status_code == 303, changed.text
    session.expire_all()
    assert (quota.amount, quota.version) == (150000, 2)
    actions = session.scalars(
        select(AuditEntry.action).where(AuditEntry.entity == "quota").order_by(AuditEntry.id)
    ).all()
    assert actions == ["create", "update"]
    listed = ops.get(f"/quotas?{Q1}").text
    assert "150,000" in listed
    # An edit based on version 1 now is stale: it shows the saved amount and changes nothing.
    stale = ops.post(f"/quotas/{quota.id}", data=form | {"amount": "1", "version": "1"})
    assert stale.status_code == 409
    assert 'data-testid="form-stale"' in stale.text
    assert 'value="150000.00"' in stale.text


def test_quota_fields_are_checked_and_the_message_sits_next_to_the_field(
    app: FastAPI, session: Session, org: Org
) -> None:
    director = sign_in(app, session, org, "director")
    token = _form_token(director.get(f"/quotas?{Q1}").text)
    reply = director.post(
        "/quotas",
        data={
            "csrf_token": token,
            "holder": "",
            "period_start": "2025-03-31",
            "period_end": "2025-01-01",
            "amount": "-5",
            "ramp_factor": "2",
        },
    )
    assert reply.status_code == 422
    for name, message in (
        ("holder", "choose a rep, a team or a territory"),
        ("amount", "must not be negative"),
        ("period_end", "must not be before the start"),
        ("ramp_factor", "must be between 0 and 1"),
    ):
        assert re.search(rf'data-testid="error-{name}">{message}', reply.text), name
    assert session.scalars(select(Quota)).first() is None


def test_reps_and_managers_see_their_quotas_read_only_and_an_analyst_cannot_write(
    app: FastAPI, session: Session, org: Org
) -> None:
    anns = _quota(session, org.reps["ann"].id)
    cats = _quota(session, org.reps["cat"].id, "70000")
    ann = sign_in(app, session, org, "ann")
    page = ann.get(f"/quotas?{Q1}").text
    assert 'data-testid="quota-form"' not in page
    assert "90,000" in page
    assert "70,000" not in page
    mia = sign_in(app, session, org, "mia")
    assert "90,000" in mia.get(f"/quotas?{Q1}").text
    analyst = sign_in(app, session, org, "analyst")
    page = analyst.get(f"/quotas?{Q1}").text
    assert "90,000" in page
    assert "70,000" in page
    assert 'data-testid="quota-form"' not in page
    assert "edit-quota" not in page
    refused = analyst.post(
        f"/quotas/{cats.id}",
        data={"csrf_token": _form_token(page), "holder": f"rep:{anns.rep_id}", "amount": "1"},
    )
    assert refused.status_code == 403
    session.expire_all()
    assert cats.amount == 70000
