"""Engines and session scopes for the operational store (SQLite by default, PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.orm import Session, sessionmaker

from salesops.errors import ConfigurationError


def normalize_url(url: str) -> str:
    """Use psycopg 3 for plain `postgresql://` URLs (the driver salesops ships with)."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


# How long a SQLite writer waits for another writer's lock before giving up (then: Busy).
SQLITE_BUSY_TIMEOUT_S = 30.0
# Execution option: start the transaction holding SQLite's write lock (BEGIN IMMEDIATE).
WRITE_INTENT = "salesops_write_intent"
_CHANGES_AT_BEGIN = "salesops_changes_at_begin"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite's own BEGIN handling is off (isolation_level None) so that `_sqlite_begin`
    # decides how each transaction starts, as SQLAlchemy's pysqlite documentation advises.
    dbapi_connection.isolation_level = None
    # WAL lets the dashboard read while an import writes; foreign keys are off by default.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    # A transaction that reads and then writes cannot wait for the write lock in WAL mode:
    # SQLite fails it at once if another writer committed since its read (SQLITE_BUSY). A
    # transaction that declares it will write takes the lock first and waits for it.
    immediate = conn.get_execution_options().get(WRITE_INTENT, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
    conn.info[_CHANGES_AT_BEGIN] = conn.connection.driver_connection.total_changes  # type: ignore[union-attr]


def sqlite_has_pending_writes(conn: Connection) -> bool:
    """Whether the SQLite transaction on `conn` has written rows it has not committed.

    Transactions here always begin explicitly, so "in a transaction" says nothing about
    writes; the connection's change counter since BEGIN does."""
    driver = conn.connection.driver_connection
    if not getattr(driver, "in_transaction", False):
        return False
    at_begin = conn.info.get(_CHANGES_AT_BEGIN)
    return at_begin is None or int(driver.total_changes) > int(at_begin)  # type: ignore[union-attr]


def _busy_timeout_setter(seconds: float) -> Any:
    # A caller may shorten the wait for one quick write (PRAGMA busy_timeout lives on the
    # connection); every checkout from the pool starts again from the engine's own wait.
    statement = f"PRAGMA busy_timeout = {int(seconds * 1000)}"

    def reset(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(statement)
        cursor.close()

    return reset


def is_lock_timeout(exc: BaseException) -> bool:
    """Whether a database error means another writer kept the lock past our wait."""
    text = str(getattr(exc, "orig", exc)).lower()
    return "database is locked" in text or "lock timeout" in text


def make_engine(
    url: str, *, echo: bool = False, busy_timeout: float = SQLITE_BUSY_TIMEOUT_S
) -> Engine:
    """Create an engine for `url`, configured the way salesops expects."""
    url = normalize_url(url)
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigurationError(f"invalid database URL {url!r}: {exc}") from exc
    try:
        if parsed.get_backend_name() == "sqlite":
            engine = create_engine(url, echo=echo, connect_args={"timeout": busy_timeout})
            event.listen(engine, "connect", _sqlite_pragmas)
            event.listen(engine, "begin", _sqlite_begin)
            event.listen(engine, "checkout", _busy_timeout_setter(busy_timeout))
        else:
            engine = create_engine(url, echo=echo, pool_pre_ping=True)
    except NoSuchModuleError as exc:
        raise ConfigurationError(f"unsupported database URL {url!r}: {exc}") from exc
    return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """A sessionmaker bound to `engine` (objects stay usable after commit)."""
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def session_scope(engine: Engine, *, write: bool = False) -> Iterator[Session]:
    """One unit of work: commit if the block succeeds, roll back if it raises.

    `write` takes the database's write lock at the start (waiting for another writer to
    finish), so a long write such as an import never fails half-way on a lock.
    """
    session = session_factory(engine)()
    if write:
        session.connection(execution_options={WRITE_INTENT: True})  # type: ignore[misc]
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
