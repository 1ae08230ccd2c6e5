"""`salesops worker` (run due jobs and deliver the outbox) and `salesops jobs ...`."""

from __future__ import annotations

import logging
import time

import typer
from rich.table import Column, Table
from sqlalchemy import select

from salesops.cli.context import console, state
from salesops.config import get_settings
from salesops.jobs import service
from salesops.models import Job, OutboxMessage
from salesops.outbox import deliver_due, list_messages, requeue

jobs_app = typer.Typer(help="Scheduled jobs: list them and read the run log.", no_args_is_help=True)
outbox_app = typer.Typer(
    help="Outgoing e-mail and webhooks: list and re-queue.", no_args_is_help=True
)


def worker(
    ctx: typer.Context,
    once: bool = typer.Option(False, "--once", help="Run what is due now, then exit."),
    interval: float = typer.Option(
        5.0, "--interval", min=0.1, help="Seconds between polls of the job table and outbox."
    ),
) -> None:
    """Run due jobs and deliver the outbox, until stopped (Ctrl-C)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    cli = state(ctx)
    engine = cli.require_schema()
    settings = get_settings()
    with cli.session() as session:
        service.ensure_recurring(session)
    while True:
        for outcome in service.run_due(engine):
            console.print(
                f"job {outcome.job_id} {outcome.kind}: {outcome.outcome}"
                + (f" ({outcome.message})" if outcome.message else ""),
                highlight=False,
            )
        report = deliver_due(engine, settings)
        for label, ids in (
            ("sent", report.sent),
            ("will retry", report.retrying),
            ("dead", report.dead),
            ("unknown", report.unknown),
        ):
            if ids:
                console.print(f"outbox {label}: {', '.join(map(str, ids))}", highlight=False)
        if once:
            return
        time.sleep(interval)


@jobs_app.command("list")
def list_jobs(ctx: typer.Context) -> None:
    """Every job: kind, key, status, next run, attempts, last error."""
    with state(ctx).session() as session:
        table = Table("id", "kind", "key", "status", "run at", "every (s)", "attempts", "error")
        for job in session.scalars(select(Job).order_by(Job.run_at, Job.id)):
            table.add_row(
                str(job.id),
                job.kind,
                job.key,
                job.status,
                job.run_at.isoformat(timespec="seconds"),
                str(job.every_seconds or ""),
                str(job.attempts),
                (job.last_error or "")[:60],
            )
        console.print(table)


@jobs_app.command("runs")
def runs(ctx: typer.Context, limit: int = typer.Option(50, min=1, max=10_000)) -> None:
    """The run log, newest first: what ran, where, when, and how it ended."""
    with state(ctx).session() as session:
        found = service.recent_runs(session, limit=limit)
        # The kind is what a reader looks for: it keeps its width, the message wraps instead.
        kind = Column("kind", no_wrap=True, min_width=max((len(r.kind) for r in found), default=4))
        table = Table("job", kind, "worker", "started", "seconds", "outcome", "message")
        for run in found:
            table.add_row(
                str(run.job_id),
                run.kind,
                run.worker,
                run.started_at.isoformat(timespec="seconds"),
                f"{(run.finished_at - run.started_at).total_seconds():.2f}",
                run.outcome,
                (run.message or "")[:80],
            )
        console.print(table)


@jobs_app.command("run")
def run(ctx: typer.Context, kind: str) -> None:
    """Run the handler of one job kind now, on demand."""
    with state(ctx).session() as session:
        message = service.run_now(session, kind)
    console.print(f"{kind}: {message or 'done'}", highlight=False)


@outbox_app.command("list")
def list_outbox(
    ctx: typer.Context,
    status: str = typer.Option(None, help="pending, sending, sent, dead or unknown"),
    limit: int = typer.Option(50, min=1, max=10_000),
) -> None:
    """Outgoing messages, newest first."""
    with state(ctx).session() as session:
        table = Table("id", "channel", "to", "subject", "status", "attempts", "error")
        rows: list[OutboxMessage] = list_messages(session, status=status, limit=limit)
        for m in rows:
            table.add_row(
                str(m.id),
                m.channel,
                m.recipient,
                m.subject,
                m.status,
                str(m.attempts),
                (m.last_error or "")[:60],
            )
        console.print(table)


@outbox_app.command("retry")
def retry(ctx: typer.Context, message_id: int) -> None:
    """Send a dead or unknown message again (it may then arrive twice)."""
    with state(ctx).session() as session:
        message = requeue(session, message_id)
    console.print(f"outbox message {message.id} re-queued", highlight=False)
