"""Row counts and date coverage of every table, for `salesops status` and the API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Date, DateTime, MetaData, func, select
from sqlalchemy.orm import Session

from salesops.db.types import UTCDateTime

# The column that best says "when" for each table that has a natural business date.
DATE_COLUMNS = {
    "opportunities": "created_at",
    "opportunity_events": "at",
    "activities": "occurred_at",
    "leads": "created_at",
    "quotas": "period_start",
    "contracts": "start_date",
    "reps": "hire_date",
    "fx_rates": "rate_date",
    "audit_log": "at",
}


@dataclass(frozen=True)
class TableSummary:
    table: str
    rows: int
    first: date | datetime | None
    last: date | datetime | None


def table_summaries(session: Session, metadata: MetaData) -> list[TableSummary]:
    """One summary per table, in alphabetical order."""
    result = []
    for name in sorted(metadata.tables):
        table = metadata.tables[name]
        rows = session.scalar(select(func.count()).select_from(table)) or 0
        first = last = None
        column_name = DATE_COLUMNS.get(name)
        if column_name and rows:
            column = table.c[column_name]
            if isinstance(column.type, UTCDateTime | DateTime | Date):
                first, last = session.execute(select(func.min(column), func.max(column))).one()
                if isinstance(column.type, UTCDateTime) and isinstance(first, str):
                    first, last = datetime.fromisoformat(first), datetime.fromisoformat(str(last))
        result.append(TableSummary(name, rows, first, last))
    return result
