"""`salesops territories ...`: load definitions, check rules, show coverage, plan, approve."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from salesops.auth.scoping import system_scope
from salesops.cli.context import console, state
from salesops.errors import ValidationFailed
from salesops.territories import service
from salesops.territories.rules import load_definitions

territories_app = typer.Typer(
    help="Territories: rules, checks, coverage, optimized plans and their approval.",
    no_args_is_help=True,
)


def parse_day(text: str | None, what: str) -> date:
    if text is None:
        return date.today()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed(f"{what} must be a date like 2026-03-31 (got {text!r})") from None


def _json(payload: Any) -> None:
    print(json.dumps(payload, indent=2, default=str))


@territories_app.command("load")
def load(
    ctx: typer.Context, path: Path = typer.Argument(..., help="territory definition YAML")
) -> None:
    """Create or update territories from a definition file (validated in full first)."""
    with state(ctx).session() as session:
        saved = service.save_definitions(session, path, scope=system_scope())
        names = [t.name for t in saved]
    console.print(f"{len(names)} territories saved: {escape(', '.join(names))}")


@territories_app.command("check")
def check(
    ctx: typer.Context,
    file: Path | None = typer.Option(None, "--file", help="check this definition file instead"),
    fmt: str = typer.Option("table", "--format", help="table or json"),
) -> None:
    """Accounts matched by no rule and accounts matched by conflicting rules."""
    h = load_definitions(file) if file else None
    with state(ctx).session() as session:
        report = service.check(session, h=h)
    payload = {
        "accounts": report.accounts,
        "placed": report.placed,
        "unmatched": [{"id": a.id, "name": a.name} for a in report.unmatched],
        "conflicts": [
            {"id": a.id, "name": a.name, "territories": list(ts)} for a, ts in report.conflicts
        ],
    }
    if fmt == "json":
        _json(payload)
    else:
        placed = report.accounts - len(report.unmatched) - len(report.conflicts)
        console.print(
            f"{report.accounts} accounts: {placed} placed,"
            f" {len(report.unmatched)} matched by no rule,"
            f" {len(report.conflicts)} matched by conflicting rules"
        )
        for name, count in report.placed.items():
            console.print(f"  {escape(name)}: {count}")
        for a in report.unmatched[:50]:
            console.print(f"no rule: {a.id} {escape(a.name)}")
        for a, ts in report.conflicts[:50]:
            console.print(f"conflict: {a.id} {escape(a.name)}: {escape(' / '.join(ts))}")
    if report.unmatched or report.conflicts:
        raise typer.Exit(1)


@territories_app.command("show")
def show(
    ctx: typer.Context,
    name: str = typer.Argument(...),
    as_of: str | None = typer.Option(None, "--as-of", help="date (default today)"),
    fmt: str = typer.Option("table", "--format", help="table or json"),
) -> None:
    """A territory as of a date: rules, reps covering it then, its accounts and their owners."""
    day = parse_day(as_of, "--as-of")
    with state(ctx).session() as session:
        view = service.show(session, name, as_of=day, scope=system_scope())
    if fmt == "json":
        _json(view.__dict__)
        return
    kind = "overlay" if view.overlay else "territory"
    console.print(
        f"{kind} {escape(view.name)} as of {view.as_of}"
        + (f" (in {escape(view.parent)})" if view.parent else "")
    )
    console.print(f"rules: {escape(json.dumps(view.rules))}")
    if view.covers:
        console.print(f"covers: {escape(', '.join(view.covers))}")
    for rep_id, rep_name, start, end in view.reps:
        console.print(
            f"rep {rep_id} {escape(rep_name)} from {start}" + (f" to {end}" if end else "")
        )
    table = Table(title=f"{len(view.accounts)} accounts")
    for column in ("id", "account", "owner"):
        table.add_column(column)
    for aid, aname, owner in view.accounts:
        table.add_row(str(aid), escape(aname), escape(owner or "-"))
    console.print(table)
