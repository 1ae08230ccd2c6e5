"""Commands about the database itself: `init` and `status`."""

from __future__ import annotations

import typer
from rich.table import Table
from sqlalchemy import func, select

from salesops.cli.context import console, state
from salesops.db import session_scope
from salesops.db.schema import current_revision, head_revision, upgrade
from salesops.models import Base, Opportunity, PipelineStage
from salesops.pipeline import reports, stages
from salesops.status import table_summaries


def init(ctx: typer.Context) -> None:
    """Create the schema (or upgrade it to this version) and the default pipeline stages."""
    cli = state(ctx)
    before = current_revision(cli.engine)
    upgrade(cli.engine)
    with session_scope(cli.engine) as session:
        created = session.scalar(select(func.count()).select_from(PipelineStage)) == 0
        stages.ensure_stages(session)
    after = current_revision(cli.engine)
    if before == after:
        console.print(f"schema already at {after} in {cli.database_url}")
    else:
        console.print(f"schema upgraded from {before or 'empty'} to {after} in {cli.database_url}")
    if created:
        console.print("default pipeline stages created")


def status(ctx: typer.Context) -> None:
    """Show the schema version, rows per table and the date range each table covers."""
    cli = state(ctx)
    engine = cli.require_schema()
    console.print(f"database  {cli.database_url}")
    console.print(f"schema    {current_revision(engine)} (this salesops: {head_revision()})")
    table = Table(title="rows per table", show_lines=False)
    table.add_column("table")
    table.add_column("rows", justify="right")
    table.add_column("from")
    table.add_column("to")
    with session_scope(engine) as session:
        for summary in table_summaries(session, Base.metadata):
            table.add_row(
                summary.table,
                f"{summary.rows:,}",
                summary.first.isoformat()[:10] if summary.first else "",
                summary.last.isoformat()[:10] if summary.last else "",
            )
        open_count = session.scalar(
            select(func.count())
            .select_from(Opportunity)
            .join(PipelineStage)
            .where(PipelineStage.category == "open")
        )
    console.print(table)
    console.print(f"open opportunities: {open_count:,}")


def summary(ctx: typer.Context) -> None:
    """Print the open pipeline by stage and bookings by quarter."""
    cli = state(ctx)
    with cli.session() as session:
        by_stage = reports.open_pipeline_by_stage(session)
        by_quarter = reports.bookings_by_quarter(session)
    pipeline = Table(title="open pipeline by stage")
    for column, justify in (
        ("stage", "left"),
        ("cur", "left"),
        ("deals", "right"),
        ("amount", "right"),
    ):
        pipeline.add_column(column, justify=justify)  # type: ignore[arg-type]
    for line in by_stage:
        pipeline.add_row(line.stage, line.currency, f"{line.deals:,}", f"{line.amount:,.0f}")
    console.print(pipeline)
    bookings = Table(title="bookings (won) by quarter of close")
    for column, justify in (
        ("quarter", "left"),
        ("cur", "left"),
        ("deals", "right"),
        ("amount", "right"),
    ):
        bookings.add_column(column, justify=justify)  # type: ignore[arg-type]
    for quarter in by_quarter:
        bookings.add_row(
            quarter.quarter, quarter.currency, f"{quarter.deals:,}", f"{quarter.amount:,.0f}"
        )
    console.print(bookings)
