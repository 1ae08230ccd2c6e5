"""`salesops serve`: the REST API and the dashboard in one process."""

from __future__ import annotations

import typer
from sqlalchemy import Engine

from salesops.cli.context import console, state
from salesops.config import get_settings


def serve(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host", help="interface to listen on"),
    port: int = typer.Option(8000, "--port", help="TCP port"),
    proxy_headers: bool = typer.Option(
        False, "--proxy-headers", help="trust X-Forwarded-* (behind an HTTPS proxy)"
    ),
) -> None:
    """Serve the dashboard at / and the REST API at /api/v1 (docs at /api/v1/docs)."""
    import uvicorn

    from salesops.api import create_app
    from salesops.db import make_engine
    from salesops.web import warmup

    cli = state(ctx)
    cli.require_schema()
    settings = get_settings().model_copy(update={"database_url": cli.database_url})
    engine = make_engine(settings.database_url)
    # The metrics copy loads while the server starts; pages asked for meanwhile show progress.
    warmup.start(engine)
    console.print(
        f"salesops at http://{host}:{port}/  (API docs: http://{host}:{port}/api/v1/docs)"
    )
    uvicorn.run(
        create_app(settings, engine=engine),
        host=host,
        port=port,
        proxy_headers=proxy_headers,
        log_level="info",
    )


def warm_metrics(engine: Engine) -> None:
    """Open the metrics source once, waiting for it (its DuckDB copy is kept for later
    requests); `salesops serve` does this in the background instead (`web.warmup`)."""
    from salesops import metrics
    from salesops.db import session_scope

    try:
        with session_scope(engine) as session:
            metrics.open_engine(session)
    except Exception as exc:  # warming is an optimisation; a real request will report errors
        console.print(f"[yellow]metrics warm-up skipped:[/] {exc}")
