"""`salesops territories ...`: load definitions, check rules, show coverage, plan, approve."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from salesops.auth.scoping import system_scope
from salesops.cli.context import console, state
from salesops.csvsafe import csv_text
from salesops.errors import ValidationFailed
from salesops.territories import planning, service
from salesops.territories.rules import load_definitions
from salesops.territories.scenario import load_scenario

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
        sys.exit(1)  # a failed check fails a CI step


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


@territories_app.command("plan")
def plan(
    ctx: typer.Context,
    scenario_file: Path = typer.Option(..., "--scenario", help="scenario YAML"),
    accounts: Path | None = typer.Option(None, "--accounts", help="plan from this CSV instead"),
    reps: Path | None = typer.Option(None, "--reps", help="reps CSV (with --accounts)"),
    as_of: str | None = typer.Option(None, "--as-of", help="profiles as of (default today)"),
    fmt: str = typer.Option("table", "--format", help="table, json or csv"),
    output: Path | None = typer.Option(None, "--output", "-o", help="write the plan here"),
    propose: bool = typer.Option(False, "--propose", help="save it as a draft proposal"),
    effective: str | None = typer.Option(None, "--effective", help="with --propose: from when"),
) -> None:
    """Optimize account assignment for a scenario; compare with now and with greedy."""
    if fmt not in {"table", "json", "csv"}:
        raise ValidationFailed(f"--format must be table, json or csv (got {fmt!r})")
    scenario = load_scenario(scenario_file)
    day = parse_day(as_of, "--as-of")
    if (accounts is None) != (reps is None):
        raise ValidationFailed("--accounts and --reps go together")
    proposal_id = None
    if accounts is not None and reps is not None:
        if propose:
            raise ValidationFailed("--propose needs a plan from the database, not from files")
        acc_in, rep_in = planning.read_files(accounts, reps)
        result = planning.run(acc_in, rep_in, scenario, as_of=day)
    else:
        with state(ctx).session() as session:
            result = planning.plan_from_database(session, scenario, as_of=day)
            if propose:
                proposal_id = planning.propose(
                    session,
                    result,
                    scope=system_scope(),
                    effective_from=parse_day(effective, "--effective"),
                ).id
    if fmt == "csv":
        text = csv_text(
            [
                "account_id",
                "rep_id",
                "moved_from",
                "cost",
                "alternative",
                "alternative_cost",
                "why",
            ],
            (
                [
                    e.account,
                    e.rep,
                    e.moved_from or "",
                    e.cost,
                    e.alternative or "",
                    "" if e.alternative_cost is None else e.alternative_cost,
                    e.why,
                ]
                for e in result.explanations
            ),
        )
    else:
        text = json.dumps(result.to_dict(), indent=2, default=str) + "\n"
    if output is not None:
        output.write_text(text, encoding="utf-8")
    if fmt != "table" and output is None:
        print(text, end="")
        return
    p = result.plan
    console.print(
        f"plan {escape(scenario.name)}: objective {p.objective:.4f}, bound {p.bound:.4f},"
        f" gap {p.gap:.4%} ({p.status}, {p.seconds:.2f} s, {p.variables} variables"
        + (", candidate reps restricted" if p.restricted else "")
        + ")"
    )
    table = Table(title="balance and moves")
    for column in (
        "plan",
        "objective",
        "workload max/min",
        "workload gini",
        "accounts min/max",
        "moves",
        "value moved",
    ):
        table.add_column(column, justify="right")
    for label, summary in (
        ("current", result.current),
        ("optimized", result.planned),
        ("greedy", result.greedy),
    ):
        table.add_row(
            label,
            f"{summary.objective:.3f}",
            f"{summary.spread['workload']:.3f}",
            f"{summary.gini['workload']:.3f}",
            f"{summary.min_max['accounts']:.3f}",
            str(summary.moves),
            f"{summary.value_moved:,.0f}",
        )
    console.print(table)
    for e in result.moves()[:20]:
        name = result.account_names.get(e.account, e.account)
        console.print(
            f"{escape(name)} -> {escape(result.rep_names.get(e.rep, e.rep))}: {escape(e.why)}"
        )
    if proposal_id is not None:
        console.print(f"saved as draft proposal {proposal_id}")
    if output is not None:
        console.print(f"plan written to {escape(str(output))}")
