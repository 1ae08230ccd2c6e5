"""Metrics under row-level scoping: the metrics service, run on tables the caller may see.

The metrics service takes any `Source`; this wraps one so that every fact it builds (deals,
stage entries, leads, quotas, contracts, forecasts) only contains the caller's rows. Because the
restriction is on the input tables, every metric, funnel, waterfall and drill-down obeys it
without the metric compiler knowing about users.
"""

from __future__ import annotations

import threading
from dataclasses import replace

from sqlalchemy.orm import Session

from salesops import caching, metrics
from salesops.auth.scoping import Scope
from salesops.metrics import Source
from salesops.metrics.cohorts import MATERIALIZED_ENTRIES


def restrict(source: Source, scope: Scope) -> Source:
    """`source` with only the rows `scope` may see (the same source when it sees everything)."""
    if scope.rep_ids is None:
        return source
    reps = sorted(scope.rep_ids) or [-1]
    teams = sorted(scope.team_ids or ()) or [-1]
    tables = dict(source.tables)
    # Entries kept for the whole company must not reach a scoped source: it computes its own.
    tables.pop(MATERIALIZED_ENTRIES, None)
    opps = tables["opportunities"]
    opps = opps.filter(opps.owner_id.isin(reps))
    tables["opportunities"] = opps
    events = tables["opportunity_events"]
    tables["opportunity_events"] = events.filter(events.opportunity_id.isin(opps.id))
    leads = tables["leads"]
    tables["leads"] = leads.filter(leads.owner_id.isin(reps))
    quotas = tables["quotas"]
    tables["quotas"] = quotas.filter(quotas.rep_id.isin(reps) | quotas.team_id.isin(teams))
    contracts = tables["contracts"]
    tables["contracts"] = contracts.filter(contracts.account_id.isin(opps.account_id))
    if "forecast_lines" in tables:
        lines = tables["forecast_lines"]
        tables["forecast_lines"] = lines.filter(lines.team_id.isin(teams))
    return replace(source, tables=tables)


# The metrics engine shares one cached DuckDB connection between the Sources it opens, but gives
# each Source its own lock; a DuckDB connection must not run two statements at once, so the
# server serialises opening and running metrics with one lock per process.
_METRICS_LOCK = threading.Lock()


def open_scoped(session: Session, scope: Scope, *, engine: str | None = None) -> Source:
    """The metrics source for one request, restricted to what `scope` may see.

    The opened source is shared by requests while the data version stays the same: opening
    fingerprints the large tables, which takes seconds on millions of rows.
    """
    url = session.get_bind().engine.url.render_as_string(hide_password=True)

    def open_source() -> Source:
        with _METRICS_LOCK:
            return replace(metrics.open_engine(session, engine=engine), lock=_METRICS_LOCK)

    key = (url, engine, caching.data_version(session))
    return restrict(caching.sources.get_or_compute(key, open_source), scope)
