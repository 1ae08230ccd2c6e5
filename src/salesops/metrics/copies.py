"""The default engine's DuckDB copies of the large tables: loaded once, shared, refreshed.

A copy is loaded from the cache file (in place), brought up to date from it (`refresh`), or
read from the operational store (`feed`); then kept in memory per database and fingerprint.

Two ways to follow the data, chosen per process:

- **inline** (the CLI, scripts, tests): a query that sees another fingerprint waits while the
  copy is brought up to date, and so always computes on the data as it is now.
- **background** (`salesops serve`, `set_background(True)`): a reader gets the last copy at
  once, with the last moment its data was known current (shown as "as of 12 s ago"), and
  the copy is brought up to date by one background thread per database. Invalidations that
  arrive while it runs are coalesced: when it ends it looks once more, and runs again only if
  the data moved past what it read. A connection holding writes of its own not committed yet
  always gets them (inline), so a service never computes on data older than its own writes.

The consistency guarantee (docs/metrics-performance.md): every large table of a copy is read
from one snapshot of the store; a reader sees either the old copy or the new one whole, never
a mix; a write committed before a refresh starts is in the copy that refresh publishes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ibis.expr.types import Table
from sqlalchemy.engine import Connection, Engine

from salesops.config import get_settings
from salesops.metrics import diskcache, feed, fingerprint, refresh
from salesops.metrics.feed import Quarantined
from salesops.models import Base

log = logging.getLogger(__name__)
_QUARANTINE = "salesops_quarantine"


@dataclass(eq=False)
class Copy:
    """One loaded copy of the large tables and what it holds."""

    con: Any
    tables: dict[str, Table]
    disk: tuple[Path, str] | None  # the cache file and the stamp of its data, if kept
    fingerprint: tuple[Any, ...]
    taken_at: datetime  # when the data it holds was read (UTC)
    quarantined: tuple[Quarantined, ...] = ()
    # One DuckDB connection must not run two statements at once: held while a source is
    # opened on it (its small tables are read again into it).
    lock: threading.Lock = field(default_factory=threading.Lock)
    # The last moment its data was known to be the store's (its fingerprint matched).
    confirmed_at: datetime | None = None

    def known_current(self) -> datetime:
        return self.confirmed_at or self.taken_at


@dataclass
class _Refresher:
    """The background refresh of one database's copy."""

    running: bool = False
    again: bool = False
    loads: int = 0  # copies loaded in the background (what tests count)
    progress: tuple[int, int] | None = None  # tables done, tables in all, while loading
    error: str | None = None
    done: threading.Condition = field(default_factory=threading.Condition)


_CACHE: OrderedDict[tuple[str, tuple[Any, ...]], Copy] = OrderedDict()
_LATEST: dict[str, Copy] = {}
_REFRESHERS: dict[str, _Refresher] = {}
_LOCK = threading.Lock()  # guards the dicts above
_LOAD_LOCKS: dict[str, threading.Lock] = {}  # one load at a time per database
_CACHE_SIZE = 2
_background = False
_listeners: list[Callable[[], None]] = []


def set_background(enabled: bool) -> None:
    """Serve the last copy while a newer one loads in the background (the web server)."""
    global _background
    _background = enabled


def on_refresh(listener: Callable[[], None]) -> None:
    """Call `listener` after a background refresh published a newer copy (caches of figures
    computed on the older one are then stale)."""
    if listener not in _listeners:
        _listeners.append(listener)


def clear() -> None:
    """Forget every loaded copy."""
    with _LOCK:
        _CACHE.clear()
        _LATEST.clear()


def current(connection: Connection, large: Iterable[str]) -> tuple[Copy, datetime, bool]:
    """The copy to compute on, the last moment its data was known to be the store's, and
    whether the store has moved on since: the current data's copy (inline), or the last one
    loaded while a newer one loads in the background (background mode)."""
    names = tuple(large)
    url = _url(connection)
    if _background and not feed.has_pending_writes(connection):
        with _LOCK:
            latest = _LATEST.get(url)
            worker = _REFRESHERS.setdefault(url, _Refresher())
            if latest is not None and worker.running:
                worker.again = True  # look again when the running refresh ends
                return latest, latest.known_current(), True
        if latest is not None:
            found = fingerprint.of_tables(connection, names)
            cached = _cached(url, found)
            if cached is not None:
                return cached, cached.known_current(), False
            request(connection.engine, names)
            return latest, latest.known_current(), True
    found = fingerprint.of_tables(connection, names)
    cached = _cached(url, found)
    if cached is None:
        with _load_lock(url):
            cached = _cached(url, found)  # another thread may have loaded it meanwhile
            if cached is None:
                cached = _publish(url, _load(connection, names, found, None))
    return cached, cached.known_current(), False


def request(engine: Engine, large: Iterable[str]) -> None:
    """Bring `engine`'s copy up to date in the background (coalesced with a running refresh)."""
    names = tuple(large)
    url = engine.url.render_as_string(hide_password=False)
    with _LOCK:
        worker = _REFRESHERS.setdefault(url, _Refresher())
        if worker.running:
            worker.again = True
            return
        worker.running, worker.again, worker.error = True, False, None
        worker.progress = (0, len(names))
    thread = threading.Thread(
        target=_refresh_loop, args=(engine, url, names, worker), name="salesops-metrics-refresh",
        daemon=True,
    )  # fmt: skip
    thread.start()


def status(engine: Engine) -> tuple[bool, tuple[int, int] | None, str | None]:
    """(a copy is ready, (tables done, tables in all) while one loads, the last error)."""
    url = engine.url.render_as_string(hide_password=False)
    with _LOCK:
        worker = _REFRESHERS.get(url)
        ready = url in _LATEST
    if worker is None:
        return ready, None, None
    return ready, worker.progress if worker.running else None, worker.error


def wait(engine: Engine, timeout: float | None = None) -> bool:
    """Wait until no background refresh of `engine`'s copy runs; False on time-out."""
    url = engine.url.render_as_string(hide_password=False)
    with _LOCK:
        worker = _REFRESHERS.get(url)
    if worker is None:
        return True
    with worker.done:
        return worker.done.wait_for(lambda: not worker.running, timeout)


def loads(engine: Engine) -> int:
    """How many copies of `engine`'s data were loaded in the background so far."""
    url = engine.url.render_as_string(hide_password=False)
    with _LOCK:
        worker = _REFRESHERS.get(url)
    return 0 if worker is None else worker.loads


def _refresh_loop(engine: Engine, url: str, names: tuple[str, ...], worker: _Refresher) -> None:
    try:
        while True:
            with engine.connect() as connection:
                found = fingerprint.of_tables(connection, names)
                if _cached(url, found) is None:
                    with _load_lock(url):
                        copy = _load(connection, names, found, worker)
                    _publish(url, copy)
                    worker.loads += 1
                    for listener in list(_listeners):
                        listener()
            with _LOCK:
                if not worker.again:
                    worker.running, worker.progress = False, None
                    break
                worker.again = False
    except Exception as exc:  # readers keep the last copy; the next request tries again
        log.exception("metrics: background refresh failed")
        with _LOCK:
            worker.running, worker.progress, worker.error = False, None, str(exc)
    with worker.done:
        worker.done.notify_all()


def _url(connection: Connection) -> str:
    return connection.engine.url.render_as_string(hide_password=False)


def _cached(url: str, found: tuple[Any, ...]) -> Copy | None:
    """The loaded copy holding the data of fingerprint `found` (now known to be current)."""
    with _LOCK:
        copy = _CACHE.get((url, found))
        if copy is not None:
            _CACHE.move_to_end((url, found))
            copy.confirmed_at = datetime.now(UTC)
        return copy


def _load_lock(url: str) -> threading.Lock:
    with _LOCK:
        return _LOAD_LOCKS.setdefault(url, threading.Lock())


def _publish(url: str, copy: Copy) -> Copy:
    with _LOCK:
        _CACHE[(url, copy.fingerprint)] = copy
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
        _LATEST[url] = copy
    return copy


def duckdb() -> Any:
    """A new in-process DuckDB connection, in UTC."""
    import ibis

    con = ibis.duckdb.connect()
    con.raw_sql("SET TimeZone = 'UTC'")
    # Its progress bar is drawn on standard output, into the CLI's CSV and JSON.
    con.raw_sql("SET enable_progress_bar = false")
    return con


def _load(
    connection: Connection,
    names: tuple[str, ...],
    found: tuple[Any, ...],
    worker: _Refresher | None,
) -> Copy:
    """A new copy of the large tables holding the data of fingerprint `found`: the cache file
    read in place when it holds it; else brought up to date from it or read from the store,
    written to the cache file, and then read in place from there (memory stays DuckDB's)."""
    taken_at = datetime.now(UTC)
    started = time.monotonic()
    con = duckdb()
    path = diskcache.cache_path(connection, get_settings().metrics_cache)
    columns = {name: [n for n, _ in feed.columns(Base.metadata.tables[name])] for name in names}
    if path is not None:
        disk = (path, diskcache.stamp(found, columns))
        if diskcache.restore(con, path, found, names, columns):
            kept = _quarantined(con, f"{diskcache.ALIAS}.{_QUARANTINE}")
            return Copy(con, {n: con.table(n) for n in names}, disk, found, taken_at, kept)
    previous = diskcache.attach_previous(con, path, columns) if path is not None else None
    steps = refresh.plan(previous, found) if previous else {}

    def progress(done: int) -> None:
        if worker is not None:
            worker.progress = (done, len(names))

    progress(0)
    with feed.attached_store(con, connection) as scanning:
        tables, held = refresh.load(
            con, connection, names, steps, previous or (), found, scanning=scanning,
            progress=progress,
        )  # fmt: skip
    if previous is not None:
        diskcache.detach(con)
    log.info("metrics: copy of the large tables loaded in %.1f s", time.monotonic() - started)
    if path is None:
        return Copy(con, tables, None, found, taken_at, tuple(held))
    _store_quarantine(con, held)
    diskcache.store(con, path, found, [*names, _QUARANTINE], columns)
    in_place = duckdb()
    if diskcache.restore(in_place, path, found, names, columns):
        con.disconnect()
        tables = {n: in_place.table(n) for n in names}
        return Copy(in_place, tables, (path, diskcache.stamp(found, columns)), found, taken_at,
                    tuple(held))  # fmt: skip
    return Copy(con, tables, (path, diskcache.stamp(found, columns)), found, taken_at, tuple(held))


def _store_quarantine(con: Any, held: list[Quarantined]) -> None:
    con.raw_sql(
        f'CREATE OR REPLACE TABLE {_QUARANTINE} ("table" VARCHAR, id BIGINT, "columns" VARCHAR)'
    )
    for q in held:
        con.raw_sql(
            f"INSERT INTO {_QUARANTINE} VALUES ('{q.table}', {q.id}, '{','.join(q.columns)}')"
        )


def _quarantined(con: Any, table: str) -> tuple[Quarantined, ...]:
    try:
        rows = con.raw_sql(f'SELECT "table", id, "columns" FROM {table}').fetchall()
    except Exception:  # a file of an earlier format without the table
        return ()
    return tuple(Quarantined(str(t), int(i), tuple(str(c).split(","))) for t, i, c in rows)
