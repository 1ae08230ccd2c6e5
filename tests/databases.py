"""Test databases: a SQLite file per worker, and a PostgreSQL database per worker when set."""

from __future__ import annotations

import atexit
import itertools
import os
import re
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


_counter = itertools.count(1)
_created: list[str] = []


def _admin_engine() -> Engine:
    base = postgres_base_url()
    assert base is not None
    return make_engine(base).execution_options(isolation_level="AUTOCOMMIT")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _drop_stale(admin: Engine, prefix: str) -> None:
    """Drop scratch databases left behind by test processes that no longer run."""
    with admin.connect() as conn:
        names = conn.execute(
            text("SELECT datname FROM pg_database WHERE datname LIKE :p"), {"p": prefix + "%"}
        ).scalars()
        for name in list(names):
            match = re.match(re.escape(prefix) + r"[^_]+_(\d+)_", name)
            if match and not _pid_alive(int(match.group(1))):
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _drop_created() -> None:
    if not _created:
        return
    admin = _admin_engine()
    with admin.connect() as conn:
        for name in _created:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def fresh_postgres_url(suffix: str) -> str:
    """Create an empty scratch database next to the configured one, dropped at exit.

    The name carries the worker and process id so that parallel test runs on one server
    (several developers, or CI beside a developer) never drop each other's databases.
    """
    base = postgres_base_url()
    assert base is not None
    prefix = f"{make_url(base).database}_"
    admin = _admin_engine()
    if not _created:
        _drop_stale(admin, prefix)
        atexit.register(_drop_created)
    name = f"{prefix}{worker_id()}_{os.getpid()}_{suffix}_{next(_counter)}"[:63]
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    _created.append(name)
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
