"""Test databases: a SQLite file per worker, and a PostgreSQL database per worker when set."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from salesops.db import make_engine, normalize_url
from salesops.db.schema import upgrade

PG_ENV = "SALESOPS_TEST_DATABASE_URL"


def postgres_base_url() -> str | None:
    url = os.environ.get(PG_ENV)
    return normalize_url(url) if url else None


def worker_id() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def fresh_postgres_url(suffix: str) -> str:
    """Create (or recreate) an empty database for this worker next to the configured one."""
    base = postgres_base_url()
    assert base is not None
    name = f"{make_url(base).database}_{worker_id()}_{suffix}"
    admin = make_engine(base).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(base).set(database=name).render_as_string(hide_password=False)


def fresh_sqlite_url(directory: Path, suffix: str) -> str:
    path = directory / f"salesops_{worker_id()}_{suffix}.db"
    for leftover in directory.glob(path.name + "*"):
        leftover.unlink()
    return f"sqlite:///{path}"


def migrated_engine(url: str) -> Engine:
    engine = make_engine(url)
    upgrade(engine)
    return engine
