"""The default engine's copy read by DuckDB itself, unusable rows quarantined, and background
refresh: readers are never blocked, writes show once the refresh ends, refreshes coalesce."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, select, text
from sqlalchemy.orm import Session

from salesops import metrics
from salesops.config import get_settings
from salesops.metrics import copies, engines, feed
from salesops.models import Rep
from salesops.pipeline import service, stages
from tests.conftest import scratch_url
from tests.databases import migrated_engine
from tests.factories import make_opportunity
from tests.metrics.scenario import build


@pytest.fixture(params=["sqlite", "postgresql"])
def store(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Engine]:
    """A database of each kind holding the edge-case company, committed (so another
    connection, DuckDB's, sees it), with its own metrics cache directory."""
    monkeypatch.setenv("SALESOPS_METRICS_CACHE", str(tmp_path / "cache"))
    get_settings.cache_clear()
    copies.clear()
    eng = migrated_engine(scratch_url(request.param, tmp_path, "copies"))
    with Session(eng, expire_on_commit=False) as session:
        stages.ensure_stages(session)
        build(session)
        session.commit()
    yield eng
    copies.set_background(False)
    copies.clear()
    eng.dispose()
    get_settings.cache_clear()


def bookings(eng: Engine) -> float:
    with Session(eng) as session:
        return float(metrics.compute(session, "bookings").total or 0)


def large_reads(eng: Engine, run: Any) -> tuple[Any, list[str]]:
    """Run `run()` and list the large tables read through SQLAlchemy (row by row in Python)."""
    reads: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.startswith('SELECT "') and " FROM " in statement:
            table = statement.split(" FROM ")[1].split()[0].strip('"')
            if table in engines.LARGE:
                reads.append(table)

    event.listen(eng, "before_cursor_execute", record)
    try:
        return run(), reads
    finally:
        event.remove(eng, "before_cursor_execute", record)


def win(eng: Engine, amount: int) -> None:
    """Commit a new deal won for `amount` (what a user's write does)."""
    with Session(eng, expire_on_commit=False) as session:
        rep = session.scalars(select(Rep).order_by(Rep.id)).first()
        assert rep is not None
        deal = make_opportunity(session, owner=rep, amount=amount)
        service.close_opportunity(session, deal, won=True, at=datetime(2025, 3, 3, tzinfo=UTC))
        session.commit()


def test_duckdb_reads_the_large_tables_itself_and_the_figures_agree(store: Engine) -> None:
    assert feed.scanner_file(store.dialect.name) is not None
    scanned, reads = large_reads(store, lambda: bookings(store))
    assert reads == []  # no large table went through Python
    # The same figure read through the connection (a session with writes of its own).
    copies.clear()
    with Session(store) as session:
        session.execute(text("UPDATE fx_rates SET rate = rate"))  # a pending write
        assert feed.has_pending_writes(session.connection())
        through_python = float(metrics.compute(session, "bookings").total or 0)
        session.rollback()
    assert scanned == through_python
    assert scanned > 0


def test_a_value_the_copy_cannot_hold_leaves_out_that_row_only_and_is_reported(
    store: Engine,
) -> None:
    if store.dialect.name != "sqlite":
        pytest.skip("PostgreSQL refuses such an amount itself (numeric(18, 2)): none to hold")
    before = bookings(store)
    win(store, 1000)
    with store.begin() as connection:
        deal_id = connection.execute(text("SELECT max(id) FROM opportunities")).scalar_one()
        # 21489055625980145 has more digits than the copy's DECIMAL(18, 2) can hold.
        connection.execute(
            text("UPDATE opportunities SET amount = 21489055625980145 WHERE id = :id"),
            {"id": deal_id},
        )
    copies.clear()
    with Session(store) as session:
        source = metrics.open_engine(session)
        total = float(metrics.compute(source, "bookings").total or 0)
    assert total == before  # the bad deal is left out, every other deal counts
    assert [(q.table, q.id, q.columns) for q in source.quarantined] == [
        ("opportunities", deal_id, ("amount",))
    ]
    copies.clear()  # a new process reads the report back from the cache file
    with Session(store) as session:
        assert metrics.open_engine(session).quarantined == source.quarantined


def test_postgres_keeps_its_cache_file_in_the_user_cache_dir_by_default(
    store: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SALESOPS_METRICS_CACHE", "auto")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    get_settings.cache_clear()
    first = bookings(store)
    copies.clear()  # a new process
    again, reads = large_reads(store, lambda: bookings(store))
    assert again == first
    if store.dialect.name == "postgresql":
        assert len(list((tmp_path / "xdg" / "salesops").glob("*.metrics.duckdb"))) == 1
    assert reads == []


class Gate:
    """Holds every background load until released, counting them."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.release = threading.Event()
        self.started = threading.Event()
        self.loads = 0
        load = copies._load

        def held(*args: Any) -> Any:
            if args[-1] is not None:  # a background load (it reports its progress)
                self.loads += 1
                self.started.set()
                assert self.release.wait(60)
            return load(*args)

        monkeypatch.setattr(copies, "_load", held)


def test_readers_get_the_last_copy_at_once_while_a_refresh_runs(
    store: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = bookings(store)
    copies.set_background(True)
    gate = Gate(monkeypatch)
    win(store, 700)
    started = datetime.now(UTC)
    with Session(store) as session:
        source = metrics.open_engine(session)  # sees the change, starts the refresh
        assert float(metrics.compute(source, "bookings").total or 0) == before
    assert source.data_behind  # the reader is told its data is older than the store's
    assert source.data_time is not None
    assert source.data_time < started
    assert gate.started.wait(30)
    # While the refresh is held, readers still get the old copy, without waiting for it.
    for _ in range(3):
        assert bookings(store) == before
    gate.release.set()
    assert copies.wait(store, 60)
    assert bookings(store) == before + 700  # the write shows once the refresh ended
    with Session(store) as session:
        fresh = metrics.open_engine(session)
    assert not fresh.data_behind
    assert fresh.data_time is not None
    assert fresh.data_time >= started
    assert gate.loads == 1


def test_invalidations_during_a_refresh_are_coalesced_into_one_more(
    store: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = bookings(store)
    copies.set_background(True)
    gate = Gate(monkeypatch)
    win(store, 100)
    win(store, 200)
    # Two readers see the data changed at the same moment: one refresh.
    readers = [threading.Thread(target=bookings, args=(store,)) for _ in range(2)]
    for reader in readers:
        reader.start()
    assert gate.started.wait(30)
    for reader in readers:
        reader.join(30)
        assert not reader.is_alive()  # not blocked by the held refresh
    # Three more writes and reads while it runs: one refresh after it, not three.
    for amount in (10, 20, 30):
        win(store, amount)
        assert bookings(store) == before
    gate.release.set()
    assert copies.wait(store, 120)
    assert gate.loads == 2
    assert bookings(store) == before + 360


def test_a_session_with_its_own_pending_writes_computes_on_them(
    store: Engine,
) -> None:
    before = bookings(store)
    copies.set_background(True)
    with Session(store, expire_on_commit=False) as session:
        rep = session.scalars(select(Rep).order_by(Rep.id)).first()
        assert rep is not None
        new = make_opportunity(session, owner=rep, amount=50)
        service.close_opportunity(session, new, won=True, at=datetime(2025, 3, 3, tzinfo=UTC))
        session.flush()
        assert float(metrics.compute(session, "bookings").total or 0) == before + 50
        session.rollback()
