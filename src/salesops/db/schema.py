"""Create or upgrade the schema with the Alembic migrations shipped inside the package."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(connection: Connection | None = None, url: str | None = None) -> Config:
    """An Alembic config pointing at salesops' migrations, for a connection or a URL."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str | None:
    """The newest migration shipped with this version of salesops."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at, or None for an empty database."""
    with engine.connect() as conn:
        stamped = MigrationContext.configure(conn).get_current_revision()
    return LEGACY_REVISIONS.get(stamped, stamped) if stamped else None


# Revisions once ran 0001 -> 0006 -> 0005; they were renumbered to apply in the order of their
# ids. A database stamped with an old id is restamped with the new one before upgrading. The
# old ids are never given to a new migration (new ones start at 0007), so this is unambiguous.
LEGACY_REVISIONS = {"0006": "0002", "0005": "0003"}


def _restamp_legacy(conn: Connection) -> None:
    stamped = MigrationContext.configure(conn).get_current_revision()
    if stamped in LEGACY_REVISIONS:
        conn.execute(
            text("UPDATE alembic_version SET version_num = :new WHERE version_num = :old"),
            {"new": LEGACY_REVISIONS[stamped], "old": stamped},
        )


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema of `engine`'s database up to `revision` (creating it if empty)."""
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            # SQLite's batch migrations rebuild tables (copy, drop, rename); with foreign keys
            # on, dropping a table other rows point at fails. The pragma only takes effect
            # outside a transaction, so it is set on the driver connection before BEGIN.
            conn.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
        try:
            with conn.begin():
                _restamp_legacy(conn)
                command.upgrade(alembic_config(conn), revision)
                if sqlite:
                    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").first()
                    if broken is not None:
                        raise RuntimeError(f"the upgrade left a broken reference: {broken}")
        finally:
            if sqlite:
                conn.connection.driver_connection.execute("PRAGMA foreign_keys=ON")  # type: ignore[union-attr]


def downgrade(engine: Engine, revision: str) -> None:
    """Take the schema of `engine`'s database down to `revision`."""
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), revision)
