"""The stored rows metrics cannot use, field by field, with why: what admins are shown.

Two kinds (see docs/security.md):

- **left out**: a row holding a value the analytics copy cannot hold (an amount beyond
  DECIMAL(18, 2), a date DuckDB cannot read) is quarantined when the copy is loaded
  (`feed.Quarantined`) and counts in no figure until it is repaired;
- **no exchange rate**: a row in a currency with no exchange rate cannot be converted to the
  reporting currency. It used to stop every money metric of the company; now it is left out
  of every figure (with a deal's events, `engines._without_currencies`) until its rates are
  loaded or its currency corrected (`PATCH .../{id}` with another `currency`).

Values written through salesops today cannot be either: every entry point checks them
(`db/limits.py`, `crm/checks.py`). These rows come from before those checks, or from writes
that went around salesops.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from salesops.config import get_settings
from salesops.db.limits import problem_with
from salesops.metrics.engines import LARGE
from salesops.models import Base, FxRate

LEFT_OUT = "left out of every figure"
NO_RATE = "left out of every figure until it has an exchange rate"
# More than this many rows of one kind is a wrong load, not a few bad rows: the list says so
# rather than growing without bound.
MAX_LISTED = 500


@dataclass(frozen=True)
class QuarantinedValue:
    """One stored value metrics cannot use: where it is, what it is, why, and the effect."""

    table: str
    id: int
    field: str
    value: str
    reason: str
    effect: str


def _text(value: Any) -> str:
    if isinstance(value, Decimal | float):
        return format(Decimal(str(value)), "f")
    return "" if value is None else str(value)[:200]


def left_out(session: Session) -> list[QuarantinedValue]:
    """The values the analytics copy left out, from the copy metrics compute on now."""
    from salesops.metrics.service import open_engine

    found: list[QuarantinedValue] = []
    for held in open_engine(session).quarantined[:MAX_LISTED]:
        table = Base.metadata.tables[held.table]
        stored = session.execute(select(table).where(table.c.id == held.id)).mappings().first()
        for name in held.columns:
            if stored is None:
                reason = "deleted since the copy was loaded"
                value: Any = None
            else:
                value = stored.get(name)
                reason = problem_with(table.c[name], value) or "the analytics copy cannot hold it"
            found.append(
                QuarantinedValue(held.table, held.id, name, _text(value), reason, LEFT_OUT)
            )
    return found


def unconvertible(session: Session) -> list[QuarantinedValue]:
    """Rows of the tables metrics read whose currency has no exchange rate."""
    rated = {get_settings().reporting_currency.upper()}
    rated.update(c.upper() for c in session.scalars(select(FxRate.currency).distinct()))
    found: list[QuarantinedValue] = []
    for name in LARGE:
        table = Base.metadata.tables[name]
        if "currency" not in table.c:
            continue
        rows = session.execute(
            select(table.c.id, table.c.currency)
            .where(table.c.currency.not_in(sorted(rated)))
            .order_by(table.c.id)
            .limit(MAX_LISTED)
        )
        found.extend(
            QuarantinedValue(
                name,
                row_id,
                "currency",
                str(code),
                f"no exchange rate for {code!r}: load its rates or correct the currency",
                NO_RATE,
            )
            for row_id, code in rows
        )
    return found


def quarantined(session: Session) -> list[QuarantinedValue]:
    """Every stored value metrics cannot use, by table and id."""
    return sorted(
        left_out(session) + unconvertible(session), key=lambda q: (q.table, q.id, q.field)
    )
