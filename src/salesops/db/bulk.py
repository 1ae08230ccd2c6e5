"""Fast bulk writes for importers: raw executemany with the columns' own bind processing.

The ORM (and even Core's per-row statement machinery) costs more than the database itself
when millions of rows are written, so importers prepare one INSERT per table and feed it
tuples that went through exactly the conversions SQLAlchemy would have applied.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Column, Connection, Integer, Table, bindparam, insert

# Page cache for one bulk import on SQLite: big enough that index pages stay in memory.
SQLITE_BULK_CACHE_KIB = 256 * 1024


def _default_of(column: Column[Any]) -> Callable[[], Any] | None:
    default: Any = column.default
    if default is None:
        return None
    arg = default.arg
    if default.is_scalar:
        return lambda: arg
    if default.is_callable:
        return lambda: arg(None)  # SQLAlchemy wraps callables to take an execution context
    return None


class BulkInserter:
    """INSERT many rows of `table` given as dicts; absent columns get their Python default."""

    def __init__(self, connection: Connection, table: Table, *, with_id: bool = False) -> None:
        self.connection = connection
        dialect = connection.dialect
        self.columns = [c for c in table.columns if with_id or not c.primary_key]
        statement = insert(table).values({c.name: bindparam(c.name) for c in self.columns})
        compiled = statement.compile(dialect=dialect)
        self.sql = str(compiled)
        self.positional = bool(compiled.positional)
        order = list(compiled.positiontup or []) if self.positional else []
        by_name = {c.name: c for c in self.columns}
        if self.positional:
            self.columns = [by_name[name] for name in order]
        self.names = [c.name for c in self.columns]
        self.processors = [
            c.type.dialect_impl(dialect).bind_processor(dialect) for c in self.columns
        ]
        self.defaults = [_default_of(c) for c in self.columns]

    def rows(self, records: Sequence[dict[str, Any]]) -> list[Any]:
        """The driver-ready parameters for `records`."""
        present: set[str] = set()
        for record in records:
            present.update(record)
        # Columns no record sets get their default once per batch, already processed.
        plan: list[tuple[str, Any, Any, bool]] = []
        for name, process, default in zip(self.names, self.processors, self.defaults, strict=True):
            value = default() if default else None
            if name in present:
                plan.append((name, process, value, True))
            else:
                plan.append(
                    (name, None, process(value) if process and value is not None else value, False)
                )
        result: list[Any] = []
        append = result.append
        for record in records:
            values = []
            for name, process, fallback, dynamic in plan:
                if dynamic:
                    value = record.get(name, fallback)
                    if process is not None and value is not None:
                        value = process(value)
                    values.append(value)
                else:
                    values.append(fallback)
            append(tuple(values) if self.positional else dict(zip(self.names, values, strict=True)))
        return result

    def insert(self, records: Sequence[dict[str, Any]]) -> int:
        """Insert `records`; returns how many."""
        if records:
            self.connection.exec_driver_sql(self.sql, self.rows(records))
        return len(records)


@contextmanager
def bulk_mode(connection: Connection) -> Iterator[None]:
    """Tune the connection for one large write (SQLite: a larger page cache), then restore."""
    if connection.dialect.name != "sqlite":
        yield
        return
    previous = connection.exec_driver_sql("PRAGMA cache_size").scalar()
    connection.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_BULK_CACHE_KIB}")
    try:
        yield
    finally:
        connection.exec_driver_sql(f"PRAGMA cache_size={int(previous or -2000)}")


def reset_sequences(connection: Connection, tables: list[Table]) -> None:
    """After rows were written with explicit ids, make new ids continue after the largest.

    SQLite picks max(rowid) + 1 by itself; PostgreSQL sequences must be moved explicitly.
    """
    if connection.dialect.name != "postgresql":
        return
    for table in tables:
        pk = list(table.primary_key.columns)
        if len(pk) != 1 or not pk[0].autoincrement or not isinstance(pk[0].type, Integer):
            continue
        sequence = connection.exec_driver_sql(
            "SELECT pg_get_serial_sequence(%(table)s, %(column)s)",
            {"table": table.name, "column": pk[0].name},
        ).scalar()
        if sequence:
            largest = f'SELECT MAX("{pk[0].name}") FROM "{table.name}"'
            connection.exec_driver_sql(
                f"SELECT setval(%(seq)s, COALESCE(({largest}), 0) + 1, false)", {"seq": sequence}
            )
