"""Fixtures for tests that drive the real app on a rolled-back transaction.

The app commits each request; the test's session joins an outer transaction through a
SAVEPOINT, which works on SQLite because salesops' engines begin transactions themselves
(`salesops.db.engine`), the way SQLAlchemy documents for pysqlite.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from salesops import caching
from salesops.api import create_app
from salesops.auth import service as auth
from salesops.config import Settings
from tests.conftest import session
from tests.orgchart import Org, build_org

__all__ = ["app", "client_as", "lend_session", "org", "session"]

_apps: dict[bool, FastAPI] = {}


def lend_session(session: Session, *, web: bool = True) -> FastAPI:
    """The real app (built once per worker: that takes ~0.4 s), serving every request from
    the test's session."""
    if web not in _apps:
        _apps[web] = create_app(Settings(), web=web)
        _apps[web].state.owns_sessions = False
    app = _apps[web]
    app.state.session_factory = lambda: session
    return app


@pytest.fixture
def app(session: Session) -> FastAPI:
    # Rolled-back tests reuse ids, so a data version can repeat: start each test cold.
    caching.clear()
    return lend_session(session)


@pytest.fixture
def org(session: Session) -> Org:
    built = build_org(session)
    # What a test sets up is committed (to its savepoint), so a request that fails and rolls
    # back cannot take the setup with it.
    session.commit()
    return built


@pytest.fixture
def client_as(app: FastAPI, session: Session, org: Org) -> Iterator[Callable[[str], TestClient]]:
    """A client authenticated with a fresh API token of the org user called `name`."""
    clients: list[TestClient] = []

    def make(name: str) -> TestClient:
        token = auth.create_token(session, org.users[name]).secret
        session.commit()
        client = TestClient(app, headers={"Authorization": f"Bearer {token}"})
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()
