"""Loading the demo company into the operational store: schema, refusal, replace, one commit."""

from __future__ import annotations

import numpy as np
from sqlalchemy import Connection, Engine, func, select, text
from sqlalchemy.orm import Session

from salesops.db.schema import upgrade
from salesops.demo import params as P  # noqa: N812
from salesops.demo.generator import TABLES, DemoResult, DemoSpec, Progress, generate
from salesops.demo.org import IdBase
from salesops.demo.sinks import DatabaseSink, max_ids
from salesops.errors import Conflict
from salesops.models import Base, Opportunity, PipelineStage, User
from salesops.pipeline import stages

KEPT_TABLES = {"pipeline_stages", "alembic_version"}


def clear_data(connection: Connection) -> None:
    """Empty every salesops table except the pipeline stages (children first)."""
    names = [t.name for t in reversed(Base.metadata.sorted_tables) if t.name not in KEPT_TABLES]
    if connection.dialect.name == "postgresql":
        quoted = ", ".join(f'"{name}"' for name in names)
        connection.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))
        return
    for name in names:
        connection.execute(Base.metadata.tables[name].delete())


def load_into_database(
    engine: Engine, spec: DemoSpec, *, replace: bool = False, progress: Progress | None = None
) -> DemoResult:
    """Create or upgrade the schema, then write the demo company in one transaction.

    Refuses (Conflict) when the database already holds opportunities, unless `replace`.
    """
    spec.validate()
    upgrade(engine)
    with engine.begin() as connection:
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
        sink = DatabaseSink(connection)
        result = generate(
            spec, sink, ids=ids, stage_ids=stage_ids, taken_usernames=taken, progress=progress
        )
        sink.close()
        session.close()
    return result
