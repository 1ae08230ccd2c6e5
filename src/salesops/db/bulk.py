"""Fast bulk writes for importers: raw executemany with the columns' own bind processing.

The ORM (and even Core's per-row statement machinery) costs more than the database itself
when millions of rows are written, so importers prepare one INSERT per table and feed it
tuples that went through exactly the conversions SQLAlchemy would have applied.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Date,
    DateTime,
    Dialect,
    Integer,
    Table,
    bindparam,
    insert,
)

from salesops.db.types import CENT, Money, UTCDateTime

# Page cache for one bulk import on SQLite: big enough that index pages stay in memory.
SQLITE_BULK_CACHE_KIB = 256 * 1024
SQLITE_TIMESTAMP = "%04d-%02d-%02d %02d:%02d:%02d.%06d"  # what SQLAlchemy stores


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


def _processor(column: Column[Any], dialect: Dialect) -> Callable[[Any], Any] | None:
    """The column's bind processor; on SQLite, faster equivalents for the common types.

    SQLAlchemy stores SQLite dates as 'YYYY-MM-DD', timestamps as naive UTC text
    'YYYY-MM-DD HH:MM:SS.ffffff' and money as a float of the cent-rounded Decimal; the fast
    versions produce the same values (tests/ingest/test_bulk.py checks they read back alike).
    """
    process = column.type.dialect_impl(dialect).bind_processor(dialect)
    if process is None:
        return None
    if dialect.name != "sqlite":
        return _none_safe(process)
    original = process
    kind = column.type
    # Each fast version takes None too, so a column's values go through one `map` call.
    if isinstance(kind, UTCDateTime):

        def utc_text(value: Any) -> Any:
            if type(value) is datetime and value.tzinfo is UTC:
                return SQLITE_TIMESTAMP % (
                    value.year,
                    value.month,
                    value.day,
                    value.hour,
                    value.minute,
                    value.second,
                    value.microsecond,
                )
            return None if value is None else original(value)

        return utc_text
    if isinstance(kind, Date) and not isinstance(kind, DateTime):

        def date_text(value: Any) -> Any:
            if type(value) is date:
                return value.isoformat()
            return None if value is None else original(value)

        return date_text
    if isinstance(kind, Money):

        def money_float(value: Any) -> Any:
            if type(value) is Decimal:
                return float(value.quantize(CENT))
            return None if value is None else original(value)

        return money_float
    return _none_safe(process)


def _none_safe(process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def bind(value: Any) -> Any:
        return None if value is None else process(value)

    return bind


def _processed(process: Callable[[Any], Any], values: Sequence[Any]) -> list[Any]:
    """`values` in storage format, each distinct value converted once.

    Dates, timestamps, stages and amounts repeat a lot in a batch; a set and a dictionary
    lookup (both in C) cost far less than formatting the same date again.
    """
    try:
        distinct = set(values)
    except TypeError:  # unhashable values (JSON documents)
        return list(map(process, values))
    if len(distinct) * 2 > len(values):
        return list(map(process, values))
    converted = {value: process(value) for value in distinct}
    return list(map(converted.__getitem__, values))


class BulkInserter:
    """INSERT many rows of `table` given as dicts; absent columns get their Python default.

    Columns that no record of a batch sets and that have no default are left out of the
    statement (they are NULL either way), which saves binding them row after row.
    """

    def __init__(self, connection: Connection, table: Table, *, with_id: bool = False) -> None:
        self.connection = connection
        self.table = table
        self.dialect = connection.dialect
        self.columns = [c for c in table.columns if with_id or not c.primary_key]
        self.by_name = {c.name: c for c in self.columns}
        self.processors = {c.name: _processor(c, self.dialect) for c in self.columns}
        self.defaults = {c.name: _default_of(c) for c in self.columns}
        self._statements: dict[tuple[str, ...], tuple[str, list[str], bool]] = {}

    def _statement(self, names: tuple[str, ...]) -> tuple[str, list[str], bool]:
        """The SQL for inserting `names`, the order its parameters take, and their style."""
        cached = self._statements.get(names)
        if cached is None:
            statement = insert(self.table).values({n: bindparam(n) for n in names})
            compiled = statement.compile(dialect=self.dialect)
            positional = bool(compiled.positional)
            order = list(compiled.positiontup or []) if positional else list(names)
            cached = self._statements[names] = (str(compiled), order, positional)
        return cached

    def rows(self, records: Sequence[dict[str, Any]]) -> tuple[str, list[Any]]:
        """The SQL and driver-ready parameters for `records` (built column by column)."""
        present: set[str] = set().union(*records)
        names = tuple(
            c.name for c in self.columns if c.name in present or self.defaults[c.name] is not None
        )
        sql, order, positional = self._statement(names)
        count = len(records)
        given = [name for name in order if name in present]
        by_name: dict[str, Sequence[Any]] = {}
        if len(given) > 1:  # (a getter of one name returns a value, not a tuple)
            try:
                # One pass over the records, each row's values fetched in C, then transposed.
                picked = list(map(itemgetter(*given), records))
                by_name = dict(zip(given, zip(*picked, strict=True), strict=True))
            except KeyError:  # only some records set some column: column by column below
                pass
        columns: list[Sequence[Any]] = []
        for name in order:
            process = self.processors[name]
            default = self.defaults[name]
            fallback = default() if default else None
            if name not in present:
                # No record sets it: its default once per batch, already processed.
                value = process(fallback) if process and fallback is not None else fallback
                columns.append([value] * count)
                continue
            values: Sequence[Any] | None = by_name.get(name)
            if values is None:
                values = [r.get(name, fallback) for r in records]
            if process is not None:
                values = _processed(process, values)
            columns.append(values)
        if positional:
            return sql, list(zip(*columns, strict=True))
        return sql, [dict(zip(order, row, strict=True)) for row in zip(*columns, strict=True)]

    def insert(self, records: Sequence[dict[str, Any]]) -> int:
        """Insert `records`; returns how many."""
        if records:
            sql, params = self.rows(records)
            self.connection.exec_driver_sql(sql, params)
        return len(records)


@contextmanager
def indexes_deferred(connection: Connection, tables: list[Table]) -> Iterator[None]:
    """On SQLite, drop the plain (non-unique) indexes of `tables` and rebuild them at the end.

    Building an index once is much faster than updating it for every inserted row. The
    drop and the rebuild happen inside the caller's transaction, so a failure in between
    rolls both back. Unique indexes stay: importers look rows up by them.
    """
    if connection.dialect.name != "sqlite":
        yield
        return
    indexes = [
        index
        for table in tables
        for index in sorted(table.indexes, key=lambda i: str(i.name))
        if not index.unique
    ]
    for index in indexes:
        index.drop(connection, checkfirst=True)
    yield
    for index in indexes:
        index.create(connection, checkfirst=True)


@contextmanager
def bulk_mode(connection: Connection) -> Iterator[None]:
    """Tune the connection for one large write (SQLite: a larger page cache), then restore.

    The cache also bounds the memory of index builds' sorts before they spill to temporary
    files (`temp_store` itself cannot be changed inside the import's transaction).
    """
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


def existing_keys(
    connection: Connection, table: Table, source_system: str, keys: Sequence[str]
) -> set[str]:
    """Which of `keys` already exist as external ids of `source_system` in `table`.

    A plain driver-level query: on a fresh import almost every key is new, and building a
    5,000-parameter IN clause through the SQL compiler costs more than the lookup itself.
    """
    if not keys:
        return set()
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    marks = ",".join([mark] * len(keys))
    sql = (
        f"SELECT external_id FROM {table.name}"
        f" WHERE source_system = {mark} AND external_id IN ({marks})"
    )
    return {row[0] for row in connection.exec_driver_sql(sql, (source_system, *keys))}
