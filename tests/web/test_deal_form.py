"""Updating a deal from its page: the API's service, scope, events, audit, CSRF, field
messages and a stale form that shows the new values."""

from __future__ import annotations

import re

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from salesops.models import AuditEntry, Opportunity, OpportunityEvent
from tests.orgchart import Org
from tests.web.test_pages import _form_token, sign_in


def _form(client: TestClient, deal: int) -> dict[str, str]:
    """The edit form's fields as the page shows them."""
    html = client.get(f"/opportunities/{deal}").text
    form = html[html.index('data-testid="deal-form"') :]
    form = form[: form.index("</form>")]
    values = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', form))
    for name, body in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', form, re.S):
        values[name] = re.search(r'<option value="([^"]*)" selected', body).group(1)  # type: ignore[union-attr]
    values["next_step"] = re.search(r'name="next_step"[^>]*>([^<]*)</textarea>', form).group(1)  # type: ignore[union-attr]
    assert values["csrf_token"] == _form_token(html)  # the form carries the session's token
    return values


def test_a_rep_updates_their_deal_and_every_change_is_an_event_and_one_audit_entry(
    app: FastAPI, session: Session, org: Org
) -> None:
    ann = sign_in(app, session, org, "ann")
    deal = org.opps["ann"][0].id
    form = _form(ann, deal)
    assert form["version"] == "1"
    form |= {
        "stage": "Proposal",
        "amount": "2500",
        "close_date": "2025-06-30",
        "next_step": "Send the proposal to the CFO",
    }
    reply = ann.post(f"/opportunities/{deal}", data=form, follow_redirects=False)
    assert reply.status_code == 303, reply.text
    assert reply.headers["location"] == f"/opportunities/{deal}?saved=1"
    session.expire_all()
    opp = session.get(Opportunity, deal)
    assert opp is not None
    assert (opp.stage.name, opp.amount, str(opp.close_date)) == ("Proposal", 2500, "2025-06-30")
    assert opp.next_step == "Send the proposal to the CFO"
    assert opp.version == 2
    fields = session.scalars(
        select(OpportunityEvent.field).where(
            OpportunityEvent.opportunity_id == deal, OpportunityEvent.by_user_id.is_not(None)
        )
    ).all()
    # The stage move brings the stage's own forecast category, as through the API.
    assert sorted(fields) == ["amount", "close_date", "forecast_category", "stage"]
    (entry,) = session.scalars(
        select(AuditEntry).where(
            AuditEntry.entity == "opportunity", AuditEntry.entity_id == str(deal)
        )
    ).all()
    assert entry.user_id == org.users["ann"].id
    assert entry.changes["next_step"] == {"old": None, "new": "Send the proposal to the CFO"}
    page = ann.get(reply.headers["location"]).text
    assert 'data-testid="deal-saved"' in page
    assert "Stage <b>Prospecting</b> → <b>Proposal</b>" in page


def test_invalid_values_are_shown_next_to_their_field_and_nothing_is_saved(
    app: FastAPI, session: Session, org: Org
) -> None:
    ann = sign_in(app, session, org, "ann")
    deal = org.opps["ann"][0].id
    form = _form(ann, deal) | {"amount": "lots", "close_date": "2025-02-30"}
    reply = ann.post(f"/opportunities/{deal}", data=form)
    assert reply.status_code == 422
    assert re.search(r'data-testid="error-amount">enter a number<', reply.text)
    assert re.search(r'data-testid="error-close_date">enter a date', reply.text)
    assert 'value="lots"' in reply.text  # what the user typed stays in the field
    lost = _form(ann, deal) | {"stage": "Closed Lost"}
    reply = ann.post(f"/opportunities/{deal}", data=lost)
    assert reply.status_code == 422
    assert 'data-testid="error-loss_reason">required when the deal is lost<' in reply.text
    negative = _form(ann, deal) | {"amount": "-5"}
    assert (
        'data-testid="error-amount">must be at least 0'
        in ann.post(f"/opportunities/{deal}", data=negative).text
    )
    session.expire_all()
    assert session.get(Opportunity, deal).version == 1  # type: ignore[union-attr]


def test_a_stale_form_says_someone_else_changed_the_deal_and_shows_the_new_values(
    app: FastAPI, session: Session, org: Org
) -> None:
    ann = sign_in(app, session, org, "ann")
    mia = sign_in(app, session, org, "mia")
    deal = org.opps["ann"][0].id
    ann_form = _form(ann, deal)
    mia_form = _form(mia, deal) | {"amount": "777"}
    assert (
        mia.post(f"/opportunities/{deal}", data=mia_form, follow_redirects=False).status_code == 303
    )
    reply = ann.post(f"/opportunities/{deal}", data=ann_form | {"amount": "5000"})
    assert reply.status_code == 409
    assert 'data-testid="form-stale"' in reply.text
    assert "amount: 5000" in reply.text  # what Ann typed, to apply again
    assert 'value="777.00"' in reply.text  # the form now holds Mia's amount...
    assert 'name="version" value="2"' in reply.text  # ...and the version it is at
    session.expire_all()
    assert session.get(Opportunity, deal).amount == 777  # type: ignore[union-attr]


def test_who_may_change_a_deal_is_decided_by_the_same_scope_as_the_api(
    app: FastAPI, session: Session, org: Org
) -> None:
    ann = sign_in(app, session, org, "ann")
    cats_deal = org.opps["cat"][0].id
    form = _form(ann, org.opps["ann"][0].id)
    assert ann.post(f"/opportunities/{cats_deal}", data=form).status_code == 404
    analyst = sign_in(app, session, org, "analyst")
    page = analyst.get(f"/opportunities/{cats_deal}").text
    assert 'data-testid="deal-form"' not in page
    token = _form_token(page)
    refused = analyst.post(
        f"/opportunities/{cats_deal}", data={"csrf_token": token, "amount": "1", "version": "1"}
    )
    assert refused.status_code == 403
    assert "read-only" in refused.text
    forged = ann.post(
        f"/opportunities/{org.opps['ann'][0].id}", data=form | {"csrf_token": "forged"}
    )
    assert forged.status_code == 403
