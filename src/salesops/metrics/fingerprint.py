"""The cheap fingerprint that tells the default engine whether the large tables changed.

Row counts, highest ids and a few column sums per table: one indexed query per table, cheap on
any size, and different after any write salesops makes (every change adds an event or moves a
sum). Each table's part also tells `refresh` which tables to read again.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

from sqlalchemy.engine import Connection

_SUMS = {
    # `version` grows with every change salesops makes to a row (crm/versioning.py), so a change
    # of a column summed nowhere else (a corrected currency) still moves the fingerprint.
    "opportunities": (
        "amount", "stage_id", "owner_id", "coalesce(probability, 0)",
        "coalesce(territory_id, 0)", "coalesce(product_id, 0)",
        "coalesce(length(competitor), 0) + coalesce(length(lead_source), 0)", "version",
        "coalesce(length(CAST(attributes AS TEXT)), 0)",
    ),
    "opportunity_events": (),
    "quotas": ("amount", "coalesce(rep_id, 0)", "coalesce(ramp_factor, 0)", "version"),
    "leads": ("coalesce(owner_id, 0)", "coalesce(converted_opportunity_id, 0)", "version"),
    "contracts": ("value", "length(status)", "coalesce(account_id, 0)", "version"),
    "accounts": (
        "coalesce(territory_id, 0)",
        "coalesce(length(segment), 0) + coalesce(length(industry), 0)"
        " + coalesce(length(region), 0)", "version",
        "coalesce(length(CAST(attributes AS TEXT)), 0)",
    ),
}  # fmt: skip
_COUNTS = {
    "opportunities": ("closed_at", "engaged_at", "competitor"),
    "leads": ("converted_at",),
}


def figures(name: str) -> list[str]:
    """The SQL aggregates of `name`'s part of the fingerprint (the same in SQLite, PostgreSQL
    and DuckDB, so a copy can be checked against the database)."""
    # The event log is append-only: its highest id changes with every new event, and
    # counting its rows would cost a scan of the largest table on every query.
    exprs = ["max(id)"] if name == "opportunity_events" else ["count(*)", "max(id)"]
    exprs += [f"sum({e})" for e in _SUMS.get(name, ())]
    exprs += [f"count({c})" for c in _COUNTS.get(name, ())]
    return exprs


def _fingerprint(connection: Connection, tables: Iterable[str]) -> tuple[Any, ...]:
    """One (table, *figures) part per table, every figure as text."""
    parts: list[Any] = []
    for name in tables:
        row = connection.exec_driver_sql(f'SELECT {", ".join(figures(name))} FROM "{name}"').one()
        parts.append((name, *(str(v) for v in row)))
    return tuple(parts)


# SQLite can tell cheaply whether anything changed since we last looked on this connection:
# `PRAGMA data_version` moves when another connection commits, `total_changes()` counts this
# connection's own writes. While both stand still the last fingerprint is still true, which
# spares a scan of the large tables on every query.
_SEEN: OrderedDict[int, tuple[Any, tuple[Any, ...], tuple[Any, ...]]] = OrderedDict()
_LOCK = threading.Lock()


def of_tables(connection: Connection, tables: Iterable[str]) -> tuple[Any, ...]:
    """The fingerprint of `tables` (on SQLite not looked up again while nothing was written)."""
    if connection.dialect.name != "sqlite":
        return _fingerprint(connection, tables)
    raw = connection.connection.driver_connection
    marks = (
        connection.exec_driver_sql("PRAGMA data_version").scalar(),
        connection.exec_driver_sql("SELECT total_changes()").scalar(),
    )
    with _LOCK:
        seen = _SEEN.get(id(raw))
    if seen is not None and seen[0] is raw and seen[1] == marks:
        return seen[2]
    found = _fingerprint(connection, tables)
    with _LOCK:
        _SEEN[id(raw)] = (raw, marks, found)
        while len(_SEEN) > 64:
            _SEEN.popitem(last=False)
    return found
