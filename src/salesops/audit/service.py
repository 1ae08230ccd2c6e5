"""Writing and reading the audit log; every change made through the API or UI lands here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from salesops.auth.scoping import Scope
from salesops.db.types import utc_now
from salesops.models import AuditEntry


def jsonable(value: object) -> Any:
    """A JSON-safe form of a column value (Decimals and dates as text)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return jsonable(value.value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return str(value)


def diff(old: Mapping[str, object], new: Mapping[str, object]) -> dict[str, Any]:
    """`{field: {"old": ..., "new": ...}}` for the fields whose value changed."""
    changes: dict[str, Any] = {}
    for key in sorted(set(old) | set(new)):
        before, after = jsonable(old.get(key)), jsonable(new.get(key))
        if before != after:
            changes[key] = {"old": before, "new": after}
    return changes


def record(
    session: Session,
    *,
    user_id: int | None,
    action: str,
    entity: str,
    entity_id: object,
    changes: Mapping[str, Any],
    at: datetime | None = None,
) -> AuditEntry:
    """Append one entry to the audit log."""
    entry = AuditEntry(
        at=at or utc_now(),
        user_id=user_id,
        action=action,
        entity=entity,
        entity_id=None if entity_id is None else str(entity_id),
        changes=dict(changes),
    )
    session.add(entry)
    return entry


@dataclass(frozen=True)
class AuditPage:
    items: list[AuditEntry]
    total: int


def list_entries(
    session: Session,
    *,
    scope: Scope,
    entity: str | None = None,
    entity_id: str | None = None,
    user_id: int | None = None,
    since: datetime | None = None,
    limit: int = 50,
    offset: int = 0,
) -> AuditPage:
    """Audit entries, newest first; only admins may read them."""
    scope.require_admin("read the audit log")
    query = select(AuditEntry)
    if entity:
        query = query.where(AuditEntry.entity == entity)
    if entity_id:
        query = query.where(AuditEntry.entity_id == entity_id)
    if user_id is not None:
        query = query.where(AuditEntry.user_id == user_id)
    if since is not None:
        query = query.where(AuditEntry.at >= since)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    items = session.scalars(
        query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit).offset(offset)
    )
    return AuditPage(list(items), total)
