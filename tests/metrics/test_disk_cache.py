"""The default engine's DuckDB copy of the large tables outlives the process, never stale."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from salesops import metrics
from salesops.config import get_settings
from salesops.metrics.diskcache import cache_path
from salesops.metrics.engines import clear_cache
from salesops.pipeline import service
from tests.factories import make_opportunity
from tests.metrics.scenario import Company


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    folder = tmp_path / "metrics-cache"
    monkeypatch.setenv("SALESOPS_METRICS_CACHE", str(folder))
    get_settings.cache_clear()
    clear_cache()
    yield folder
    clear_cache()
    get_settings.cache_clear()


def event_log_reads(session: Session, run: Any) -> tuple[Any, int]:
    """Run `run()` and count the statements that read the whole event log out of the database
    (the fingerprint's `max(id)` is not one)."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if 'FROM "opportunity_events"' in statement and statement.startswith('SELECT "'):
            seen.append(statement)

    bind = session.get_bind()
    event.listen(bind, "before_cursor_execute", record)
    try:
        result = run()
    finally:
        event.remove(bind, "before_cursor_execute", record)
    return result, len(seen)


def bookings(session: Session) -> float:
    return float(metrics.compute(session, "bookings").total or 0)


def test_a_new_process_reads_the_tables_from_the_cache_file_until_the_data_changes(
    session: Session, company: Company, cache_dir: Path
) -> None:
    first, reads = event_log_reads(session, lambda: bookings(session))
    assert reads == 1
    files = list(cache_dir.glob("*.metrics.duckdb"))
    assert len(files) == 1
    clear_cache()  # what a new process starts with
    again, reads = event_log_reads(session, lambda: bookings(session))
    assert (again, reads) == (first, 0)
    deal = make_opportunity(session, owner=company.ann, amount=1234)
    service.close_opportunity(session, deal, won=True, at=datetime(2025, 3, 3, tzinfo=UTC))
    session.flush()
    clear_cache()
    changed, reads = event_log_reads(session, lambda: bookings(session))
    assert reads == 1  # the fingerprint moved: loaded from the database again
    assert changed == first + 1234
    clear_cache()
    assert event_log_reads(session, lambda: bookings(session)) == (changed, 0)


def test_a_damaged_cache_file_is_ignored_and_replaced(
    session: Session, company: Company, cache_dir: Path
) -> None:
    expected = bookings(session)
    (path,) = cache_dir.glob("*.metrics.duckdb")
    path.write_bytes(b"not a duckdb file")
    clear_cache()
    assert event_log_reads(session, lambda: bookings(session)) == (expected, 1)
    clear_cache()
    assert event_log_reads(session, lambda: bookings(session)) == (expected, 0)


def test_auto_keeps_the_file_next_to_a_sqlite_database_only(session: Session) -> None:
    connection = session.connection()
    path = cache_path(connection, "auto")
    if connection.dialect.name == "sqlite":
        assert path is not None
        assert path.name.endswith(".db.metrics.duckdb")
    else:
        assert path is None
    assert cache_path(connection, "off") is None
