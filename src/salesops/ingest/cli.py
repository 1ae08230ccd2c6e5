"""`salesops import` and `salesops export`: thin commands over the ingest service."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import typer
from rich import box
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from salesops.audit import service as audit
from salesops.auth.cli import admin_sign_in
from salesops.cli.context import console, err_console, state
from salesops.db import as_utc, session_scope, utc_now
from salesops.errors import PermissionDenied, ValidationFailed
from salesops.ingest.export import FORMATS, export_database
from salesops.ingest.service import run_import
from salesops.ingest.sources import builtin_names, builtin_text
from salesops.ingest.summary import ImportSummary


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
    )


def _parse_as_of(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        return as_utc(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError as exc:
        raise ValidationFailed(f"--as-of: expected an ISO timestamp, got {text!r}") from exc


def print_summary(summary: ImportSummary) -> None:
    """The per-table summary of an import as a Rich table."""
    table = Table(
        title=f"import from {summary.source_system} (as of {summary.as_of:%Y-%m-%d %H:%M} UTC)",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
    )
    for column in ("table", "read", "inserted", "updated", "unchanged", "rejected", "skipped"):
        table.add_column(column, justify="left" if column == "table" else "right", no_wrap=True)
    for name, counts in summary.tables.items():
        figures = (counts.read, counts.inserted, counts.updated, counts.unchanged)
        if not any(figures) and not counts.rejected and not counts.skipped:
            continue  # e.g. no event had to be written
        table.add_row(
            name,
            *(
                f"{value:,}"
                for value in (
                    counts.read,
                    counts.inserted,
                    counts.updated,
                    counts.unchanged,
                    counts.rejected,
                    counts.skipped,
                )
            ),
        )
    console.print(table)
    for path in summary.ignored:
        console.print(f"ignored {path.name}: no part of the mapping reads it")
    for read in summary.files:
        if read.rows == 0:
            console.print(f"{read.path.name}: no data rows below the header; nothing to import")
    if summary.rejects_path is not None:
        # A self-reference left empty (a parent later in no file) is a note on an imported
        # row, not a rejected one: say which, rather than "0 rejected rows".
        what = (
            f"[yellow]{summary.rejected:,} rejected row(s)[/]"
            if summary.rejected
            else "[yellow]notes on imported rows[/]"
        )
        console.print(f"{what} written with line and reason to {summary.rejects_path}")
        if summary.rejects_written < summary.rejected:
            console.print(
                f"  only the first {summary.rejects_written:,} are in the file; the rest are"
                " counted below (fix the mapping and import again)"
            )
        for kind, count in summary.reject_reasons[:8]:
            console.print(f"  {count:>8,}  {kind}", highlight=False, markup=False)
    for note in summary.notes:
        console.print(note, highlight=False, markup=False)
    for warning in summary.warnings:
        console.print("[yellow]warning:[/] ", end="")
        console.print(warning.message, highlight=False, markup=False)
    if summary.dry_run:
        console.print("dry run: nothing was written to the database")


def import_command(
    ctx: typer.Context,
    source: str = typer.Argument(
        ..., help="salesforce, hubspot, maven, csv (with --mapping) or salesops (an export)."
    ),
    paths: list[Path] = typer.Argument(None, help="Files, or directories of files, to import."),
    mapping: Path | None = typer.Option(
        None, "--mapping", "-m", help="YAML mapping (required for csv; overrides a built-in one)."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Validate and count, write nothing."),
    rejects: Path | None = typer.Option(
        None, "--rejects", help="Where to write rejected rows (CSV; default: ./salesops-rejects-*)."
    ),
    show_mapping: bool = typer.Option(
        False, "--show-mapping", help="Print the built-in mapping of SOURCE (to start your own)."
    ),
    as_of: str | None = typer.Option(
        None,
        "--as-of",
        help="When the export was taken (ISO); changes are recorded as events at this time."
        " Default: the mapping's as_of, else the newest file's modification time.",
    ),
) -> None:
    """Import CRM exports in one transaction: all rows or, on any error, none."""
    if show_mapping:
        if source not in builtin_names():
            raise ValidationFailed(
                f"no built-in mapping for {source!r} ({', '.join(builtin_names())})"
            )
        typer.echo(builtin_text(source), nl=False)
        return
    if not paths:
        raise ValidationFailed("give at least one file or directory to import")
    cli = state(ctx)
    engine = cli.require_schema()
    moment = _parse_as_of(as_of)
    with _progress() as bar:
        tasks: dict[str, TaskID] = {}

        def report(label: str, done: int, total: int) -> None:
            if label not in tasks:
                tasks[label] = bar.add_task(label, total=total or None)
            bar.update(tasks[label], completed=done, total=total or None)

        if rejects is None:
            stamp = utc_now().strftime("%Y%m%dT%H%M%S")
            rejects = Path.cwd() / f"salesops-rejects-{source}-{stamp}.csv"
        # run_import takes the write lock once the files are checked, not before.
        with session_scope(engine) as session:
            summary = run_import(
                session,
                source,
                paths,
                mapping=mapping,
                as_of=moment,
                rejects=rejects,
                dry_run=dry_run,
                progress=report,
            )
    print_summary(summary)


def export_command(
    ctx: typer.Context,
    directory: Path = typer.Argument(..., help="Directory to write the export into."),
    format: str = typer.Option("parquet", "--format", "-f", help="parquet or csv."),
    include_secrets: bool = typer.Option(
        False,
        "--include-secrets",
        help="Full backup: also password hashes, API tokens, browser sessions and sign-in "
        "attempts. Admins only: needs --as-user.",
    ),
    as_user: str | None = typer.Option(
        None,
        "--as-user",
        help="Your admin username, for --include-secrets (the password is asked for, or read "
        "from SALESOPS_PASSWORD).",
    ),
) -> None:
    """Export every table (plus manifest.json with rows, schema and checksums).

    Credentials are left out unless an admin asks for a full backup with --include-secrets;
    manifest.json lists what was left out.
    """
    if format not in FORMATS:
        raise ValidationFailed(f"--format must be parquet or csv, not {format!r}")
    if include_secrets and not as_user:
        raise PermissionDenied(
            "--include-secrets is for admins: add --as-user YOUR_USERNAME (your password is "
            "asked for)"
        )
    if as_user and not include_secrets:
        raise ValidationFailed("--as-user only matters with --include-secrets")
    engine = state(ctx).require_schema()
    admin_id = None
    if include_secrets and as_user:
        admin_id = admin_sign_in(engine, as_user, purpose="a full backup with secrets")
    with session_scope(engine) as session:
        manifest = export_database(
            session, directory, format=format, include_secrets=include_secrets
        )
        if include_secrets:
            audit.record(
                session,
                user_id=admin_id,
                action="export",
                entity="database",
                entity_id=None,
                changes={
                    "include_secrets": {"old": None, "new": True},
                    "directory": {"old": None, "new": str(directory.resolve())},
                    "via": "cli",
                },
            )
    total = sum(t["rows"] for t in manifest["tables"])
    console.print(
        f"exported {len(manifest['tables'])} tables ({total:,} rows) as {format} to {directory}"
    )
    left = manifest["left_out"]
    if left["tables"] or left["columns"]:
        columns = [f"{t}.{c}" for t, cs in left["columns"].items() for c in cs]
        console.print(
            f"left out (credentials): {', '.join([*left['tables'], *columns])}; "
            "an admin's full backup: --include-secrets --as-user NAME"
        )
