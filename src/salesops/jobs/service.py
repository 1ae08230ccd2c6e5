"""The job table's scheduler and runner (see the package docstring for the guarantees)."""

from __future__ import annotations

import importlib
import logging
import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from salesops.db.engine import session_scope
from salesops.db.types import utc_now
from salesops.errors import NotFound, Problem, ValidationFailed
from salesops.models import Job, JobRun

log = logging.getLogger("salesops.jobs")

Handler = Callable[[Session, dict[str, Any]], str | None]
_HANDLERS: dict[str, Handler] = {}
# Kinds that run on their own on a fixed interval (`ensure_recurring` schedules them).
_RECURRING: dict[str, timedelta] = {}

# Modules whose import registers handlers; a worker imports them all before running jobs.
HANDLER_MODULES: list[str] = ["salesops.contracts.jobs"]

# After the n-th failure a job waits BACKOFF_BASE * 4^(n-1): 1 min, 4 min, 16 min, ...
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_CAP = timedelta(hours=6)


def handler(kind: str, *, every: timedelta | None = None) -> Callable[[Handler], Handler]:
    """Register the decorated function as the handler of jobs of `kind`; with `every`, the
    worker also keeps one recurring job of that kind (see `ensure_recurring`)."""

    def register(fn: Handler) -> Handler:
        _HANDLERS[kind] = fn
        if every is not None:
            _RECURRING[kind] = every
        return fn

    return register


def ensure_recurring(session: Session, *, start: datetime | None = None) -> list[Job]:
    """Schedule each recurring kind once (key `recurring:<kind>`); existing jobs are kept."""
    handlers()
    return [
        schedule(session, kind, key=f"recurring:{kind}", run_at=start, every=every)
        for kind, every in sorted(_RECURRING.items())
    ]


def handlers() -> dict[str, Handler]:
    """Every registered handler by kind, after importing the modules that define them."""
    for module in HANDLER_MODULES:
        importlib.import_module(module)
    return dict(_HANDLERS)


def schedule(
    session: Session,
    kind: str,
    *,
    key: str,
    run_at: datetime | None = None,
    payload: Mapping[str, Any] | None = None,
    every: timedelta | None = None,
    max_attempts: int = 5,
) -> Job:
    """Add a job in the caller's transaction; an existing job with the same `key` is kept
    as it is (and returned), so scheduling twice, even concurrently, makes one job."""
    if kind not in handlers():
        raise ValidationFailed("unknown job kind", [Problem(f"{kind!r} has no handler", "kind")])
    if every is not None and every.total_seconds() < 1:
        raise ValidationFailed("invalid schedule", [Problem("must be at least 1 s", "every")])
    values = {
        "kind": kind,
        "key": key,
        "payload": dict(payload or {}),
        "run_at": run_at or utc_now(),
        "every_seconds": int(every.total_seconds()) if every else None,
        "status": "pending",
        "attempts": 0,
        "max_attempts": max_attempts,
        "created_at": utc_now(),
    }
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    # ON CONFLICT DO NOTHING: two transactions scheduling one key never fail each other.
    session.execute(insert(Job).values(**values).on_conflict_do_nothing(index_elements=["key"]))
    job = session.scalar(
        select(Job).where(Job.key == key).execution_options(populate_existing=True)
    )
    assert job is not None
    return job


@dataclass(frozen=True)
class JobOutcome:
    """What one run of one job did."""

    job_id: int
    kind: str
    outcome: str  # done, retry, failed
    message: str | None


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _claim(session: Session, now: datetime) -> Job | None:
    # SKIP LOCKED: a job another worker is running is invisible here, not waited for. SQLite
    # ignores FOR UPDATE; the transaction's write lock (BEGIN IMMEDIATE) serialises instead.
    return session.scalars(
        select(Job)
        .where(Job.status == "pending", Job.run_at <= now)
        .order_by(Job.run_at, Job.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    ).first()


def _backoff(attempts: int) -> timedelta:
    return min(BACKOFF_BASE * int(4 ** max(attempts - 1, 0)), BACKOFF_CAP)


def _run_one(
    session: Session, job: Job, fn: Handler | None, worker: str, started: datetime
) -> JobOutcome:
    job.attempts += 1
    job.last_run_at = started
    message: str | None
    try:
        if fn is None:
            raise LookupError(f"no handler for job kind {job.kind!r}")
        # The handler's writes sit in a savepoint: a failure undoes them but keeps the record
        # of the attempt, which commits with the job's new state.
        with session.begin_nested():
            message = fn(session, dict(job.payload))
        outcome = "done"
    except Exception as exc:  # a job's failure must not stop the worker
        log.warning("job %s (%s) failed: %s", job.id, job.kind, exc)
        message = f"{type(exc).__name__}: {exc}"
        outcome = "failed" if job.attempts >= job.max_attempts else "retry"
    now = started
    if outcome != "retry" and job.every_seconds:
        # A recurring job that gave up this time is still due next time.
        job.last_error = message if outcome == "failed" else None
        job.attempts = 0
        # The next run is one interval after the due time, not after now, so a daily job
        # keeps its hour; a worker that was down for days runs it once, not once per day.
        step = timedelta(seconds=job.every_seconds)
        next_run = job.run_at + step
        while next_run <= now:
            next_run += step
        job.run_at = next_run
    elif outcome == "done":
        job.last_error = None
        job.status = "done"
    elif outcome == "retry":
        job.last_error = message
        job.run_at = now + _backoff(job.attempts)
    else:
        job.last_error = message
        job.status = "failed"
    session.add(
        JobRun(
            job_id=job.id,
            kind=job.kind,
            worker=worker,
            started_at=started,
            finished_at=max(utc_now(), started),
            outcome=outcome,
            message=message,
        )
    )
    return JobOutcome(job.id, job.kind, outcome, message)


def run_due(
    engine: Engine,
    *,
    worker: str | None = None,
    limit: int = 100,
    now: Callable[[], datetime] = utc_now,
) -> list[JobOutcome]:
    """Run up to `limit` due jobs, each in its own transaction, and return what happened."""
    registry = handlers()
    name = worker or _worker_name()
    outcomes: list[JobOutcome] = []
    while len(outcomes) < limit:
        with session_scope(engine, write=True) as session:
            job = _claim(session, now())
            if job is None:
                break
            outcome = _run_one(session, job, registry.get(job.kind), name, now())
        log.info("job %s %s: %s", outcome.job_id, outcome.kind, outcome.outcome)
        outcomes.append(outcome)
    return outcomes


def run_now(session: Session, kind: str, payload: Mapping[str, Any] | None = None) -> str | None:
    """Run the handler of `kind` inline in the caller's transaction (on demand)."""
    fn = handlers().get(kind)
    if fn is None:
        raise NotFound(f"job kind {kind!r} does not exist")
    return fn(session, dict(payload or {}))


def recent_runs(session: Session, *, limit: int = 50) -> list[JobRun]:
    """The latest job runs, newest first (the worker's log)."""
    return list(session.scalars(select(JobRun).order_by(JobRun.id.desc()).limit(limit)))
