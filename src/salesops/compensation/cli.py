"""`salesops comp ...`: validate and show plans, calculate and close periods, print statements."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from salesops.cli.context import console, state
from salesops.compensation import service
from salesops.compensation.plan import load_plan
from salesops.csvsafe import csv_text
from salesops.errors import NotFound

comp_app = typer.Typer(
    help="Incentive compensation: plans, runs, statements.", no_args_is_help=True
)
plans_app = typer.Typer(help="Comp plans (YAML files).", no_args_is_help=True)
comp_app.add_typer(plans_app, name="plans")

PLANS = typer.Option(None, "--plans", help="plan directory (default: SALESOPS_COMP_PLANS_DIR)")


@plans_app.command("validate")
def validate(
    paths: list[Path] = typer.Argument(None, help="plan files (default: the directory)"),
) -> None:
    """Check plan files; every problem is listed with its file, line and field."""
    plans = [load_plan(p) for p in paths] if paths else service.load_plans()
    for plan in plans:
        console.print(f"ok  {plan.key}  ({plan.source})")


@plans_app.command("list")
def list_plans(directory: Path | None = PLANS) -> None:
    """Every plan version with its effective dates and assignments."""
    table = Table("plan", "effective", "period", "rules", "assigned to")
    for plan in service.load_plans(directory):
        to = plan.effective_to.isoformat() if plan.effective_to else "open"
        who = ", ".join(a.rep or f"role {a.role}" for a in plan.assignments)
        rules = ", ".join(r.name for r in plan.rules)
        table.add_row(plan.key, f"{plan.effective_from}..{to}", plan.period, rules, who)
    console.print(table)


@plans_app.command("show")
def show(name: str, directory: Path | None = PLANS) -> None:
    """A plan's rules and tiers (the highest version, or NAME@vN)."""
    plans = service.load_plans(directory)
    found = [p for p in plans if name in {p.name, p.key}]
    if not found:
        raise NotFound(f"no plan {name!r}")
    plan = found[-1]
    console.print(f"{plan.key}  {plan.source}  sha256 {plan.checksum[:12]}")
    c = plan.crediting
    console.print(
        f"crediting: {c.event}, {c.amount}, splits {c.use_splits}, overlays {c.overlays}, "
        f"manager levels {c.manager_levels}"
    )
    for rule in plan.rules:
        console.print(
            f"- {rule.name} ({rule.kind}): {rule.semantics}, on {rule.basis}, {rule.scope}, "
            f"reset {rule.reset}"
        )
        for tier in rule.tiers:
            end = "" if tier.end is None else f"{tier.end}"
            console.print(f"    {tier.label}: [{tier.start}, {end}) at {tier.rate:%}")


@comp_app.command("calculate")
def calculate(
    ctx: typer.Context,
    period: str = typer.Option(..., "--period", help="2026-Q1, 2026-03 or 2026"),
    directory: Path | None = PLANS,
) -> None:
    """Calculate a period: every rep's payout lines, stored as the period's open run."""
    when = service.parse_period(period)
    with state(ctx).session() as session:
        run = service.calculate(session, when, directory=directory)
        reps = len({x.rep_id for x in run.lines})
        console.print(
            f"run {run.id} for {when.label}: {len(run.lines)} lines, {reps} reps, total "
            f"{run.total:,.2f} {run.currency}; inputs sha256 {run.input_checksum}"
        )


@comp_app.command("close")
def close(ctx: typer.Context, period: str = typer.Option(..., "--period")) -> None:
    """Propose closing a period: a director or admin approves and applies it
    (`salesops proposals approve ID`, `salesops proposals apply ID`), which locks its run."""
    from salesops.auth.scoping import system_scope
    from salesops.compensation import closing

    when = service.parse_period(period)
    with state(ctx).session() as session:
        proposal = closing.propose(session, when, scope=system_scope())
        console.print(f"proposal {proposal.id} submitted: {proposal.title}")


@comp_app.command("statement")
def statement(
    ctx: typer.Context,
    rep: str,
    period: str = typer.Option(..., "--period"),
    csv: Path | None = typer.Option(None, "--csv", help="also write the lines to this CSV file"),
    pdf: Path | None = typer.Option(None, "--pdf", help="also write the statement as a PDF"),
) -> None:
    """A rep's statement: each line with its rule, tier, rate and credited deals."""
    when = service.parse_period(period)
    with state(ctx).session() as session:
        person = service.find_rep(session, rep)
        run, lines = service.statement(session, person.id, when)
        rows = service.statement_rows(lines)
        if pdf is not None:
            from salesops.compensation import statements

            stored = statements.generate(session, person, when, formats=("pdf",))[0]
            pdf.write_bytes(stored.content)
            console.print(f"wrote {pdf} (document {stored.id}, sha256 {stored.sha256[:12]})")
    table = Table(
        *service.STATEMENT_COLUMNS,
        title=f"{person.name}, {when.label} (run {run.id}, {run.status})",
    )
    for row in rows:
        table.add_row(*row)
    console.print(table)
    total = sum((x.amount for x in lines), 0)
    console.print(f"total {total:,.2f} {run.currency}; inputs sha256 {run.input_checksum}")
    if csv is not None:
        csv.write_text(csv_text(service.STATEMENT_COLUMNS, rows), encoding="utf-8")
        console.print(f"wrote {csv}")
