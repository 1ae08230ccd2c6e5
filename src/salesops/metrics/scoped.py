"""Metrics under row-level scoping: the metrics service, run on the tables the caller may see.

`salesops.auth.scoped_metrics` works out which rows a caller may read (`MetricScope`, plain
ids); `restrict` applies it to a `Source` so that every fact built from it (deals, stage
entries, leads, quotas, reps, contracts, forecast lines) only holds those rows. Because the
restriction is on the input tables, every metric, funnel, waterfall and drill-down obeys it
without the metric compiler knowing about users.

What the restricted tables leave out, by design (docs/metrics.md, "Row-level scoping"):

- reps outside the scope: no ramp time, quota or label of theirs; the `manager` label still
  names a rep's manager (the organisation chart is public), from `REP_NAMES`;
- a lead converted into a deal outside the scope counts as converted, not as won;
- as of a past date, a deal counts for the caller when they own it now; an earlier owner
  outside the scope is labelled `(none)`;
- contracts count for the accounts in scope only; forecast lines only for the teams in scope
  (company lines for roles that see everything).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Collection, Sequence
from dataclasses import replace

import pyarrow as pa
from ibis.expr.types import Column
from sqlalchemy.orm import Session

from salesops import caching
from salesops.auth.scoped_metrics import MetricScope, metric_scope
from salesops.auth.scoping import Scope
from salesops.metrics.cohorts import MATERIALIZED_ENTRIES
from salesops.metrics.dimensions import REP_NAMES
from salesops.metrics.engines import Source
from salesops.metrics.service import open_engine


def restrict(source: Source, scope: MetricScope) -> Source:
    """`source` with only the rows `scope` may see (the same source when it sees everything)."""
    if scope.rep_ids is None:
        return source
    reps = _ids(source, scope.rep_ids)
    teams = _ids(source, scope.team_ids or ())
    accounts = _ids(source, scope.account_ids or ())
    tables = dict(source.tables)
    # The company's kept entries are for every deal; `materialized` filters them for this source.
    tables.pop(MATERIALIZED_ENTRIES, None)
    every_rep = tables["reps"]
    tables[REP_NAMES] = every_rep.select("id", "name")
    tables["reps"] = every_rep.filter(every_rep.id.isin(reps))
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
    tables["contracts"] = contracts.filter(contracts.account_id.isin(accounts))
    table = tables["accounts"]
    tables["accounts"] = table.filter(table.id.isin(accounts))
    if "forecast_lines" in tables:
        lines = tables["forecast_lines"]
        tables["forecast_lines"] = lines.filter(lines.team_id.isin(teams))
    return replace(source, tables=tables, unscoped=source)


# Below this many ids a literal list is as cheap as a table.
_LITERAL_IDS = 32


def _ids(source: Source, ids: Collection[int]) -> Sequence[int] | Column:
    """`ids` for `column.isin(...)`: a literal list when short, else a DuckDB table of them.

    A manager's scope holds thousands of account ids. As literals they become thousands of
    nodes in every metric's expression, which Ibis walks in each rewrite pass when it compiles:
    a manager's overview spent 12 s of CPU compiling against the director's 3 s. A table of the
    ids (one per distinct set, named by its content, kept with the connection) is one node.
    """
    values = sorted(ids) or [-1]
    if len(values) <= _LITERAL_IDS or getattr(source.backend, "name", "") != "duckdb":
        return values
    digest = hashlib.sha1(",".join(map(str, values)).encode()).hexdigest()[:20]
    name = f"salesops_scope_{digest}"
    with source.lock:
        con = source.backend.con
        con.register("salesops_scope_ids", pa.table({"id": pa.array(values, pa.int64())}))
        try:
            con.execute(
                f'CREATE TEMP TABLE IF NOT EXISTS "{name}" AS SELECT id FROM salesops_scope_ids'
            )
        finally:
            con.unregister("salesops_scope_ids")
        table = source.backend.table(name, database=("temp", "main"))
    return table.id


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
            return replace(open_engine(session, engine=engine), lock=_METRICS_LOCK)

    key = (url, engine, caching.data_version(session))
    source = caching.sources.get_or_compute(key, open_source)
    return restrict(source, metric_scope(session, scope))
