"""The deal page and its edit form with a playbook in force: blocked moves are refused next
to the Stage field, warned ones land and say what was missing, the checklist ticks."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy.orm import Session

from salesops.models import Opportunity, PlaybookRevision
from tests.orgchart import Org
from tests.web.test_deal_form import _form
from tests.web.test_pages import _form_token, sign_in


def test_the_deal_form_warns_then_blocks_then_lets_a_ready_deal_through(
    app: FastAPI, session: Session, org: Org, meddicc: PlaybookRevision
) -> None:
    ann = sign_in(app, session, org, "ann")
    deal = org.opps["ann"][0].id
    page = ann.get(f"/opportunities/{deal}").text
    assert 'data-testid="deal-playbook"' in page
    assert "To leave Prospecting" in page

    form = _form(ann, deal) | {"stage": "Discovery"}
    reply = ann.post(f"/opportunities/{deal}", data=form, follow_redirects=False)
    assert reply.status_code == 303
    assert reply.headers["location"] == f"/opportunities/{deal}?saved=1&warned=1"
    page = ann.get(reply.headers["location"]).text
    assert 'data-testid="exit-warning"' in page
    assert "Prospecting: a next step" in page

    form = _form(ann, deal) | {"stage": "Proposal"}
    reply = ann.post(f"/opportunities/{deal}", data=form, follow_redirects=False)
    assert reply.status_code == 422
    assert 'data-testid="error-stage"' in reply.text
    assert "missing Discovery: Economic buyer met" in reply.text
    session.expire_all()
    opp = session.get(Opportunity, deal)
    assert opp is not None
    assert opp.stage.name == "Discovery"

    token = _form_token(ann.get(f"/opportunities/{deal}").text)
    for key in ("economic_buyer", "decision_criteria", "decision_process"):
        ticked = ann.post(
            f"/opportunities/{deal}/checklist",
            data={"csrf_token": token, "key": key, "done": "1"},
            follow_redirects=False,
        )
        assert ticked.status_code == 303
    page = ann.get(f"/opportunities/{deal}").text
    assert page.count("☑") == 3
    form = _form(ann, deal) | {"stage": "Proposal", "next_step": "Proposal to the CFO"}
    reply = ann.post(f"/opportunities/{deal}", data=form, follow_redirects=False)
    assert reply.headers["location"] == f"/opportunities/{deal}?saved=1"


def test_an_analyst_sees_the_playbook_but_cannot_tick(
    app: FastAPI, session: Session, org: Org, meddicc: PlaybookRevision
) -> None:
    analyst = sign_in(app, session, org, "analyst")
    deal = org.opps["cat"][0].id
    page = analyst.get(f"/opportunities/{deal}").text
    assert 'data-testid="checklist"' in page
    assert f'action="/opportunities/{deal}/checklist"' not in page
    reply = analyst.post(
        f"/opportunities/{deal}/checklist",
        data={"csrf_token": _form_token(page), "key": "champion", "done": "1"},
    )
    assert reply.status_code == 403
    assert "MEDDICC" in analyst.get("/playbook").text


def test_a_manager_works_through_the_teams_flagged_deals_and_coaches_on_one(
    app: FastAPI, session: Session, org: Org
) -> None:
    mia = sign_in(app, session, org, "mia")
    page = mia.get("/hygiene").text
    assert 'data-testid="hygiene-deals"' in page
    for name in ("ann deal 1", "bob deal 1", "dan deal 1", "mia deal 1"):
        assert name in page
    assert "cat deal" not in page
    only_ann = mia.get("/hygiene", params={"rep": org.reps["ann"].id, "flag": "stale"}).text
    assert "ann deal 2" in only_ann
    assert "bob deal 1" not in only_ann
    deal = org.opps["ann"][0].id
    token = _form_token(mia.get(f"/opportunities/{deal}").text)
    reply = mia.post(
        f"/opportunities/{deal}/notes",
        data={"csrf_token": token, "text": "Add the CFO to the thread", "flag": "single_threaded"},
        follow_redirects=False,
    )
    assert reply.status_code == 303
    ann = sign_in(app, session, org, "ann")
    page = ann.get(f"/opportunities/{deal}").text
    assert "Add the CFO to the thread" in page
    assert 'data-testid="note-form"' not in page  # reps read notes, managers write them
    assert "Resolve</button>" in page
    assert "cat deal" not in ann.get("/hygiene").text


def test_feedback_pages_submit_vote_and_triage(app: FastAPI, session: Session, org: Org) -> None:
    ann = sign_in(app, session, org, "ann")
    token = _form_token(ann.get("/feedback").text)
    bad = ann.post(
        "/feedback", data={"csrf_token": token, "category": "tools", "title": "", "text": "x"}
    )
    assert bad.status_code == 422
    assert 'data-testid="error-title"' in bad.text
    sent = ann.post(
        "/feedback",
        data={
            "csrf_token": token,
            "category": "leads",
            "title": "Leads lack phone numbers",
            "text": "Half of them",
        },
        follow_redirects=False,
    )
    assert sent.headers["location"] == "/feedback?sent=1"
    bob = sign_in(app, session, org, "bob")
    page = bob.get("/feedback").text
    assert "Leads lack phone numbers" in page
    item_id = int(page.split('href="/feedback/')[1].split('"')[0])
    bob.post(f"/feedback/{item_id}/vote", data={"csrf_token": _form_token(page), "up": "1"})
    assert 'data-testid="triage-form"' not in bob.get(f"/feedback/{item_id}").text
    ops = sign_in(app, session, org, "ops_rep")
    detail = ops.get(f"/feedback/{item_id}").text
    assert "1 vote(s)" in detail
    saved = ops.post(
        f"/feedback/{item_id}",
        data={
            "csrf_token": _form_token(detail),
            "version": "1",
            "status": "planned",
            "owner_id": str(org.users["ops_rep"].id),
            "response": "We will enrich them",
            "change_made": "",
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text
    page = ann.get(f"/feedback/{item_id}").text
    assert "We will enrich them" in page
    assert "status new → <b>planned</b>" in page
