"""Fixtures for tests that drive the real app on a rolled-back transaction.

The app commits each request. On SQLite, pysqlite's own transaction handling turns the
SAVEPOINT that `tests.conftest.session` relies on into a real commit, so these tests use an
engine configured the way SQLAlchemy documents for working SAVEPOINTs on pysqlite.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from salesops import caching
from salesops.api import create_app
from salesops.auth import service as auth
from salesops.config import Settings
from salesops.db import make_engine
from salesops.pipeline import stages
from tests.orgchart import Org, build_org

_savepoint_engines: dict[str, Engine] = {}


def savepoint_engine(engine: Engine) -> Engine:
    if engine.dialect.name != "sqlite":
        return engine
    url = engine.url.render_as_string(hide_password=False)
    if url not in _savepoint_engines:
        fixed = make_engine(url)

        @event.listens_for(fixed, "connect")
        def _no_pysqlite_transactions(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None

        @event.listens_for(fixed, "begin")
        def _begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN")

        _savepoint_engines[url] = fixed
    return _savepoint_engines[url]


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """Like tests.conftest.session, but safe for code that commits."""
    connection = savepoint_engine(engine).connect()
    transaction = connection.begin()
    db = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    stages.ensure_stages(db)
    try:
        yield db
    finally:
        db.close()
        transaction.rollback()
        connection.close()


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
