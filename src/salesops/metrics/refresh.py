"""Bringing the default engine's copy of the large tables up to date after a change.

Reading every large table out of the operational database again after each change costs a
minute or more on a million deals (72 s from SQLite), while a change usually touches a few
rows of one or two tables. So when the cache file holds an earlier version of the data, each
table is compared by its part of the fingerprint:

- unchanged: copied from the file (inside DuckDB, no Python per row);
- the event log: only the events added since (ids above the file's highest) are read;
- opportunities: every change salesops makes to a deal records an event, so only the deals
  with new events and the new deals are read again and replace their old rows;
- anything else that changed is read again whole.

A copy brought up to date is then checked against the database's fingerprint figures (row
count, highest id, the column sums): a change made behind salesops' back (a raw SQL update
without an event, a deleted row) fails the check and the table is read again whole.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any, Literal

from ibis.expr.types import Table
from sqlalchemy import Table as SATable
from sqlalchemy.engine import Connection

from salesops.metrics import diskcache, feed, fingerprint
from salesops.metrics.feed import Quarantined
from salesops.models import Base

Step = Literal["keep", "append", "patch", "reload"]
Fingerprint = tuple[tuple[Any, ...], ...]  # one (table, *figures) part per table
EVENTS = "opportunity_events"
# Tables whose changed rows the event log names: table -> the event log's column for its id.
NAMED_BY_EVENTS = {"opportunities": "opportunity_id"}


def plan(previous: Fingerprint, current: Fingerprint) -> dict[str, Step]:
    """For each table of `current`: keep the copy, append new rows, patch the rows the new
    events name, or read it again."""
    before = {part[0]: part for part in previous}
    now = {part[0]: part for part in current}
    events = _event_step(before.get(EVENTS), now.get(EVENTS))
    steps: dict[str, Step] = {}
    for name, part in now.items():
        old = before.get(name)
        if old == part:
            steps[name] = "keep"
        elif name == EVENTS:
            steps[name] = events
        elif (
            name in NAMED_BY_EVENTS
            and old is not None
            and events in ("keep", "append")
            and math.isfinite(_number(before[EVENTS][1]))
        ):
            steps[name] = "patch"
        else:
            steps[name] = "reload"
    return steps


def _event_step(old: tuple[Any, ...] | None, new: tuple[Any, ...] | None) -> Step:
    if old is None or new is None:
        return "reload"
    if old == new:
        return "keep"
    # Appending needs a highest id to append after: an empty copy is simply read again.
    grew = math.isfinite(_number(old[1])) and _number(new[1]) > _number(old[1])
    return "append" if grew else "reload"


def _number(text: Any) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):  # "None": an empty table
        return -math.inf


def load(
    con: Any,
    connection: Connection,
    names: Iterable[str],
    steps: dict[str, Step],
    previous: Fingerprint,
    current: Fingerprint,
    *,
    scanning: bool = False,
    progress: Callable[[int], None] | None = None,
) -> tuple[dict[str, Table], list[Quarantined]]:
    """The large tables in `con`, each kept from the attached cache file, brought up to date
    or read again as `steps` says (and read again whole if the update fails its check); with
    the rows left out as unusable. A whole table is read through DuckDB's reader of the store
    when `scanning` (the store is attached, see `feed`); the changed rows of an update, few,
    through `connection`."""
    before = {part[0]: part for part in previous}
    now = {part[0]: part for part in current}
    tables: dict[str, Table] = {}
    held: list[Quarantined] = []
    for done, name in enumerate(names):
        table = Base.metadata.tables[name]
        step = steps.get(name, "reload")
        if step != "reload":
            con.raw_sql(f'CREATE TABLE "{name}" AS SELECT * FROM {diskcache.ALIAS}."{name}"')
        changed: list[Quarantined] = []
        if step == "append":
            # Rows above the file's highest id replace any the copy has (it may have been
            # read a moment after its fingerprint), so running it twice adds nothing twice.
            where = f"id > {int(_number(before[name][1]))}"
            changed = _add(con, connection, table, where)
        elif step == "patch":
            changed = _add(con, connection, table, _changed_rows(name, before))
        if step in ("append", "patch") and not _agrees(con, connection, name, now[name]):
            step = "reload"
        if step == "reload":
            con.raw_sql(f'DROP TABLE IF EXISTS "{name}"')
            changed = feed.copy_table(con, connection, table, name, scanner=scanning)
        held.extend(changed)
        tables[name] = con.table(name)
        if progress is not None:
            progress(done + 1)
    return tables, held


def _changed_rows(name: str, before: dict[str, tuple[Any, ...]]) -> str:
    """The rows of `name` that may differ from the file's copy: new ids, and ids named by the
    events added since."""
    last_id = _number(before[name][2])  # (name, count, max(id), ...)
    last_event = int(_number(before[EVENTS][1]))  # finite: `plan` patches only then
    newer = f"id > {int(last_id)}" if math.isfinite(last_id) else "1 = 1"
    named = f"id IN (SELECT {NAMED_BY_EVENTS[name]} FROM {EVENTS} WHERE id > {last_event})"
    return f"{newer} OR {named}"


def _add(con: Any, connection: Connection, table: SATable, where: str) -> list[Quarantined]:
    """Replace the rows of `table` matching `where` in the copy with the store's."""
    name = table.name
    staged = f"{name}__changed"
    held = feed.copy_table(con, connection, table, staged, where=where)
    con.raw_sql(f'DELETE FROM "{name}" WHERE id IN (SELECT id FROM "{staged}")')
    con.raw_sql(f'INSERT INTO "{name}" SELECT * FROM "{staged}"')
    con.raw_sql(f'DROP TABLE "{staged}"')
    return held


def _agrees(con: Any, connection: Connection, name: str, part: tuple[Any, ...]) -> bool:
    """Whether the copy of `name` has the database's fingerprint figures."""
    exprs = fingerprint.figures(name)
    copy = con.raw_sql(f'SELECT {", ".join(exprs)} FROM "{name}"').fetchone()
    expected = [_number(v) for v in part[1:]]
    if name == EVENTS:
        # Its fingerprint part is only the highest id: the row count and the sum of the deal
        # ids also have to agree (a removed event, or a file left by another database that
        # happened to sit at the same path).
        extra = "count(*), sum(opportunity_id)"
        copy = (*copy, *con.raw_sql(f'SELECT {extra} FROM "{name}"').fetchone())
        found = connection.exec_driver_sql(f'SELECT {extra} FROM "{name}"').one()
        expected.extend(_number(v) for v in found)
    return all(
        math.isclose(_number(a), b, rel_tol=1e-9) or _number(a) == b
        for a, b in zip(copy, expected, strict=True)
    )
