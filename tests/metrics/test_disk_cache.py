"""The default engine's DuckDB copy of the large tables outlives the process, never stale."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select, update
from sqlalchemy.orm import Session

from salesops import metrics
from salesops.config import get_settings
from salesops.metrics import engines
from salesops.metrics.diskcache import cache_path, user_cache_dir
from salesops.metrics.engines import LARGE, clear_cache
from salesops.models import Opportunity, OpportunityEvent
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
    """Run `run()` and count the statements that copy the event log (or part of it) out of
    the database (the fingerprint's `max(id)` is not one)."""
    result, reads = table_reads(session, run)
    return result, len(reads.get("opportunity_events", []))


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


def table_reads(session: Session, run: Any) -> tuple[Any, dict[str, list[str]]]:
    """Run `run()` and sort the statements that copy a large table out of the database by
    table: "all" (the whole table) or "new" (rows above an id)."""
    reads: dict[str, list[str]] = {}

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.startswith('SELECT "') and " FROM " in statement:
            table = statement.split(" FROM ")[1].split()[0].strip('"')
            if table not in LARGE:
                return  # the small tables are read on every query by design
            reads.setdefault(table, []).append("new" if " WHERE id > " in statement else "all")

    bind = session.get_bind()
    event.listen(bind, "before_cursor_execute", record)
    try:
        result = run()
    finally:
        event.remove(bind, "before_cursor_execute", record)
    return result, reads


def test_after_a_change_only_the_changed_tables_and_the_new_events_are_read(
    session: Session, company: Company, cache_dir: Path
) -> None:
    first = bookings(session)
    clear_cache()
    deal = make_opportunity(session, owner=company.ann, amount=1234)
    service.close_opportunity(session, deal, won=True, at=datetime(2025, 3, 3, tzinfo=UTC))
    session.flush()
    changed, reads = table_reads(session, lambda: bookings(session))
    assert changed == first + 1234
    assert reads["opportunity_events"] == ["new"]  # appended, not read again
    assert reads["opportunities"] == ["new"]  # only the deals the new events name
    for unchanged in ("leads", "contracts", "accounts", "quotas"):
        assert unchanged not in reads  # copied from the cache file
    # The brought-up-to-date copy equals a copy read whole from the database.
    for path in cache_dir.glob("*.metrics.duckdb"):
        path.unlink()
    clear_cache()
    whole, reads = table_reads(session, lambda: bookings(session))
    assert whole == changed
    assert reads["opportunity_events"] == ["all"]
    clear_cache()
    assert table_reads(session, lambda: bookings(session)) == (changed, {})


def test_a_change_behind_salesops_back_makes_the_table_read_again_whole(
    session: Session, company: Company, cache_dir: Path
) -> None:
    bookings(session)
    clear_cache()
    # A raw SQL update records no event: only the fingerprint's sums can tell.
    session.execute(
        update(Opportunity)
        .where(Opportunity.id == select(func.min(Opportunity.id)).scalar_subquery())
        .values(amount=Opportunity.amount + 1)
    )
    deal = make_opportunity(session, owner=company.cid, amount=555)
    service.close_opportunity(session, deal, won=True, at=datetime(2025, 3, 5, tzinfo=UTC))
    session.flush()
    after, reads = table_reads(session, lambda: bookings(session))
    assert reads["opportunities"] == ["new", "all"]  # patched, failed the check, read whole
    for path in cache_dir.glob("*.metrics.duckdb"):
        path.unlink()
    clear_cache()
    assert bookings(session) == after  # the same as a copy read whole from the start


def test_a_removed_event_makes_the_event_log_read_again_whole(
    session: Session, company: Company, cache_dir: Path
) -> None:
    bookings(session)
    clear_cache()
    oldest = session.scalars(select(OpportunityEvent).order_by(OpportunityEvent.id)).first()
    assert oldest is not None
    session.delete(oldest)
    deal = make_opportunity(session, owner=company.bob, amount=777)
    service.close_opportunity(session, deal, won=True, at=datetime(2025, 3, 4, tzinfo=UTC))
    session.flush()
    expected = session.scalar(select(func.count()).select_from(OpportunityEvent))
    _, reads = table_reads(session, lambda: bookings(session))
    # The highest id grew, so the new events were appended first; the row count then
    # disagreed with the database's and the whole log was read again.
    assert reads["opportunity_events"] == ["new", "all"]
    source = metrics.open_engine(session)
    copied = source.tables["opportunity_events"].count().execute()
    assert copied == expected


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


def test_auto_keeps_the_file_next_to_a_sqlite_database_or_in_the_user_cache_dir(
    session: Session,
) -> None:
    connection = session.connection()
    path = cache_path(connection, "auto")
    assert path is not None
    if connection.dialect.name == "sqlite":
        assert path.name.endswith(".db.metrics.duckdb")
    else:  # PostgreSQL: one file per database in the user's cache directory
        assert path.parent == user_cache_dir()
        assert path.name.endswith(".metrics.duckdb")
    assert cache_path(connection, "off") is None


def test_a_new_process_reads_the_kept_stage_entries_from_their_file(
    session: Session, company: Company, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    computed: list[int] = []
    compute_entries = engines.entry_events

    def counted(*args: Any) -> Any:
        computed.append(1)
        return compute_entries(*args)

    monkeypatch.setattr(engines, "entry_events", counted)
    first = metrics.funnel(session)
    assert len(computed) == 1
    assert len(list(cache_dir.glob("*.metrics.entries.duckdb"))) == 1
    clear_cache()  # what a new process starts with
    assert metrics.funnel(session) == first
    assert len(computed) == 1  # read from the file, not computed again
    deal = make_opportunity(session, owner=company.ann, amount=4321)
    service.close_opportunity(session, deal, won=True, at=datetime(2025, 3, 6, tzinfo=UTC))
    session.flush()
    clear_cache()
    changed = metrics.funnel(session)
    assert len(computed) == 2  # other data: the file's entries are not used
    assert changed != first
