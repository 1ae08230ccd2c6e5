"""The `salesops` command: a Typer root that mounts each domain's sub-commands."""

from __future__ import annotations

import sys

import typer
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from salesops.auth.cli import tokens_app, users_app
from salesops.cli import core
from salesops.cli.context import CliState, err_console
from salesops.config import get_settings
from salesops.demo.cli import demo_command
from salesops.errors import SalesOpsError
from salesops.ingest.cli import export_command, import_command
from salesops.metrics.cli import metrics_app
from salesops.web.cli import serve

app = typer.Typer(
    name="salesops",
    help="salesops: Sales Operations on your own data (pipeline, metrics, forecasts, plans).",
    no_args_is_help=True,
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


app.command("init")(core.init)
app.command("status")(core.status)
app.command("summary")(core.summary)
app.command("demo")(demo_command)
app.add_typer(metrics_app, name="metrics")
app.command("import")(import_command)
app.command("export")(export_command)
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")
app.command("serve")(serve)


def main() -> None:
    """Entry point: run the CLI, turning expected errors into one line and an exit code."""
    try:
        app(standalone_mode=False)
    except SalesOpsError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except OperationalError as exc:
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
    except typer.Abort:
        err_console.print("aborted")
        sys.exit(1)
    except Exception as exc:  # click usage errors arrive here in non-standalone mode
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        raise
