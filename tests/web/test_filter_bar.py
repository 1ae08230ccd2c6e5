"""The filter bar's choices are read once per data version, not on every page render."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import FastAPI
from sqlalchemy import event
from sqlalchemy.orm import Session

from tests.factories import make_account
from tests.orgchart import Org
from tests.web.test_pages import sign_in


@contextmanager
def statements(session: Session) -> Iterator[list[str]]:
    """Every SQL statement run on the test's connection inside the block."""
    seen: list[str] = []
    connection = session.connection()

    def record(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        seen.append(" ".join(sql.split()))

    event.listen(connection, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(connection, "before_cursor_execute", record)


def filter_queries(sql: list[str]) -> list[str]:
    """The filter bar's four option queries among `sql`."""
    markers = (
        ("DISTINCT accounts.segment",),
        ("FROM teams ORDER BY teams.name",),
        ("FROM territories ORDER BY territories.name",),
        ("SELECT reps.id, reps.name FROM reps", "ORDER BY reps.name"),
    )
    return [s for s in sql if any(all(m in s for m in parts) for parts in markers)]


def test_a_second_render_does_not_query_the_filter_options_until_the_data_changes(
    app: FastAPI, session: Session, org: Org
) -> None:
    client = sign_in(app, session, org, "director")
    make_account(session, name="Umbrella", segment="Enterprise")
    session.commit()
    with statements(session) as first:
        page = client.get("/deals")
    assert page.status_code == 200
    assert len(filter_queries(first)) == 4
    assert ">Enterprise</option>" in page.text
    assert ">Mia East</option>" in page.text

    with statements(session) as second:
        again = client.get("/deals")
    assert again.status_code == 200
    assert filter_queries(second) == []
    assert ">Enterprise</option>" in again.text
    assert len(second) < len(first)

    make_account(session, name="Initrode", segment="Public sector")
    session.commit()
    with statements(session) as third:
        changed = client.get("/deals")
    assert len(filter_queries(third)) == 4
    assert ">Public sector</option>" in changed.text


def test_each_scope_gets_its_own_reps(app: FastAPI, session: Session, org: Org) -> None:
    director = sign_in(app, session, org, "director").get("/deals").text
    manager = sign_in(app, session, org, "mia").get("/deals").text
    assert ">Will West</option>" in director
    assert ">Ann</option>" in manager
    assert ">Will West</option>" not in manager


def version_lookups(sql: list[str]) -> int:
    return sum("max(opportunity_events.id)" in s.lower() for s in sql)


def test_a_render_looks_the_data_version_up_once_and_a_change_is_seen(
    app: FastAPI, session: Session, org: Org
) -> None:
    client = sign_in(app, session, org, "director")
    with statements(session) as sql:
        assert client.get("/").status_code == 200
    # The page's figures and its filter bar both need the version: one lookup serves both.
    assert version_lookups(sql) == 1

    from salesops.caching import data_version

    before = data_version(session)
    with statements(session) as again:
        assert data_version(session) == before
    assert version_lookups(again) == 0
    make_account(session, name="Hooli", segment="Mid-market")
    session.flush()
    assert data_version(session) != before
