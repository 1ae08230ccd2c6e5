"""Jobs: durable, idempotent background work that `salesops worker` runs when it is due.

The public API (stable; renewals, alerts, digests, score and cache refreshes use it):

- `@handler("kind")` registers `fn(session, payload) -> str | None` for a kind of job; the
  returned text goes into the run log. Modules that define handlers are listed in
  `HANDLER_MODULES` so a worker imports them before it runs anything.
- `schedule(session, kind, key=..., run_at=..., payload=..., every=...)` adds a job in the
  caller's transaction; the same `key` twice keeps one job (so scheduling is idempotent).
- `run_due(engine, worker=..., limit=...)` runs the due jobs, one transaction per job: the
  handler's writes and the job's completion commit together, so a job that fails or whose
  worker dies leaves nothing behind and is tried again (with backoff) later.
- `run_now(session, kind, payload)` runs a handler inline ("also on demand").
- `@handler("kind", every=timedelta(days=1))` makes a kind recurring; `ensure_recurring`
  (called when a worker starts) schedules one job per recurring kind.

Two workers at once: on PostgreSQL each claims its job with SELECT ... FOR UPDATE SKIP
LOCKED, so they share the queue and never run one job twice; on SQLite each job runs inside
a write transaction (BEGIN IMMEDIATE), so workers take turns.
"""

from salesops.jobs.service import (
    HANDLER_MODULES,
    JobOutcome,
    ensure_recurring,
    handler,
    handlers,
    recent_runs,
    run_due,
    run_now,
    schedule,
)

__all__ = [
    "HANDLER_MODULES",
    "JobOutcome",
    "ensure_recurring",
    "handler",
    "handlers",
    "recent_runs",
    "run_due",
    "run_now",
    "schedule",
]
