"""The `salesops` command: a Typer root that mounts each domain's sub-commands lazily."""

from __future__ import annotations

import sys

import click
import typer
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from salesops.cli.context import CliState, err_console
from salesops.cli.lazy import LazyCommand, LazyGroup
from salesops.config import get_settings
from salesops.db.engine import SQLITE_BUSY_TIMEOUT_S, is_lock_timeout
from salesops.errors import Busy, SalesOpsError

# Each domain registers its commands here: name -> where it lives and its one-line help.
LazyGroup.lazy = {
    "init": LazyCommand(
        "salesops.cli.core:init", "Create or upgrade the schema and the default stages."
    ),
    "status": LazyCommand(
        "salesops.cli.core:status", "Schema version, rows per table and their date ranges."
    ),
    "summary": LazyCommand(
        "salesops.cli.core:summary", "Open pipeline by stage and bookings by quarter."
    ),
    "demo": LazyCommand("salesops.demo.cli:demo_command", "Build the deterministic demo company."),
    "import": LazyCommand(
        "salesops.ingest.cli:import_command", "Import CRM exports (Salesforce, HubSpot, CSV...)."
    ),
    "export": LazyCommand(
        "salesops.ingest.cli:export_command", "Export every table (Parquet or CSV + manifest)."
    ),
    "metrics": LazyCommand(
        "salesops.metrics.cli:metrics_app", "Governed KPI catalog: list, show, waterfall."
    ),
    "forecast": LazyCommand(
        "salesops.forecasting.cli:forecast_app", "Forecast runs, backtests, calls and risk."
    ),
    "deals": LazyCommand(
        "salesops.scoring.cli:deals_app", "Deal scoring: train, evaluate, apply, show."
    ),
    "playbook": LazyCommand(
        "salesops.playbooks.cli:playbook_app",
        "Playbooks and exit criteria, deal hygiene, coaching notes, feedback.",
    ),
    "comp": LazyCommand(
        "salesops.compensation.cli:comp_app", "Incentive compensation: plans, runs, statements."
    ),
    "contracts": LazyCommand(
        "salesops.contracts.cli:contracts_app", "Contracts: lifecycle, documents, renewals."
    ),
    "worker": LazyCommand(
        "salesops.jobs.cli:worker", "Run due jobs and deliver e-mail and webhooks."
    ),
    "jobs": LazyCommand("salesops.jobs.cli:jobs_app", "Scheduled jobs and their run log."),
    "outbox": LazyCommand("salesops.outbox.cli:outbox_app", "Outgoing e-mail and webhooks."),
    "territories": LazyCommand(
        "salesops.territories.cli:territories_app",
        "Territory rules, checks, coverage and optimized account plans.",
    ),
    "proposals": LazyCommand(
        "salesops.approvals.cli:proposals_app",
        "Proposals and approvals: territory plans, quotas, ...",
    ),
    "users": LazyCommand("salesops.auth.cli:users_app", "Create and manage users and roles."),
    "tokens": LazyCommand("salesops.auth.cli:tokens_app", "Create and revoke API tokens."),
    "serve": LazyCommand("salesops.web.cli:serve", "Serve the REST API and the dashboard."),
}

app = typer.Typer(
    name="salesops",
    cls=LazyGroup,
    help="salesops: Sales Operations on your own data (pipeline, metrics, forecasts, plans).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def root(
    ctx: typer.Context,
    database_url: str = typer.Option(
        None,
        "--database-url",
        envvar="SALESOPS_DATABASE_URL",
        help="Database to use (default: sqlite:///salesops.db in the working directory).",
        show_default=False,
    ),
) -> None:
    """Sales Operations on your own data."""
    ctx.obj = CliState(database_url=database_url or get_settings().database_url)


def main() -> None:
    """Entry point: run the CLI, turning expected errors into one line and an exit code."""
    try:
        app(standalone_mode=False)
    except SalesOpsError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except OperationalError as exc:
        if is_lock_timeout(exc):
            err_console.print(
                f"[bold red]error:[/] the database is busy: another import or write held it for"
                f" more than {SQLITE_BUSY_TIMEOUT_S:.0f} s; try again when it has finished",
                highlight=False,
            )
            sys.exit(Busy.exit_code)
        err_console.print(f"[bold red]database error:[/] {exc.orig}", highlight=False)
        sys.exit(7)
    except SQLAlchemyError as exc:
        err_console.print(f"[bold red]database error:[/] {exc}", highlight=False)
        sys.exit(7)
    except KeyboardInterrupt:
        err_console.print("interrupted; nothing was committed by the interrupted command")
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except (typer.Abort, click.Abort):
        err_console.print("aborted")
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
