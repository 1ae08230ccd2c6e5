"""Bringing the default engine's copy of the large tables up to date after a change.

Reading every large table out of the operational database again after each change costs
minutes on a million deals (131 s from SQLite), while a change usually touches one or two of
the six tables, and the event log only grows. So when the cache file holds an earlier version
of the data, each table is compared by its part of the fingerprint: an unchanged table is
copied from the file (inside DuckDB, no Python per row), the event log gets only the events
added since (ids above the file's highest), and only the tables that changed otherwise are
read again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Literal

import pyarrow as pa
from ibis.expr.types import Table
from sqlalchemy.engine import Connection

from salesops.metrics import diskcache

Step = Literal["keep", "append", "reload"]
Fingerprint = tuple[tuple[Any, ...], ...]  # one (table, *figures) part per table
# Tables whose rows are never changed or removed, only added: new rows are the ids above the
# highest one already copied (their fingerprint part is just that highest id).
APPEND_ONLY = ("opportunity_events",)
Reader = Callable[[Connection, str, int | None], pa.Table]  # (connection, table, after id)


def plan(previous: Fingerprint, current: Fingerprint) -> dict[str, Step]:
    """For each table of `current`: keep the copy, append the new rows, or read it again."""
    before = {part[0]: part for part in previous}
    steps: dict[str, Step] = {}
    for part in current:
        name, old = part[0], before.get(part[0])
        if old == part:
            steps[name] = "keep"
        elif name in APPEND_ONLY and old is not None and _grew(old[1], part[1]):
            steps[name] = "append"
        else:
            steps[name] = "reload"
    return steps


def _grew(old_max: Any, new_max: Any) -> bool:
    try:
        return int(new_max) > int(old_max)
    except (TypeError, ValueError):  # "None": the table was empty
        return False


def load(
    con: Any,
    connection: Connection,
    names: Iterable[str],
    steps: dict[str, Step],
    previous: Fingerprint,
    read: Reader,
) -> dict[str, Table]:
    """The large tables in `con`, each kept from the attached cache file, appended to or read
    again as `steps` says. An appended table whose row count then differs from the database's
    (an event removed or written out of id order) is read again whole."""
    highest = {part[0]: part[1] for part in previous}
    tables: dict[str, Table] = {}
    for name in names:
        step = steps.get(name, "reload")
        if step != "reload":
            con.raw_sql(f'CREATE TABLE "{name}" AS SELECT * FROM {diskcache.ALIAS}."{name}"')
        if step == "append":
            staged = f"{name}__added"
            con.create_table(staged, read(connection, name, int(highest[name])), overwrite=True)
            con.raw_sql(f'INSERT INTO "{name}" SELECT * FROM "{staged}"')
            con.raw_sql(f'DROP TABLE "{staged}"')
            if _count(con, name) != _source_count(connection, name):
                step = "reload"
        if step == "reload":
            con.raw_sql(f'DROP TABLE IF EXISTS "{name}"')
            con.create_table(name, read(connection, name, None))
        tables[name] = con.table(name)
    return tables


def _count(con: Any, name: str) -> int:
    return int(con.raw_sql(f'SELECT count(*) FROM "{name}"').fetchone()[0])


def _source_count(connection: Connection, name: str) -> int:
    return int(connection.exec_driver_sql(f'SELECT count(*) FROM "{name}"').scalar() or 0)
