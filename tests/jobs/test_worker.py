"""The job table and worker: idempotent scheduling, one transaction per job, retries, and two
workers at once sharing the queue without running a job twice."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from salesops import jobs, outbox
from salesops.db.engine import session_scope
from salesops.errors import ValidationFailed
from salesops.models import Job, JobRun, OutboxMessage

T0 = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)


@jobs.handler("test.mail")
def _mail(session: Session, payload: dict[str, Any]) -> str:
    time.sleep(payload.get("sleep", 0))
    outbox.enqueue_email(
        session, "ops@example.com", f"job {payload['n']}", "hi", key=f"n{payload['n']}"
    )
    return f"mailed {payload['n']}"


@jobs.handler("test.fail")
def _fail(session: Session, payload: dict[str, Any]) -> str:
    outbox.enqueue_email(session, "ops@example.com", "half-done", "")
    raise RuntimeError("the source system is down")


def _count(engine: Engine, model: type[Any]) -> int:
    with session_scope(engine) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_scheduling_one_key_twice_keeps_one_job(db: Engine) -> None:
    with session_scope(db) as session:
        first = jobs.schedule(session, "test.mail", key="k1", run_at=T0, payload={"n": 1})
        second = jobs.schedule(session, "test.mail", key="k1", run_at=T0 + timedelta(days=1))
        assert second.id == first.id
        assert second.run_at == T0
    assert _count(db, Job) == 1


def test_an_unknown_kind_cannot_be_scheduled(db: Engine) -> None:
    with session_scope(db) as session, pytest.raises(ValidationFailed, match="no handler"):
        jobs.schedule(session, "nobody.handles.this", key="x")


def test_a_due_job_runs_once_and_its_writes_commit_with_it(db: Engine) -> None:
    with session_scope(db) as session:
        jobs.schedule(session, "test.mail", key="due", run_at=T0, payload={"n": 1})
        jobs.schedule(
            session, "test.mail", key="later", run_at=T0 + timedelta(hours=1), payload={"n": 2}
        )
    outcomes = jobs.run_due(db, worker="w1", now=lambda: T0)
    assert [(o.outcome, o.message) for o in outcomes] == [("done", "mailed 1")]
    assert jobs.run_due(db, worker="w1", now=lambda: T0) == []
    with session_scope(db) as session:
        assert session.scalars(select(OutboxMessage.subject)).all() == ["job 1"]
        statuses = dict(session.execute(select(Job.key, Job.status)).all())
        assert statuses == {"due": "done", "later": "pending"}
        run = session.scalars(select(JobRun)).one()
        assert (run.worker, run.kind, run.outcome) == ("w1", "test.mail", "done")


def test_a_failing_job_leaves_nothing_behind_and_is_retried_with_backoff(db: Engine) -> None:
    with session_scope(db) as session:
        jobs.schedule(session, "test.fail", key="f", run_at=T0, max_attempts=2)
    [first] = jobs.run_due(db, now=lambda: T0)
    assert first.outcome == "retry"
    assert first.message == "RuntimeError: the source system is down"
    assert _count(db, OutboxMessage) == 0  # the handler's e-mail rolled back with it
    with session_scope(db) as session:
        job = session.scalars(select(Job)).one()
        assert (job.status, job.attempts, job.run_at) == ("pending", 1, T0 + timedelta(minutes=1))
    assert jobs.run_due(db, now=lambda: T0 + timedelta(seconds=59)) == []
    [second] = jobs.run_due(db, now=lambda: T0 + timedelta(minutes=1))
    assert second.outcome == "failed"
    with session_scope(db) as session:
        assert session.scalars(select(Job.status)).one() == "failed"
        assert session.scalars(select(JobRun.outcome).order_by(JobRun.id)).all() == [
            "retry",
            "failed",
        ]


def test_a_recurring_job_keeps_its_hour_and_runs_once_after_a_long_stop(db: Engine) -> None:
    with session_scope(db) as session:
        jobs.schedule(
            session, "test.mail", key="daily", run_at=T0, every=timedelta(days=1), payload={"n": 5}
        )
    # The worker was down for three and a half days: one run, the next at 06:00 tomorrow.
    late = T0 + timedelta(days=3, hours=12)
    assert len(jobs.run_due(db, now=lambda: late)) == 1
    with session_scope(db) as session:
        job = session.scalars(select(Job)).one()
        assert (job.status, job.run_at) == ("pending", T0 + timedelta(days=4))


def test_two_workers_share_the_queue_and_never_run_a_job_twice(db: Engine) -> None:
    total = 12
    with session_scope(db) as session:
        for n in range(total):
            jobs.schedule(
                session, "test.mail", key=f"j{n}", run_at=T0, payload={"n": n, "sleep": 0.02}
            )
    results: dict[str, list[jobs.JobOutcome]] = {}

    def work(name: str) -> None:
        results[name] = jobs.run_due(db, worker=name, now=lambda: T0)

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ran = [o.job_id for outcomes in results.values() for o in outcomes]
    assert len(ran) == total
    assert len(set(ran)) == total
    assert _count(db, OutboxMessage) == total
    with session_scope(db) as session:
        assert session.scalar(select(func.count()).select_from(JobRun)) == total
        assert set(session.scalars(select(Job.status))) == {"done"}
    if db.dialect.name == "postgresql":
        # SKIP LOCKED lets both work at once; on SQLite they take turns (either may do all).
        assert all(results[w] for w in ("w1", "w2"))
