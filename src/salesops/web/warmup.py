"""The metrics copy while it loads: warming it when the server starts, and what a page shows
until it is ready.

Loading the default engine's copy of the large tables takes from seconds (the cache file, read
in place) to a minute or more (read from the store, at a million deals). `salesops serve`
starts that load in the background before it accepts requests; a dashboard page asked for
meanwhile shows "preparing the metrics copy: N of M tables" and polls (htmx) until the copy is
ready, instead of hanging on it.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from salesops.api.deps import Principal
from salesops.web.deps import SessionDep, WebUser, page_context
from salesops.web.templating import templates

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)


def start(engine: Engine) -> threading.Thread:
    """Load the metrics copy of `engine`'s data in a background thread, serving the last copy
    while later ones load (what the web server does)."""
    from salesops import caching
    from salesops.metrics import copies, engines

    copies.set_background(True)
    # Figures computed on an older copy are cached under the data version of their request:
    # once a newer copy is published they must be computed again.
    copies.on_refresh(caching.clear)
    thread = threading.Thread(
        target=copies.request, args=(engine, engines.LARGE), name="salesops-metrics-warm",
        daemon=True,
    )  # fmt: skip
    thread.start()
    return thread


def preparing(session: Session) -> tuple[int, int] | None:
    """(tables loaded, tables in all) while the first metrics copy loads; None once it is ready
    (or when nothing loads it in the background: the page then computes it itself)."""
    from salesops.metrics import copies

    ready, progress, _ = copies.status(session.get_bind().engine)
    if ready or progress is None:
        return None
    return progress


def placeholder(
    request: Request, session: Session, who: Principal, progress: tuple[int, int]
) -> Response:
    context = page_context(request, session, who) | {"progress": progress}
    return templates.TemplateResponse(request, "preparing.html", context)


@router.get("/metrics-status", response_class=HTMLResponse)
def status(request: Request, session: SessionDep, who: WebUser) -> Response:
    """The progress line of the placeholder; once the copy is ready, tells htmx to reload."""
    progress = preparing(session)
    if progress is None:
        return HTMLResponse("", headers={"HX-Refresh": "true"})
    return templates.TemplateResponse(request, "partials/preparing.html", {"progress": progress})


def age(moment: datetime | None, now: datetime | None = None) -> str | None:
    """How old the data of a copy read at `moment` is, in words ("12 s ago", "3 min ago")."""
    if moment is None:
        return None
    seconds = max(0, int(((now or datetime.now(UTC)) - moment).total_seconds()))
    if seconds < 60:
        return f"{seconds} s ago"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    return f"{seconds // 3600} h ago"
