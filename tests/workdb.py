"""A committed database per kind for tests of code that owns its transactions (the job worker
and the outbox commit each job and message on their own). Each package's conftest imports these
fixtures; the database is emptied of jobs, runs and messages after each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, delete

from salesops.db.engine import session_scope
from salesops.models import InboxItem, Job, JobRun, OutboxMessage
from tests.conftest import scratch_url
from tests.databases import migrated_engine


@pytest.fixture(scope="package", params=["sqlite", "postgresql"])
def work_engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """A migrated database of each kind whose writes are committed; emptied after each test."""
    engine = migrated_engine(scratch_url(request.param, tmp_path_factory.mktemp("db"), "work"))
    yield engine
    engine.dispose()


@pytest.fixture
def db(work_engine: Engine) -> Iterator[Engine]:
    yield work_engine
    with session_scope(work_engine) as session:
        for table in (JobRun, Job, InboxItem, OutboxMessage):
            session.execute(delete(table))
