"""Declarative base, naming conventions and the columns every importable table shares."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, MetaData, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from salesops.db.types import UTCDateTime, utc_now

# Stable constraint names keep Alembic diffs and SQLite batch migrations deterministic.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base class of every salesops table."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {  # noqa: RUF012 (SQLAlchemy reads it as a class attribute)
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
        list[str]: JSON(),
    }


class Imported:
    """Where a row came from: re-importing the same (source_system, external_id) updates it."""

    source_system: Mapped[str | None] = mapped_column(String(40))
    external_id: Mapped[str | None] = mapped_column(String(120))


class Timestamped:
    """When a row was created in salesops (not in the source system)."""

    created_at: Mapped[datetime] = mapped_column(default=utc_now)


def import_key() -> UniqueConstraint:
    """The unique (source_system, external_id) constraint of an importable table."""
    return UniqueConstraint("source_system", "external_id")
