"""`salesops metrics ...`: list, show, query, funnel, waterfall, validate, docs."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from salesops.cli.context import console, err_console, state
from salesops.csvsafe import safe_cell
from salesops.errors import ValidationFailed
from salesops.metrics import docs, service
from salesops.metrics.definitions import validate_directory
from salesops.metrics.waterfall import pipeline_waterfall

metrics_app = typer.Typer(help="The governed metric catalog: list, show, query, waterfall.")

FORMATS = ("table", "json", "csv")
# Above this many rows the table format prints plain aligned columns instead of a Rich table.
TABLE_ROWS = 500


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def _emit(records: list[dict[str, Any]], columns: Sequence[str], fmt: str, title: str) -> None:
    if fmt not in FORMATS:
        raise ValidationFailed(f"unknown format {fmt!r} (use {', '.join(FORMATS)})")
    out = sys.stdout
    if fmt == "json":
        # The same text as json.dumps(records, indent=2), written a record at a time.
        if not records:
            out.write("[]\n")
            return
        out.write("[\n")
        last = len(records) - 1
        for i, record in enumerate(records):
            text = json.dumps({k: _plain(v) for k, v in record.items()}, indent=2)
            out.write("  " + text.replace("\n", "\n  ") + (",\n" if i < last else "\n"))
        out.write("]\n")
        return
    if fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=list(columns), lineterminator="\n")
        writer.writeheader()
        for record in records:
            # Dimension values are text from the data (a deal or rep name): never a formula.
            writer.writerow({k: safe_cell(_plain(v)) for k, v in record.items()})
        return
    if len(records) > TABLE_ROWS:
        _plain_table(records, columns, title)
        return
    table = Table(title=title)
    for column in columns:
        table.add_column(column, justify="left" if column in columns[:-1] else "right")
    for record in records:
        table.add_row(*(_cell(record.get(c)) for c in columns))
    console.print(table)


def _plain_table(records: list[dict[str, Any]], columns: Sequence[str], title: str) -> None:
    """Columns aligned with spaces, no box: drawing a Rich table of 40k rows takes half a minute.

    The note goes to stderr so that the rows can still be piped.
    """
    cells = [[_cell(record.get(c)) for c in columns] for record in records]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    last = len(columns) - 1

    def line(values: Sequence[str]) -> str:
        pairs = enumerate(zip(values, widths, strict=True))
        parts = [v.rjust(w) if i == last else v.ljust(w) for i, (v, w) in pairs]
        return "  ".join(parts).rstrip() + "\n"

    out = sys.stdout
    out.write(title + "\n" + line(columns) + line(["-" * w for w in widths]))
    for start in range(0, len(cells), 1000):
        out.write("".join(line(row) for row in cells[start : start + 1000]))
    err_console.print(
        f"{len(records):,} rows: printed as plain columns (a table is drawn up to"
        f" {TABLE_ROWS:,} rows); use --format csv or --format json to process them.",
        soft_wrap=True,  # one line whatever the terminal's width, so it can be grepped
    )


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.4f}".rstrip("0").rstrip(".")
    if isinstance(value, Decimal):
        return f"{value:,}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _pairs(items: Sequence[str], what: str) -> dict[str, list[str]]:
    result: dict[str, list[str]] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValidationFailed(f"{what} must look like NAME=VALUE (got {item!r})")
        result.setdefault(key.strip(), []).append(value.strip())
    return result


def _params(items: Sequence[str]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, values in _pairs(items, "--param").items():
        raw = values[-1]
        try:
            result[key] = json.loads(raw)
        except json.JSONDecodeError:
            result[key] = raw
    return result


def _date(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed(f"{option} must be a date like 2025-03-31 (got {text!r})") from None


def _moment(text: str | None) -> date | datetime | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
    except ValueError:
        raise ValidationFailed(f"--as-of must be a date or timestamp (got {text!r})") from None


@contextmanager
def _source(ctx: typer.Context, engine: str | None) -> Iterator[Session | str]:
    """The operational store for duckdb/postgres; the spec itself for other engines."""
    spec = engine or "duckdb"
    if spec in ("duckdb", "postgres"):
        with state(ctx).session() as session:
            yield session
    else:
        yield spec


@metrics_app.command("list")
def list_command(
    fmt: str = typer.Option("table", "--format", help="table, json or csv"),
) -> None:
    """List every metric in the catalog."""
    records = [
        {
            "name": m.name,
            "label": m.label,
            "unit": m.unit,
            "dimensions": ", ".join(m.dimensions),
            "description": m.description,
        }
        for m in service.list_metrics()
    ]
    _emit(records, ["name", "label", "unit", "dimensions", "description"], fmt, "metrics")


@metrics_app.command("show")
def show_command(
    name: str = typer.Argument(..., help="metric name"),
    dialect: str = typer.Option("duckdb", help="SQL dialect to show (duckdb, postgres...)"),
) -> None:
    """Show a metric's definition and the SQL it compiles to."""
    metric = service.get_definition(name)
    console.print(docs.metric_markdown(metric), highlight=False, markup=False)
    console.print(f"SQL ({dialect}):", highlight=False)
    console.print(service.compiled_sql(name, dialect=dialect), highlight=False, markup=False)


@metrics_app.command("query")
def query_command(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="metric name"),
    by: list[str] = typer.Option([], "--by", help="dimension to slice by (repeatable)"),
    grain: str | None = typer.Option(None, "--grain", help="week, month, quarter or year"),
    start: str | None = typer.Option(None, "--from", help="first day (inclusive)"),
    end: str | None = typer.Option(None, "--to", help="last day (inclusive)"),
    as_of: str | None = typer.Option(None, "--as-of", help="rebuild the pipeline as of then"),
    compare: str | None = typer.Option(None, "--compare", help="previous or year"),
    engine: str | None = typer.Option(
        None, "--engine", help="duckdb (default), postgres, parquet:DIR or an Ibis URL"
    ),
    filters: list[str] = typer.Option([], "--filter", help="DIM=VALUE (repeatable)"),
    params: list[str] = typer.Option([], "--param", help="NAME=VALUE metric parameter"),
    fmt: str = typer.Option("table", "--format", help="table, json or csv"),
    explain: bool = typer.Option(False, "--explain", help="print the SQL that was run"),
) -> None:
    """Compute a metric, sliced and filtered, optionally compared with an earlier period."""
    with _source(ctx, engine) as source:
        result = service.compute(
            source,
            name,
            by=by,
            grain=grain,
            start=_date(start, "--from"),
            end=_date(end, "--to"),
            filters=_pairs(filters, "--filter"),
            as_of=_moment(as_of),
            compare=compare,
            params=_params(params),
            engine=engine if engine in ("duckdb", "postgres") else None,
            explain=explain,
        )
    title = f"{result.metric.label} ({result.metric.unit}, {result.currency}, {result.engine})"
    _emit(result.to_records(), result.columns(), fmt, title)
    if result.compared_with and fmt == "table":
        # Only under the table: csv and json output stay the rows alone (the API's response
        # carries the same words as `compared_with`).
        console.print(f"compared with {result.compared_with}", highlight=False, soft_wrap=True)
    if explain:
        typer.echo(result.sql, err=True)


@metrics_app.command("funnel")
def funnel_command(
    ctx: typer.Context,
    start: str | None = typer.Option(None, "--from", help="first entry day (inclusive)"),
    end: str | None = typer.Option(None, "--to", help="last entry day (inclusive)"),
    filters: list[str] = typer.Option([], "--filter", help="DIM=VALUE (repeatable)"),
    engine: str | None = typer.Option(None, "--engine"),
    fmt: str = typer.Option("table", "--format", help="table, json or csv"),
) -> None:
    """The cohort funnel: deals entering each stage, and how many went further."""
    with _source(ctx, engine) as source:
        stages = service.funnel(
            source,
            start=_date(start, "--from"),
            end=_date(end, "--to"),
            filters=_pairs(filters, "--filter"),
            engine=engine if engine in ("duckdb", "postgres") else None,
        )
    records = [
        {
            "stage": s.stage,
            "entered": s.entered,
            "advanced": s.advanced,
            "conversion": s.conversion,
            "won": s.won,
            "win_rate": s.win_rate,
        }
        for s in stages
    ]
    columns = ["stage", "entered", "advanced", "conversion", "won", "win_rate"]
    _emit(records, columns, fmt, "funnel")


@metrics_app.command("waterfall")
def waterfall_command(
    ctx: typer.Context,
    start: str = typer.Option(..., "--from", help="starting date (end of that day)"),
    end: str = typer.Option(..., "--to", help="ending date (end of that day)"),
    close_from: str | None = typer.Option(
        None, "--close-from", help="scope: close dates from (default --from)"
    ),
    close_to: str | None = typer.Option(
        None, "--close-to", help="scope: close dates to (default --to)"
    ),
    all_open: bool = typer.Option(False, "--all-open", help="scope: every open deal"),
    by: list[str] = typer.Option([], "--by", help="dimension to slice by"),
    engine: str | None = typer.Option(None, "--engine"),
    fmt: str = typer.Option("table", "--format", help="table, json or csv"),
) -> None:
    """How the pipeline moved between two dates: start, new, up, down, in, out, won, lost, end."""
    first, last = _date(start, "--from"), _date(end, "--to")
    assert first is not None
    assert last is not None
    with _source(ctx, engine) as source:
        falls = pipeline_waterfall(
            source,
            first,
            last,
            close_from=_date(close_from, "--close-from"),
            close_to=_date(close_to, "--close-to"),
            all_open=all_open,
            by=by,
            engine=engine if engine in ("duckdb", "postgres") else None,
        )
    records = [r for fall in falls for r in fall.to_records()]
    _emit(records, [*by, "step", "amount", "deals"], fmt, "pipeline waterfall")
    for fall in falls:
        if not fall.reconciles:
            raise ValidationFailed(f"the waterfall does not reconcile for {dict(fall.dimensions)}")


@metrics_app.command("validate")
def validate_command(
    directory: Path = typer.Argument(..., help="directory of metric YAML files"),
) -> None:
    """Check a directory of metric definitions; every problem is listed at once."""
    catalog = validate_directory(directory)
    own = [m.name for m in catalog if m.source.startswith(str(directory))]
    console.print(f"{directory}: {len(own)} metric(s) valid ({', '.join(own) or 'none'})")


@metrics_app.command("docs")
def docs_command(
    output: Path = typer.Option(Path("docs/metrics.md"), "--output", "-o"),
) -> None:
    """Write the metric reference (docs/metrics.md) from the catalog."""
    output.write_text(docs.render(), encoding="utf-8")
    console.print(f"wrote {output}")
