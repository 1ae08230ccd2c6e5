"""Worker and outbox throughput, and contract PDF rendering time.

    .venv/bin/python bench/jobs_outbox.py [POSTGRES_URL]

With POSTGRES_URL (a server to connect to), a scratch database is created next to it and
dropped afterwards; the database the URL names is not touched.

Runs N trivial jobs through `run_due` with one worker and then two at once (PostgreSQL only:
SQLite serialises writers), delivers N webhooks to a local HTTP server with one and two
deliverers, and renders the packaged contract template to PDF. The baseline of the two-worker
figures is the one-worker figure measured in the same run.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, delete, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.netfakes import http_server

from salesops import documents, jobs, outbox
from salesops.config import Settings
from salesops.contracts.paperwork import DEFAULT_TEMPLATE, TEMPLATE_DIR
from salesops.db import make_engine
from salesops.db.engine import session_scope
from salesops.db.schema import upgrade
from salesops.models import Job, JobRun, OutboxMessage

N = 400


@jobs.handler("bench.noop")
def _noop(session: Session, payload: dict[str, Any]) -> str:
    return "ok"


def _timed(workers: int, fn: Callable[[], object]) -> float:
    threads = [threading.Thread(target=fn) for _ in range(workers)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - start


def _jobs(engine: Engine, workers: int) -> float:
    with session_scope(engine) as s:
        s.execute(delete(JobRun))
        s.execute(delete(Job))
        for i in range(N):
            jobs.schedule(s, "bench.noop", key=f"b{workers}-{i}")
    return N / _timed(workers, lambda: jobs.run_due(engine, limit=N))


def _outbox(engine: Engine, workers: int) -> float:
    with session_scope(engine) as s:
        s.execute(delete(OutboxMessage))
    with http_server() as (base, hooks):
        with session_scope(engine) as s:
            for i in range(N):
                outbox.enqueue_webhook(s, f"{base}/h", {"i": i})
        rate = N / _timed(workers, lambda: outbox.deliver_due(engine, Settings(), limit=N))
        assert len(hooks.requests) == N, len(hooks.requests)
    return rate


def _scratch_postgres(base: str) -> tuple[str, Callable[[], None]]:
    name = f"salesops_bench_{os.getpid()}"
    admin = make_engine(base).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return make_url(make_engine(base).url).set(database=name).render_as_string(False), drop


def main() -> None:
    urls = [f"sqlite:///{tempfile.mkdtemp()}/bench.db"]
    cleanup: Callable[[], None] = lambda: None  # noqa: E731
    if len(sys.argv) > 1:
        scratch, cleanup = _scratch_postgres(sys.argv[1])
        urls.append(scratch)
    try:
        _run(urls)
    finally:
        cleanup()


def _run(urls: list[str]) -> None:
    for url in urls:
        engine = make_engine(url)
        upgrade(engine)
        kind = engine.dialect.name
        one = _jobs(engine, 1)
        print(f"{kind}: jobs, 1 worker: {one:,.0f}/s")
        if kind == "postgresql":
            two = _jobs(engine, 2)
            print(f"{kind}: jobs, 2 workers: {two:,.0f}/s ({two / one:.2f}x one worker)")
        one = _outbox(engine, 1)
        print(f"{kind}: webhooks, 1 deliverer: {one:,.0f}/s")
        if kind == "postgresql":
            two = _outbox(engine, 2)
            print(f"{kind}: webhooks, 2 deliverers: {two:,.0f}/s ({two / one:.2f}x one)")
        engine.dispose()
    body = (TEMPLATE_DIR / f"{DEFAULT_TEMPLATE}.html").read_text()
    from jinja2.sandbox import SandboxedEnvironment

    html = (
        SandboxedEnvironment(autoescape=True)
        .from_string(body)
        .render(
            seller="S",
            contract={
                "id": 1,
                "term_months": 12,
                "start_date": date(2026, 1, 1),
                "end_date": date(2026, 12, 31),
                "value": "10,000.00",
                "currency": "USD",
                "auto_renew": True,
                "notice_days": 30,
                "notice_date": date(2026, 12, 1),
            },
            account={"name": "Acme"},
            contact=None,
            opportunity=None,
            lines=[
                {
                    "product": f"P{i}",
                    "quantity": i,
                    "list_price": "100.00",
                    "discount_pct": "0 %",
                    "net": "100.00",
                }
                for i in range(10)
            ],
        )
    )
    documents.html_to_pdf(html)  # warm-up: fonts and Pango load once
    start = time.perf_counter()
    for _ in range(10):
        pdf = documents.html_to_pdf(html)
    print(
        f"contract PDF (10 lines): {(time.perf_counter() - start) / 10 * 1000:.0f} ms,"
        f" {len(pdf):,} bytes; HTML {len(html):,} bytes"
    )


if __name__ == "__main__":
    main()
