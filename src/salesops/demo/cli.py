"""`salesops demo`: build the deterministic demo company into the database or Parquet files."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from salesops.cli.context import console, state
from salesops.db.types import utc_now
from salesops.demo import params as P  # noqa: N812
from salesops.demo.generator import DemoResult, DemoSpec, generate
from salesops.demo.loader import existing_opportunities, load_into_database
from salesops.demo.sinks import ParquetSink
from salesops.errors import Conflict, Problem, ValidationFailed


def _parse_end(text: str | None) -> date:
    if text is None:
        return utc_now().date()
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise ValidationFailed(
            "invalid demo options",
            [Problem(f"{text!r} is not a date (YYYY-MM-DD)", "--end-date")],
        ) from exc


def demo_command(
    ctx: typer.Context,
    opportunities: int = typer.Option(
        20_000, "--opportunities", "-n", help="How many opportunities (100 to 20,000,000)."
    ),
    seed: int = typer.Option(P.DEFAULT_SEED, "--seed", help="Same seed, same company."),
    end: str | None = typer.Option(
        None,
        "--end-date",
        "--end",
        help="Last day of the history (YYYY-MM-DD); default: today (UTC). Same seed and end "
        "date, same company.",
        show_default=False,
    ),
    if_empty: bool = typer.Option(
        False,
        "--if-empty",
        help="Build only into a database without opportunities; otherwise say so and change "
        "nothing (what `make run` uses).",
    ),
    replace: bool = typer.Option(
        False, "--replace", help="Empty the database's data tables first (keeps the stages)."
    ),
    parquet: Path | None = typer.Option(
        None,
        "--parquet",
        help="Write one Parquet file per table into DIR instead of the database.",
        metavar="DIR",
        file_okay=False,
    ),
) -> None:
    """Build a realistic demo company: about 3 years of history ending today (or on
    --end-date), deterministic for a seed and end date."""
    spec = DemoSpec(opportunities=opportunities, seed=seed, end=_parse_end(end)).validate()
    started = time.perf_counter()
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("opportunities", total=spec.opportunities)

        def progress(phase: str, amount: int) -> None:
            if phase == "opportunities":
                bar.advance(task, amount)
            else:
                bar.update(task, description=f"opportunities (after {phase})")

        if parquet is not None:
            if parquet.exists() and any(parquet.glob("*.parquet")) and not replace:
                raise Conflict(f"{parquet} already holds Parquet files; add --replace to overwrite")
            for old in parquet.glob("*.parquet") if parquet.exists() else ():
                old.unlink()
            sink = ParquetSink(parquet)
            try:
                result = generate(spec, sink, progress=progress)
            finally:
                sink.close()
            target = str(parquet)
        else:
            cli = state(ctx)
            if if_empty and not replace:
                held = existing_opportunities(cli.engine)
                if held:
                    console.print(
                        f"the database already holds {held:,} opportunities; no demo built "
                        "(`salesops demo --replace` empties it and builds the demo)"
                    )
                    return
            result = load_into_database(cli.engine, spec, replace=replace, progress=progress)
            target = cli.database_url
    _report(result, spec, target, time.perf_counter() - started)


def _report(result: DemoResult, spec: DemoSpec, target: str, seconds: float) -> None:
    table = Table(title=f"demo company (seed {spec.seed}, {spec.start} to {spec.end})")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, rows in result.rows.items():
        table.add_row(name, f"{rows:,}")
    console.print(table)
    rate = spec.opportunities / seconds if seconds else 0.0
    console.print(
        f"built into {target} in {seconds:.1f} s ({rate:,.0f} opportunities/s, "
        f"{result.events / seconds if seconds else 0:,.0f} events/s)"
    )
