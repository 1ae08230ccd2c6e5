"""Optimistic concurrency: a write names the version it was based on, a stale one is refused.

Every updatable table carries `version` (`models.base.Versioned`): SQLAlchemy increments it on
each UPDATE and adds `AND version = <read>` to the statement. A client sends the version it
read back (`If-Match: "7"` from the `ETag`, or `"version": 7` in the body, or a hidden form
field); the service compares it with the row before changing anything, and a concurrent
writer that slipped in between the read and the UPDATE is caught by the UPDATE itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from salesops.errors import PreconditionFailed, Problem, StaleRecord, ValidationFailed


@dataclass(frozen=True)
class Expected:
    """The versions a write may be based on; `header` when they came from `If-Match`."""

    versions: frozenset[int]
    header: bool = False


def etag(obj: Any) -> str:
    """The strong entity tag of a versioned row: its version in quotes."""
    return f'"{obj.version}"'


def from_if_match(value: str | None) -> Expected | None:
    """The versions an `If-Match` header allows (None for no header or `*`).

    A tag that is not one of ours (`"abc"`) can never match: it is kept as an impossible
    version so the write is refused with 412, as RFC 9110 asks.
    """
    if value is None or not value.strip() or value.strip() == "*":
        return None
    versions: set[int] = set()
    for raw in value.split(","):
        tag = raw.strip().removeprefix("W/").strip('"')
        versions.add(int(tag) if tag.isdigit() and len(tag) < 12 else -1)
    return Expected(frozenset(versions), header=True)


def from_body(version: int | None) -> Expected | None:
    """The version named in a request body or a form (None when not given)."""
    if version is None:
        return None
    if version < 1:
        raise ValidationFailed("invalid version", [Problem("must be 1 or more", "version")])
    return Expected(frozenset({version}))


def check(obj: Any, entity: str, *expected: Expected | None) -> None:
    """Refuse a write based on a version other than the row's current one."""
    for want in expected:
        if want is None or obj.version in want.versions:
            continue
        seen = ", ".join(str(v) for v in sorted(want.versions) if v > 0) or "an unknown tag"
        message = (
            f"{entity} {obj.id} was changed by someone else since you read it"
            f" (you sent version {seen}, it is now at version {obj.version});"
            " read it again and reapply your change"
        )
        error = PreconditionFailed if want.header else StaleRecord
        raise error(message, current=obj.version)


def lost_race(entity: str, record_id: object) -> StaleRecord:
    """The error for an UPDATE that found the row at another version than it read."""
    return StaleRecord(
        f"{entity} {record_id} was changed by someone else at the same moment;"
        " read it again and reapply your change"
    )


def flush(session: Session, entity: str, record_id: object) -> None:
    """Flush, turning a lost race on the row's version into StaleRecord."""
    try:
        session.flush()
    except StaleDataError as exc:
        raise lost_race(entity, record_id) from exc
