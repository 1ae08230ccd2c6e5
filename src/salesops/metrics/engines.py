"""Where metrics run: DuckDB fed from the operational store, PostgreSQL, Parquet, any Ibis backend.

The default engine copies the canonical tables from the operational database into an in-process
DuckDB: the large tables with DuckDB's own reader of the store (`feed`), kept until a cheap
fingerprint query (row counts, highest ids, a few column sums) sees the data change (`copies`);
the small reference tables are re-read through Arrow on every query, so a renamed rep or a new
FX rate shows at once.
"""

from __future__ import annotations

import json
import threading
import weakref
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.operations as ops
import pyarrow as pa
from ibis.expr.types import Table
from sqlalchemy import JSON, Boolean, Date, Integer, Numeric, String, Text
from sqlalchemy import Table as SATable
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from salesops.db.types import UTCDateTime, utc_now
from salesops.errors import ConfigurationError, ValidationFailed
from salesops.metrics import copies, diskcache
from salesops.metrics.cohorts import MATERIALIZED_ENTRIES, entry_events
from salesops.metrics.facts import Context, StageInfo
from salesops.metrics.feed import Quarantined
from salesops.models import Base

REQUIRED = (
    "opportunities", "opportunity_events", "pipeline_stages", "reps", "teams",
    "team_memberships", "accounts", "products", "territories", "fx_rates", "quotas",
    "leads", "contracts",
)  # fmt: skip
OPTIONAL = ("forecast_runs", "forecast_lines")
# Without these nothing can be computed; any other missing table reads as empty.
ESSENTIAL = ("opportunities", "opportunity_events", "pipeline_stages", "reps")
# Large tables are cached between queries; the others are re-read each time.
LARGE = ("opportunities", "opportunity_events", "leads", "contracts", "accounts", "quotas")


@dataclass
class Source:
    """An Ibis backend with the canonical tables and what the compiler must know about them."""

    engine: str
    backend: Any
    tables: dict[str, Table]
    ctx: Context
    lock: threading.Lock = field(default_factory=threading.Lock)
    missing_fx: frozenset[str] = frozenset()
    # The cache file of the default engine's copy and the stamp of the data it holds, so the
    # funnel's kept stage entries can be written next to it for later processes.
    disk: tuple[Path, str] | None = None
    # The default engine's copy of the large tables: the last moment (UTC) its data was known
    # to be the store's, and whether the store had moved on when the source was opened (in a
    # server a reader gets the last copy while a newer one loads, and is told how old it is).
    data_time: datetime | None = None
    data_behind: bool = False
    # Rows of the store the copy could not hold (left out of every figure; see `feed`).
    quarantined: tuple[Quarantined, ...] = ()
    # A row-level-scoped source (`salesops.metrics.scoped.restrict`): the source it restricts.
    # Its event log is that of its own opportunities, so the company's kept stage entries,
    # filtered to those opportunities, are its entries (see `materialized`).
    unscoped: Source | None = None


def _arrow_type(column: Any) -> pa.DataType | None:
    kind = column.type
    if isinstance(kind, JSON):
        return None
    if isinstance(kind, UTCDateTime):
        return pa.timestamp("us", tz="UTC")
    if isinstance(kind, Numeric) or (hasattr(kind, "impl") and isinstance(kind.impl, Numeric)):
        impl = kind.impl if hasattr(kind, "impl") else kind
        return pa.decimal128(impl.precision or 18, impl.scale or 2)
    if isinstance(kind, Boolean):
        return pa.bool_()
    if isinstance(kind, Integer):
        return pa.int64()
    if isinstance(kind, Date):
        return pa.date32()
    if isinstance(kind, String | Text):
        return pa.string()
    return pa.string()


def _to_array(values: list[Any], kind: pa.DataType) -> pa.Array:
    if pa.types.is_timestamp(kind):
        if values and isinstance(next((v for v in values if v is not None), None), str):
            return pa.array(values, pa.string()).cast(pa.timestamp("us")).cast(kind)
        return pa.array(values, kind)
    if pa.types.is_decimal(kind):
        sample = next((v for v in values if v is not None), None)
        if isinstance(sample, float | int):
            return pa.array(values, pa.float64()).cast(kind)
        return pa.array(values, kind)
    if pa.types.is_date(kind) and isinstance(next((v for v in values if v), None), str):
        return pa.array(values, pa.string()).cast(kind)
    if pa.types.is_boolean(kind):
        return pa.array([None if v is None else bool(v) for v in values], kind)
    return pa.array(values, kind)


def read_table(connection: Connection, table: SATable, *, where: str | None = None) -> pa.Table:
    """One table of the operational store as Arrow, read raw (no per-value Python types);
    only the rows matching `where` (SQL built by salesops, never user input) when given."""
    columns = [(c, _arrow_type(c)) for c in table.columns]
    columns = [(c, t) for c, t in columns if t is not None]
    names = ", ".join(f'"{c.name}"' for c, _ in columns)
    condition = "" if where is None else f" WHERE {where}"
    result = connection.exec_driver_sql(f'SELECT {names} FROM "{table.name}"{condition}')
    rows = result.fetchall()
    data: list[Any] = list(zip(*rows, strict=True)) if rows else [[] for _ in columns]
    arrays = [
        _to_array(list(values), kind) for (_, kind), values in zip(columns, data, strict=True)
    ]
    schema = pa.schema([pa.field(c.name, k) for c, k in columns])
    return pa.Table.from_arrays(arrays, schema=schema)


def _naive(table: pa.Table) -> pa.Table:
    """UTC timestamps without their zone: DuckDB then needs no conversion per row."""
    fields = [
        pa.field(f.name, pa.timestamp("us")) if pa.types.is_timestamp(f.type) else f
        for f in table.schema
    ]
    return table.cast(pa.schema(fields))


def _existing(connection: Connection) -> set[str]:
    from sqlalchemy import inspect

    return set(inspect(connection).get_table_names())


def _duckdb() -> Any:
    return copies.duckdb()


def from_connection(
    connection: Connection, *, reporting_currency: str, now: datetime | None = None
) -> Source:
    """A DuckDB source loaded from the operational store (large tables cached by fingerprint,
    see `copies`; in a server, the last copy while a newer one loads)."""
    present = _existing(connection)
    missing = [t for t in REQUIRED if t not in present]
    if missing:
        raise ConfigurationError(
            f"the database lacks tables {', '.join(missing)}; run `salesops init`"
        )
    wanted = [*REQUIRED, *(t for t in OPTIONAL if t in present)]
    copy, as_of, behind = copies.current(connection, LARGE)
    con = copy.con
    tables = dict(copy.tables)
    small = {
        name: _naive(read_table(connection, Base.metadata.tables[name]))
        for name in wanted
        if name not in LARGE
    }
    with copy.lock:
        for name, arrow in small.items():
            tables[name] = con.create_table(name, arrow, overwrite=True)
        src = _finish("duckdb", con, tables, reporting_currency, now)
    return replace(
        src, disk=copy.disk, data_time=as_of, data_behind=behind, quarantined=copy.quarantined
    )


def open_parquet(
    directory: Path, *, reporting_currency: str, now: datetime | None = None
) -> Source:
    """A DuckDB source over Parquet files: `<table>.parquet` or `<table>/*.parquet` per table."""
    if not directory.is_dir():
        raise ConfigurationError(f"{directory} is not a directory of Parquet files")
    con = _duckdb()
    tables: dict[str, Table] = {}
    for name in (*REQUIRED, *OPTIONAL):
        single = directory / f"{name}.parquet"
        folder = directory / name
        if single.exists():
            tables[name] = con.read_parquet(str(single), table_name=name)
        elif folder.is_dir() and any(folder.glob("*.parquet")):
            tables[name] = con.read_parquet(str(folder / "*.parquet"), table_name=name)
    missing = [t for t in ESSENTIAL if t not in tables]
    if missing:
        raise ConfigurationError(
            f"{directory} lacks Parquet files for {', '.join(missing)}"
            " (expected <table>.parquet or <table>/*.parquet)"
        )
    for name in REQUIRED:
        if name not in tables:
            tables[name] = con.create_table(name, _empty_arrow(name))
    return _finish(f"parquet:{directory}", con, tables, reporting_currency, now)


def from_backend(
    backend: Any, *, engine: str, reporting_currency: str, now: datetime | None = None
) -> Source:
    """A source over any Ibis backend whose current database holds the canonical tables."""
    present = set(backend.list_tables())
    missing = [t for t in ESSENTIAL if t not in present]
    if missing:
        raise ConfigurationError(f"the {engine} database lacks tables {', '.join(missing)}")
    tables = {name: backend.table(name) for name in (*REQUIRED, *OPTIONAL) if name in present}
    for name in REQUIRED:
        if name not in tables:
            tables[name] = ibis.memtable(_empty_arrow(name))
    return _finish(engine, backend, tables, reporting_currency, now, physical=present)


def postgres_from_session(
    session: Session, *, reporting_currency: str, now: datetime | None = None
) -> Source:
    """Run inside the session's own PostgreSQL connection (sees its uncommitted rows too)."""
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        raise ConfigurationError("the postgres engine needs a PostgreSQL operational database")
    backend = ibis.postgres.from_connection(connection.connection.driver_connection)
    return from_backend(backend, engine="postgres", reporting_currency=reporting_currency, now=now)


def _fetch(backend: Any, sql: str) -> list[tuple[Any, ...]]:
    """Run a small portable SQL query through any Ibis backend (no expression compile cost)."""
    result = backend.raw_sql(sql)
    if hasattr(result, "collect"):  # PySpark DataFrame
        return [tuple(row) for row in result.collect()]
    rows = [tuple(row) for row in result.fetchall()]
    if hasattr(result, "close") and result is not getattr(backend, "con", None):
        result.close()
    return rows


def _empty_arrow(name: str) -> pa.Table:
    """An empty table with the canonical columns of `name`."""
    columns = [(c.name, _arrow_type(c)) for c in Base.metadata.tables[name].columns]
    return pa.schema([(n, t) for n, t in columns if t is not None]).empty_table()


def _finish(
    engine: str,
    backend: Any,
    tables: dict[str, Table],
    currency: str,
    now: datetime | None,
    physical: set[str] | None = None,
) -> Source:
    """Read what the compiler must know (stages, teams, currencies) with small SQL queries."""
    real = set(tables) if physical is None else physical & set(tables)

    def fetch(sql: str, *needs: str) -> list[tuple[Any, ...]]:
        return _fetch(backend, sql) if all(n in real for n in needs) else []

    money = [t for t in ("opportunities", "quotas", "contracts") if t in real]
    found = {
        "stages": fetch(
            "SELECT id, name, sort_order, category, default_probability FROM pipeline_stages",
            "pipeline_stages",
        ),
        "teams": fetch("SELECT id, parent_id, name FROM teams", "teams"),
        "currencies": fetch(
            " UNION ".join(f"SELECT DISTINCT currency FROM {t}" for t in money), *money
        ),
        "rated": fetch("SELECT DISTINCT currency FROM fx_rates", "fx_rates"),
        "quota_range": fetch("SELECT MIN(period_start), MAX(period_end) FROM quotas", "quotas"),
    }
    stages = tuple(
        StageInfo(int(r[0]), str(r[1]), int(r[2]), str(r[3]), Decimal(str(r[4] or 0)))
        for r in sorted(found["stages"], key=lambda r: (r[2], r[0]))
    )
    lo, hi = found["quota_range"][0] if found["quota_range"] else (None, None)
    quota_range = (_as_date(lo), _as_date(hi)) if lo is not None and hi is not None else None
    moment = (now or utc_now()).astimezone(UTC).replace(tzinfo=None)
    ctx = Context(
        reporting_currency=currency,
        stages=stages,
        now=moment,
        currencies=frozenset(str(r[0]) for r in found["currencies"] if r[0]),
        team_parents=tuple(
            (int(r[0]), None if r[1] is None else int(r[1]), str(r[2])) for r in found["teams"]
        ),
        available=frozenset(tables),
        quota_range=quota_range,
        ordered_first=getattr(backend, "name", "") == "duckdb",
    )
    rated = {str(r[0]) for r in found["rated"]}
    missing_fx = frozenset(c for c in ctx.currencies if c != currency and c not in rated)
    if missing_fx:
        tables = _without_currencies(tables, missing_fx)
    return Source(engine, backend, tables, ctx, missing_fx=missing_fx)


def _without_currencies(tables: dict[str, Table], codes: frozenset[str]) -> dict[str, Table]:
    """The tables without the rows (and a left-out deal's events) in currencies that have no
    exchange rate: one such row used to stop every money metric of the company; now it is
    quarantined like a value the copy cannot hold (listed for admins by
    `metrics.quarantine`), and every other row counts."""
    kept = dict(tables)
    for name in ("opportunities", "quotas", "contracts"):
        if name in kept:
            kept[name] = kept[name].filter(~kept[name].currency.isin(sorted(codes)))
    if "opportunities" in tables and "opportunity_events" in kept:
        dropped = tables["opportunities"].filter(
            tables["opportunities"].currency.isin(sorted(codes))
        )
        events = kept["opportunity_events"]
        kept["opportunity_events"] = events.filter(~events.opportunity_id.isin(dropped.id))
    return kept


def _as_date(value: Any) -> date:
    if isinstance(value, str):
        return date.fromisoformat(value[:10])
    return value.date() if isinstance(value, datetime) else value


# Stage entries of the whole event log, per DuckDB connection, keyed by the event table and the
# funnel ranks they were computed with. They live as long as the connection: the default engine
# opens a new connection when the data changes, so they are never stale.
# Keyed by identity: Ibis compares backends by database, and every in-memory DuckDB is ":memory:".
_MATERIALIZED: dict[int, tuple[weakref.ref[Any], dict[tuple[Any, ...], Table]]] = {}
_MATERIALIZE_LOCK = threading.Lock()


def materialized(src: Source, *, as_of: datetime | None = None) -> Source:
    """`src` with the funnel's stage entries kept as a DuckDB table, when that is safe.

    Computing the entries takes three window passes over the event log (about a minute on 70M
    events here); metrics then read the table. Only for a DuckDB source whose event table is a
    stored table, and for the present (as-of questions rewind the log, so they compute theirs).
    """
    if as_of is not None or MATERIALIZED_ENTRIES in src.tables:
        return src
    if src.unscoped is not None:
        # The windows of `entry_events` never look past one opportunity's own events, so the
        # entries of a scoped log are the company's entries of the scoped opportunities: a
        # semi-join on the kept table instead of three window passes per request.
        entries = materialized(src.unscoped).tables.get(MATERIALIZED_ENTRIES)
        if entries is None:
            return src
        opps = src.tables["opportunities"]
        scoped = entries.filter(entries.opportunity_id.isin(opps.id))
        return replace(src, tables={**src.tables, MATERIALIZED_ENTRIES: scoped})
    events = src.tables.get("opportunity_events")
    if getattr(src.backend, "name", "") != "duckdb" or events is None:
        return src
    if not isinstance(events.op(), ops.DatabaseTable):
        return src
    key = (events.op(), tuple(sorted(src.ctx.ranks().items())))
    with _MATERIALIZE_LOCK:
        for ident in [i for i, (ref, _) in _MATERIALIZED.items() if ref() is None]:
            del _MATERIALIZED[ident]
        held = _MATERIALIZED.get(id(src.backend))
        if held is None or held[0]() is not src.backend:
            held = (weakref.ref(src.backend), {})
            _MATERIALIZED[id(src.backend)] = held
        per = held[1]
        table = per.get(key)
        if table is None:
            name = f"{MATERIALIZED_ENTRIES}_{len(per)}"
            with src.lock:
                table = _entries_table(src, name, key[1])
            per[key] = table
    return replace(src, tables={**src.tables, MATERIALIZED_ENTRIES: table})


def _entries_table(src: Source, name: str, ranks: tuple[Any, ...]) -> Table:
    """The kept stage entries as table `name`: read in place from the entries file next to the
    cache file when it holds them for this data and these stage ranks, else computed (and
    that file written, so the next process does not compute them again)."""
    if src.disk is None:
        return src.backend.create_table(name, entry_events(src.tables, src.ctx), overwrite=True)
    cache, data_stamp = src.disk
    path = diskcache.entries_path(cache)
    stamp = json.dumps({"data": data_stamp, "ranks": list(ranks)}, default=str)
    alias = f"salesops_{name}"
    if diskcache.attach_stamped(src.backend, path, alias, stamp):
        src.backend.raw_sql(f'CREATE OR REPLACE VIEW "{name}" AS SELECT * FROM {alias}.entries')
        return src.backend.table(name)
    table = src.backend.create_table(name, entry_events(src.tables, src.ctx), overwrite=True)
    diskcache.write(src.backend, path, stamp, {"entries": name})
    return table


def export_parquet(connection: Connection, directory: Path) -> list[Path]:
    """Write every canonical table the metrics read as `<directory>/<table>.parquet`."""
    import pyarrow.parquet as pq

    directory.mkdir(parents=True, exist_ok=True)
    present = _existing(connection)
    written = []
    for name in (*REQUIRED, *OPTIONAL):
        if name in present:
            path = directory / f"{name}.parquet"
            pq.write_table(read_table(connection, Base.metadata.tables[name]), path)
            written.append(path)
    return written


def clear_cache() -> None:
    """Forget every cached DuckDB copy of the operational store."""
    copies.clear()


def open_source(
    spec: str | None,
    *,
    session: Session | None = None,
    engine: Engine | None = None,
    reporting_currency: str,
    now: datetime | None = None,
) -> Source:
    """Open the engine named by `spec`: duckdb (default), postgres, parquet:DIR, or an Ibis URL."""
    spec = (spec or "duckdb").strip()
    if spec == "duckdb":
        if session is not None:
            return from_connection(
                session.connection(), reporting_currency=reporting_currency, now=now
            )
        if engine is None:
            raise ConfigurationError("the duckdb engine needs the operational database")
        with engine.connect() as connection:
            return from_connection(connection, reporting_currency=reporting_currency, now=now)
    if spec == "postgres":
        if session is not None:
            return postgres_from_session(session, reporting_currency=reporting_currency, now=now)
        if engine is None or engine.dialect.name != "postgresql":
            raise ConfigurationError("the postgres engine needs a PostgreSQL operational database")
        url = engine.url.set(drivername="postgres").render_as_string(hide_password=False)
        backend = ibis.connect(url)
        return from_backend(
            backend, engine="postgres", reporting_currency=reporting_currency, now=now
        )
    if spec.startswith("parquet:"):
        return open_parquet(Path(spec[8:]), reporting_currency=reporting_currency, now=now)
    if "://" in spec:
        try:
            backend = ibis.connect(spec)
        except Exception as exc:  # any backend's driver or connection error
            raise ConfigurationError(f"cannot open Ibis backend {spec!r}: {exc}") from exc
        return from_backend(
            backend, engine=spec.split("://")[0], reporting_currency=reporting_currency, now=now
        )
    raise ValidationFailed(
        f"unknown engine {spec!r} (use duckdb, postgres, parquet:DIR or an Ibis URL)"
    )


__all__ = [
    "Source",
    "clear_cache",
    "export_parquet",
    "from_backend",
    "from_connection",
    "materialized",
    "open_parquet",
    "open_source",
    "read_table",
]
