"""Loading the demo company into the operational store: schema, refusal, replace, one commit."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
from sqlalchemy import (
    Connection,
    Engine,
    ForeignKeyConstraint,
    UniqueConstraint,
    func,
    select,
    text,
)
from sqlalchemy.orm import Session
from sqlalchemy.schema import AddConstraint, DropConstraint

from salesops.audit import service as audit
from salesops.db.schema import upgrade
from salesops.demo import params as P  # noqa: N812
from salesops.demo.generator import TABLES, DemoResult, DemoSpec, Progress, generate
from salesops.demo.org import IdBase
from salesops.demo.sinks import DatabaseSink, max_ids
from salesops.errors import Conflict
from salesops.models import Base, DemoBuild, Opportunity, PipelineStage, User
from salesops.pipeline import stages
from salesops.playbooks.demo import seed_demo

KEPT_TABLES = {"pipeline_stages", "alembic_version"}
# Plain indexes (and on PostgreSQL foreign keys) of these tables are dropped during the load
# and rebuilt after it: one pass over all rows is much faster than row-by-row upkeep.
BULK_TABLES = (
    "accounts",
    "account_owners",
    "contacts",
    "opportunities",
    "opportunity_events",
    "contracts",
    "leads",
    "activities",
)
SQLITE_LOAD_CACHE_KIB = 256 * 1024
PG_BUILD_MEMORY = "256MB"


@contextmanager
def checks_deferred(connection: Connection) -> Iterator[None]:
    """Drop the plain indexes of the bulk tables (and on PostgreSQL their foreign keys and
    unique constraints) for the duration of the block, then rebuild them: one pass over
    sorted data instead of an index update and a trigger per row. Re-adding a foreign key or
    a unique constraint validates every row, so a generator bug still fails the load."""
    tables = [Base.metadata.tables[name] for name in BULK_TABLES]
    indexes = [
        index
        for t in tables
        for index in sorted(t.indexes, key=lambda i: str(i.name))
        if not index.unique
    ]
    keys: list[ForeignKeyConstraint] = []
    uniques: list[UniqueConstraint] = []
    if connection.dialect.name == "postgresql":
        keys = [
            fk
            for t in tables
            for fk in sorted(t.foreign_key_constraints, key=lambda k: str(k.name))
        ]
        # SQLite keeps unique constraints inside the table definition: only PostgreSQL can
        # drop them. Each costs a B-tree probe and insert per row (text keys, random order).
        uniques = [
            constraint
            for t in tables
            for constraint in sorted(t.constraints, key=lambda c: str(c.name))
            if isinstance(constraint, UniqueConstraint)
        ]
        # Index builds sort in memory rather than in many temporary-file runs.
        connection.exec_driver_sql(f"SET LOCAL maintenance_work_mem = '{PG_BUILD_MEMORY}'")
    for fk in keys:
        connection.execute(DropConstraint(fk))
    for constraint in uniques:
        connection.execute(DropConstraint(constraint))
    for index in indexes:
        index.drop(connection, checkfirst=True)
    yield
    for constraint in uniques:
        connection.execute(AddConstraint(constraint))
    for index in indexes:
        index.create(connection)
    for fk in keys:
        connection.execute(AddConstraint(fk))


def clear_data(connection: Connection) -> None:
    """Empty every salesops table except the pipeline stages (children first)."""
    names = [t.name for t in reversed(Base.metadata.sorted_tables) if t.name not in KEPT_TABLES]
    if connection.dialect.name == "postgresql":
        quoted = ", ".join(f'"{name}"' for name in names)
        connection.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))
        return
    for name in names:
        connection.execute(Base.metadata.tables[name].delete())


def existing_opportunities(engine: Engine) -> int:
    """How many opportunities the database holds (0 when it has no schema yet)."""
    upgrade(engine)
    with engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(Opportunity)) or 0


def load_into_database(
    engine: Engine, spec: DemoSpec, *, replace: bool = False, progress: Progress | None = None
) -> DemoResult:
    """Create or upgrade the schema, then write the demo company in one transaction.

    Refuses (Conflict) when the database already holds opportunities, unless `replace`.
    """
    spec.validate()
    upgrade(engine)
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # The generator computes every id it refers to; checking each reference row by row
            # would double SQLite's load time (tests run the foreign-key check on the result).
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        try:
            with connection.begin():
                result = _load(connection, spec, replace=replace, progress=progress)
        finally:
            if sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()
    return result


def _load(
    connection: Connection, spec: DemoSpec, *, replace: bool, progress: Progress | None
) -> DemoResult:
    """Everything `load_into_database` does inside its transaction."""
    session = Session(bind=connection)
    stages.ensure_stages(session)
    session.flush()
    existing = connection.scalar(select(func.count()).select_from(Opportunity)) or 0
    if existing and not replace:
        raise Conflict(
            f"the database already has {existing:,} opportunities; "
            "run `salesops demo --replace` to empty it and build the demo company"
        )
    if replace:
        clear_data(connection)
    rows = connection.execute(select(PipelineStage.name, PipelineStage.id)).tuples()
    by_name: dict[str, int] = dict(rows.all())
    stage_ids = np.asarray([by_name[name] for name in P.STAGE_NAMES], dtype=np.int64)
    taken = set(connection.scalars(select(User.username)))
    ids = IdBase(max_ids(connection, list(TABLES)))
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_LOAD_CACHE_KIB}")
    sink = DatabaseSink(connection)
    try:
        with checks_deferred(connection):
            result = generate(
                spec, sink, ids=ids, stage_ids=stage_ids, taken_usernames=taken, progress=progress
            )
            sink.drain()  # every row in before the indexes and keys are rebuilt
    except BaseException:
        sink.abort()  # the writer thread must be done with the connection before rollback
        raise
    sink.close()
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("PRAGMA cache_size=-2000")
    seed_demo(session, end=spec.end, seed=spec.seed, opportunities=spec.opportunities)
    _mark_demo(session, spec, result)
    session.close()
    return result


def _mark_demo(session: Session, spec: DemoSpec, result: DemoResult) -> None:
    """Record that this database is the demo company (the demo sign-ins check for it) and
    audit the build: it created every one of the demo's users."""
    build = DemoBuild(seed=spec.seed, end_date=spec.end, opportunities=spec.opportunities)
    session.add(build)
    session.flush()
    audit.record(
        session,
        user_id=None,
        action="create",
        entity="demo_company",
        entity_id=build.id,
        changes={
            **audit.diff(
                {},
                {
                    "seed": spec.seed,
                    "end_date": spec.end,
                    "opportunities": result.rows.get("opportunities", 0),
                    "users": result.rows.get("users", 0),
                },
            ),
            "via": "demo",
        },
    )
    session.flush()
