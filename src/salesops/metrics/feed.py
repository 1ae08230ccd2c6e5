"""Feeding the default engine's DuckDB copy from the operational store, no Python per row.

Reading a million deals through Python (`fetchall()`, then a list per column) took 218 s and
5.9 GB at 1M deals. DuckDB reads SQLite and PostgreSQL itself with its `sqlite_scanner` and
`postgres_scanner` extensions; they are installed as Python packages pinned to our DuckDB
version (`duckdb-extension-sqlite-scanner`, `duckdb-extension-postgres-scanner`) and loaded
from the installed file, never downloaded. The rows stream from the store into DuckDB's own
storage, so memory stays bounded by DuckDB, not by the table's size.

When the scanner cannot be used (the extension is not installed for this platform, an
in-memory SQLite database, or a connection holding writes of its own that are not committed
yet, which only it can see: tests, or a service computing metrics inside its transaction) the
rows are read through the connection instead, in batches, so memory stays bounded there too.

Either way every value is cast in DuckDB with `TRY_CAST`: a row holding a value the copy
cannot hold (an amount beyond 18 digits, a date DuckDB cannot read, text in a number column)
is left out of the copy and reported (`Quarantined`, logged as a warning) instead of failing
every metric of the company.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
from sqlalchemy import JSON, Boolean, Date, Integer, Numeric, String, Text
from sqlalchemy import Table as SATable
from sqlalchemy.engine import Connection

from salesops.db.engine import sqlite_has_pending_writes
from salesops.db.types import UTCDateTime

log = logging.getLogger(__name__)

STORE = "salesops_store"  # the alias the operational database is attached under
_BAD = "salesops_bad"  # the column naming a row's unusable values while it is staged
_RAW = "salesops_raw_"  # the prefix of a value's column before its cast
_BATCH = 50_000  # rows per batch when reading through the connection
ATTRIBUTE_TABLES = ("accounts", "opportunities")
_EXTENSIONS = {
    "sqlite": ("duckdb_extension_sqlite_scanner", "sqlite"),
    "postgresql": ("duckdb_extension_postgres_scanner", "postgres"),
}


@dataclass(frozen=True)
class Quarantined:
    """A row of the store the analytics copy could not hold, and the columns at fault."""

    table: str
    id: int
    columns: tuple[str, ...]


def duck_type(column: Any) -> str | None:
    """The DuckDB type a column of the canonical model is copied as (None: not copied)."""
    kind = column.type
    if isinstance(kind, JSON):
        # Custom attributes are sliced by (`attributes.<name>` dimensions): kept as JSON text.
        table = getattr(column, "table", None)
        copied = column.name == "attributes" and getattr(table, "name", "") in ATTRIBUTE_TABLES
        return "VARCHAR" if copied else None
    if isinstance(kind, UTCDateTime):
        return "TIMESTAMP"  # UTC, without its zone: DuckDB then converts nothing per row
    impl = getattr(kind, "impl", kind)
    if isinstance(impl, Numeric) and not isinstance(impl, Integer):
        return f"DECIMAL({impl.precision or 18}, {impl.scale or 2})"
    if isinstance(kind, Boolean):
        return "BOOLEAN"
    if isinstance(kind, Integer):
        return "BIGINT"
    if isinstance(kind, Date):
        return "DATE"
    if isinstance(kind, String | Text):
        return "VARCHAR"
    return "VARCHAR"


def columns(table: SATable) -> list[tuple[str, str]]:
    """(name, DuckDB type) of the columns of `table` the copy holds."""
    found = [(c.name, duck_type(c)) for c in table.columns]
    return [(n, t) for n, t in found if t is not None]


def _cast(name: str, kind: str) -> str:
    quoted = f'"{name}"'
    if kind == "TIMESTAMP":
        # Through TIMESTAMPTZ so a value with an offset (PostgreSQL's, or text written with
        # one) lands in UTC; the connection's time zone is UTC, so a naive one is kept as is.
        return f"TRY_CAST(TRY_CAST({quoted} AS TIMESTAMPTZ) AS TIMESTAMP)"
    if kind == "VARCHAR":
        return f"CAST({quoted} AS VARCHAR)"
    return f"TRY_CAST({quoted} AS {kind})"


def _select(table: SATable, source: str, where: str | None) -> str:
    """SELECT the copy's columns of `table` from `source`, cast, with the unusable columns of
    each row named in `_BAD` (empty when the row is fine). Each value is cast once: the inner
    query keeps the raw value beside its cast for the check."""
    cols = columns(table)
    checked = [n for n, k in cols if k != "VARCHAR"]
    inner = [f'{_cast(n, k)} AS "{n}"' for n, k in cols]
    inner += [f'"{n}" AS "{_RAW}{n}"' for n in checked]
    checks = [f"CASE WHEN \"{_RAW}{n}\" IS NOT NULL AND \"{n}\" IS NULL THEN '{n}' END"
              for n in checked]  # fmt: skip
    bad = f"concat_ws(',', {', '.join(checks)})" if checks else "''"
    condition = "" if where is None else f" WHERE {where}"
    names = ", ".join(f'"{n}"' for n, _ in cols)
    return (
        f"SELECT {names}, {bad} AS {_BAD} FROM (SELECT {', '.join(inner)} FROM {source}{condition})"
    )


def scanner_file(dialect: str) -> Path | None:
    """The installed DuckDB extension that reads `dialect`, if its package is installed."""
    package = _EXTENSIONS.get(dialect, ("", ""))[0]
    if not package:
        return None
    try:
        module = __import__(package)
    except ImportError:
        return None
    found = sorted(Path(str(module.__file__)).parent.glob("extensions/*/*.duckdb_extension"))
    return found[-1] if found else None


def has_pending_writes(connection: Connection) -> bool:
    """Whether `connection` holds writes not committed yet (another connection cannot see
    them, so the copy must be read through this one)."""
    if connection.dialect.name == "sqlite":
        return sqlite_has_pending_writes(connection)
    if connection.dialect.name == "postgresql":
        found = connection.exec_driver_sql("SELECT pg_current_xact_id_if_assigned()").scalar()
        return found is not None
    return True


@contextmanager
def attached_store(con: Any, connection: Connection) -> Iterator[bool]:
    """Attach the operational database to `con` read-only as `STORE`, inside one DuckDB
    transaction (so every table is read from one snapshot of the store); yields whether the
    scanner is in use (False: read through `connection` instead)."""
    if not _attach(con, connection):
        yield False
        return
    try:
        con.raw_sql("BEGIN TRANSACTION")
        try:
            yield True
            con.raw_sql("COMMIT")
        except BaseException:
            con.raw_sql("ROLLBACK")
            raise
    finally:
        con.raw_sql(f"DETACH {STORE}")


def _attach(con: Any, connection: Connection) -> bool:
    dialect = connection.dialect.name
    url = connection.engine.url
    if dialect == "sqlite":
        database = url.database or ""
        if database in ("", ":memory:") or not Path(database).exists():
            return False
        target = str(Path(database).resolve())
    elif dialect == "postgresql":
        target = _libpq(url)
    else:
        return False
    extension = scanner_file(dialect)
    if extension is None or has_pending_writes(connection):
        return False
    kind = _EXTENSIONS[dialect][1]
    try:
        con.raw_sql(f"LOAD '{_quoted(str(extension))}'")
        if dialect == "sqlite":
            # Read every value as text and cast it here: SQLite keeps whatever it is given,
            # and the scanner fails a whole read on a single value of an unexpected type.
            con.raw_sql("SET sqlite_all_varchar = true")
        con.raw_sql(f"ATTACH '{_quoted(target)}' AS {STORE} (TYPE {kind}, READ_ONLY)")
    except Exception as exc:  # an extension for another platform, a refused connection
        log.warning("metrics: DuckDB's %s reader unavailable (%s); reading via Python", kind, exc)
        return False
    return True


def _libpq(url: Any) -> str:
    """The libpq connection string of a SQLAlchemy PostgreSQL URL."""
    parts = {
        "host": url.host,
        "port": url.port,
        "dbname": url.database,
        "user": url.username,
        "password": url.password,
    }
    for key, value in (url.query or {}).items():
        parts.setdefault(key, value if isinstance(value, str) else value[-1])
    return " ".join(f"{k}={_libpq_value(str(v))}" for k, v in parts.items() if v is not None)


def _libpq_value(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def copy_table(
    con: Any,
    connection: Connection,
    table: SATable,
    target: str,
    *,
    where: str | None = None,
    scanner: bool = False,
) -> list[Quarantined]:
    """Create DuckDB table `target` holding the rows of `table` (those matching `where`, SQL
    built by salesops, never user input); returns the rows left out as unusable."""
    if scanner:
        source = f'{STORE}."{table.name}"'
    else:
        source = _stage(con, connection, table, where)
        where = None
    try:
        con.raw_sql(f'CREATE OR REPLACE TABLE "{target}" AS {_select(table, source, where)}')
    finally:
        if not scanner:
            con.raw_sql(f"DROP TABLE IF EXISTS {source}")
    bad = con.raw_sql(f"SELECT id, {_BAD} FROM \"{target}\" WHERE {_BAD} <> ''").fetchall()
    if bad:
        con.raw_sql(f"DELETE FROM \"{target}\" WHERE {_BAD} <> ''")
    con.raw_sql(f'ALTER TABLE "{target}" DROP COLUMN {_BAD}')
    found = [Quarantined(table.name, int(i), tuple(str(c).split(","))) for i, c in bad]
    if found:
        log.warning(
            "metrics: %d row(s) of %s left out of the analytics copy (unusable values): %s",
            len(found), table.name, ", ".join(f"id {q.id} ({', '.join(q.columns)})"
                                              for q in found[:10]),
        )  # fmt: skip
    return found


def _stage(con: Any, connection: Connection, table: SATable, where: str | None) -> str:
    """The rows of `table` read through `connection` into a DuckDB table of text, in batches."""
    names = [n for n, _ in columns(table)]
    staged = f'"{table.name}__staged"'
    schema = pa.schema([pa.field(n, pa.string()) for n in names])
    con.raw_sql(f"DROP TABLE IF EXISTS {staged}")
    defined = ", ".join(f'"{n}" VARCHAR' for n in names)
    con.raw_sql(f"CREATE TABLE {staged} ({defined})")
    select = ", ".join(f'"{n}"' for n in names)
    condition = "" if where is None else f" WHERE {where}"
    result = connection.exec_driver_sql(f'SELECT {select} FROM "{table.name}"{condition}')
    raw = con.con  # the duckdb connection under Ibis: appends an Arrow batch without a copy
    while rows := result.fetchmany(_BATCH):
        arrays = [pa.array([None if v is None else _text(v) for v in col], pa.string())
                  for col in zip(*rows, strict=True)]  # fmt: skip
        batch = pa.Table.from_arrays(arrays, schema=schema)
        raw.register("salesops_batch", batch)
        try:
            raw.execute(f"INSERT INTO {staged} SELECT * FROM salesops_batch")
        finally:
            raw.unregister("salesops_batch")
    return staged


def _text(value: Any) -> str:
    if isinstance(value, dict | list):  # a JSON column PostgreSQL's driver has parsed
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def _quoted(text: str) -> str:
    return text.replace("'", "''")
