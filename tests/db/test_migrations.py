"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text

from salesops.db import make_engine
from salesops.db.schema import (
    LEGACY_REVISIONS,
    alembic_config,
    current_revision,
    downgrade,
    head_revision,
    upgrade,
)
from salesops.models import Base
from tests.conftest import scratch_url


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(scratch_url(request.param, tmp_path, "migrations"))
    yield engine
    engine.dispose()


def test_there_is_exactly_one_migration_head() -> None:
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    assert len(heads) == 1, f"migration history has several heads: {heads}; make it linear"


def test_migrations_build_the_schema_the_models_describe(empty_engine: Engine) -> None:
    upgrade(empty_engine)
    assert current_revision(empty_engine) == head_revision()
    with empty_engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == [], f"models and migrations disagree: {differences}"


def test_every_migration_downgrades_to_an_empty_database_and_back(empty_engine: Engine) -> None:
    upgrade(empty_engine)
    downgrade(empty_engine, "base")
    assert current_revision(empty_engine) is None
    assert set(inspect(empty_engine).get_table_names()) <= {"alembic_version"}
    upgrade(empty_engine)
    assert set(Base.metadata.tables) <= set(inspect(empty_engine).get_table_names())


def test_every_importable_table_has_a_unique_source_key() -> None:
    for table in Base.metadata.tables.values():
        if "external_id" not in table.c:
            continue
        keys = [
            sorted(c.name for c in constraint.columns)
            for constraint in table.constraints
            if constraint.__class__.__name__ == "UniqueConstraint"
        ]
        assert ["external_id", "source_system"] in keys, table.name


def test_revision_ids_ascend_in_the_order_the_migrations_apply() -> None:
    script = ScriptDirectory.from_config(alembic_config())
    applied = [rev.revision for rev in reversed(list(script.walk_revisions()))]
    assert applied == sorted(applied), f"migrations apply as {applied}"
    assert not set(applied) & set(LEGACY_REVISIONS), "old revision ids must never be reused"


def test_a_database_stamped_with_an_old_revision_id_upgrades_cleanly(empty_engine: Engine) -> None:
    upgrade(empty_engine, "0003")
    with empty_engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0005'"))
    assert current_revision(empty_engine) == "0003"
    upgrade(empty_engine)
    with empty_engine.connect() as conn:
        stamped = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    assert stamped == head_revision()


def test_a_database_with_accounts_and_contacts_upgrades_from_0003(empty_engine: Engine) -> None:
    upgrade(empty_engine, "0003")
    with empty_engine.begin() as conn:
        conn.execute(
            text("INSERT INTO accounts (name, created_at) VALUES ('Acme', '2025-01-01 00:00:00')")
        )
        conn.execute(
            text(
                "INSERT INTO contacts (account_id, first_name, created_at)"
                " SELECT id, 'Ann', '2025-01-01 00:00:00' FROM accounts"
            )
        )
    upgrade(empty_engine)
    assert current_revision(empty_engine) == head_revision()
    with empty_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM contacts")).scalar_one() == 1
