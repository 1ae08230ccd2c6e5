"""Digests by subscription: written through the outbox (inbox + e-mail), scoped to the person,
weekly ones on Mondays only, and never twice for one day."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from salesops.jobs import run_now
from salesops.models import InboxItem, OutboxMessage
from salesops.playbooks import digest
from tests.orgchart import Org

Client = Callable[[str], TestClient]
TUESDAY, MONDAY = date(2025, 2, 18), date(2025, 2, 17)


def test_daily_and_weekly_digests_go_to_the_inbox_and_mail_once(session: Session, org: Org) -> None:
    mia, ann = org.users["mia"], org.users["ann"]
    mia.email = "mia@example.com"
    digest.subscribe(session, mia, "hygiene_flags")
    digest.subscribe(session, ann, "stalled_deals", frequency="weekly")
    assert digest.send_digests(session, on=TUESDAY) == 1  # Ann's is weekly
    (item,) = session.scalars(select(InboxItem).where(InboxItem.user_id == mia.id))
    assert item.subject == "Deal hygiene: 5 deal(s) to look at"  # Mia's team: 5 open deals
    assert "ann deal 1" in item.body
    assert "cat deal" not in item.body
    (mail,) = session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == mia.email))
    assert (mail.channel, mail.status) == ("email", "pending")
    assert (
        run_now(session, "playbooks.digests", {"on": TUESDAY.isoformat()})
        == "1 digest(s) for 2025-02-18"
    )
    assert len(session.scalars(select(InboxItem)).all()) == 1  # the same day: nothing new
    assert digest.send_digests(session, on=MONDAY) == 2
    (anns,) = session.scalars(select(InboxItem).where(InboxItem.user_id == ann.id))
    assert anns.subject == "Stalled deals: 2 deal(s) to look at"
    assert len(session.scalars(select(OutboxMessage)).all()) == 2  # Ann has no address


def test_people_manage_their_own_subscriptions(client_as: Client, org: Org) -> None:
    ann = client_as("ann")
    put = ann.put("/api/v1/playbooks/subscriptions/hygiene_flags", json={"frequency": "weekly"})
    assert put.status_code == 200, put.text
    assert put.json()["frequency"] == "weekly"
    assert ann.put("/api/v1/playbooks/subscriptions/weather", json={}).status_code == 422
    assert [s["topic"] for s in ann.get("/api/v1/playbooks/subscriptions").json()] == [
        "hygiene_flags"
    ]
    assert client_as("bob").get("/api/v1/playbooks/subscriptions").json() == []
    assert ann.delete("/api/v1/playbooks/subscriptions/hygiene_flags").status_code == 204
    assert ann.delete("/api/v1/playbooks/subscriptions/hygiene_flags").status_code == 404
