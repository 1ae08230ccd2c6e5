"""Batched reads and writes of one target table: existing rows by key, ids, updates, clashes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, select, tuple_, update

from salesops.db.bulk import existing_keys
from salesops.ingest.resolve import IN_CHUNK
from salesops.ingest.targets import TargetDef


def existing_rows(
    connection: Connection,
    tdef: TargetDef,
    source_system: str,
    keys: list[Any],
    columns: Iterable[str],
) -> dict[Any, dict[str, Any]]:
    """The rows of `tdef` already stored under `keys`, with `columns`, by key."""
    table = tdef.table
    selected = [table.c[c] for c in sorted({"id", *columns})]
    found: dict[Any, dict[str, Any]] = {}
    if tdef.imported:
        # A cheap driver-level probe first: on a fresh import almost no key exists yet.
        present = existing_keys(connection, table, source_system, keys)
        keys = [k for k in keys if k in present]
    for start in range(0, len(keys), IN_CHUNK):
        chunk = keys[start : start + IN_CHUNK]
        if tdef.imported:
            query = select(table.c.external_id, *selected).where(
                table.c.source_system == source_system, table.c.external_id.in_(chunk)
            )
            for row in connection.execute(query):
                found[row[0]] = dict(row._mapping)
        else:
            natural = [table.c[c] for c in tdef.natural_key]
            query = select(*selected, *natural).where(tuple_(*natural).in_(chunk))
            for row in connection.execute(query):
                mapping = dict(row._mapping)
                found[tuple(mapping[c] for c in tdef.natural_key)] = mapping
    return found


def existing_ids(
    connection: Connection, tdef: TargetDef, source_system: str, keys: Sequence[Any]
) -> dict[Any, int]:
    """The ids of the rows of `tdef` stored under `keys`."""
    table = tdef.table
    ids: dict[Any, int] = {}
    for start in range(0, len(keys), IN_CHUNK):
        chunk = list(keys[start : start + IN_CHUNK])
        if tdef.imported:
            query = select(table.c.external_id, table.c.id).where(
                table.c.source_system == source_system, table.c.external_id.in_(chunk)
            )
            ids.update((k, i) for k, i in connection.execute(query))
        else:
            natural = [table.c[c] for c in tdef.natural_key]
            query = select(table.c.id, *natural).where(tuple_(*natural).in_(chunk))
            ids.update({tuple(row[1:]): row[0] for row in connection.execute(query)})
    return ids


def update_rows(
    connection: Connection, tdef: TargetDef, changes: list[tuple[int, dict[str, Any]]]
) -> None:
    """Apply `changes` (row id, column -> new value), one executemany per set of columns."""
    table = tdef.table
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row_id, values in changes:
        names = tuple(sorted(values))
        groups.setdefault(names, []).append(
            {"_id": row_id, **{f"v_{c}": v for c, v in values.items()}}
        )
    for names, params in groups.items():
        assignments: dict[str, Any] = {c: bindparam(f"v_{c}") for c in names}
        if "version" in table.c:
            # A re-import is a change like any other: a client holding the old version must
            # not overwrite it (optimistic concurrency, crm/versioning.py).
            assignments["version"] = table.c.version + 1
        statement = update(table).where(table.c.id == bindparam("_id")).values(assignments)
        connection.execute(statement, params)


def unique_holders(
    connection: Connection, tdef: TargetDef, column: str, values: list[Any]
) -> dict[Any, tuple[int, str | None]]:
    """Who holds each of `values` in unique `column`: (row id, source system)."""
    table = tdef.table
    taken: dict[Any, tuple[int, str | None]] = {}
    for start in range(0, len(values), IN_CHUNK):
        query = select(table.c[column], table.c.id, table.c.source_system).where(
            table.c[column].in_(values[start : start + IN_CHUNK])
        )
        taken.update((row[0], (row[1], row[2])) for row in connection.execute(query))
    return taken
