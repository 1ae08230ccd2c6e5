"""Declarative base, naming conventions and the columns every importable table shares."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, MetaData, String, UniqueConstraint, text
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

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


class Versioned:
    """Optimistic concurrency: `version` starts at 1 and grows by one with every UPDATE.

    SQLAlchemy adds `AND version = <the version read>` to each UPDATE of the row and raises
    StaleDataError when no row matched, so of two writers that read the same version only the
    first one's change lands; the API turns the other into 409/412 (see crm/versioning.py).
    The server default lets bulk inserts (imports, the demo) leave the column out.
    """

    version: Mapped[int] = mapped_column(server_default=text("1"))

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:  # noqa: N805 (a class-level directive)
        return {"version_id_col": cls.__table__.c.version}  # type: ignore[attr-defined]


def import_key() -> UniqueConstraint:
    """The unique (source_system, external_id) constraint of an importable table."""
    return UniqueConstraint("source_system", "external_id")
