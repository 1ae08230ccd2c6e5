"""The demo company in SQLite and PostgreSQL: history rebuilds exactly, keys hold, reruns."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from salesops.db import make_engine
from salesops.demo.generator import TABLES, DemoSpec, generate
from salesops.demo.loader import load_into_database
from salesops.demo.params import REFERENCE_END
from salesops.demo.sinks import ParquetSink
from salesops.errors import Conflict
from salesops.models import Base, Opportunity, OpportunityEvent, Rep
from salesops.pipeline import service
from salesops.pipeline.history import OpportunityState, pipeline_as_of
from tests.conftest import scratch_url

SPEC = DemoSpec(opportunities=1_500, seed=3, end=REFERENCE_END)
END = datetime(2026, 10, 31, 23, 59, 59, tzinfo=UTC)
PAST = (
    datetime(2024, 3, 31, 23, 59, 59, tzinfo=UTC),
    datetime(2025, 1, 15, 12, 0, tzinfo=UTC),
    datetime(2025, 9, 30, 17, 30, tzinfo=UTC),
    datetime(2026, 6, 30, 23, 59, 59, tzinfo=UTC),
)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def demo_engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """A database of each kind holding the demo company (built once per module)."""
    engine = make_engine(scratch_url(request.param, tmp_path_factory.mktemp("demo"), "demo"))
    load_into_database(engine, SPEC)
    yield engine
    engine.dispose()


def _current(session: Session) -> dict[int, OpportunityState]:
    return {s.id: s for s in pipeline_as_of(session, datetime(2100, 1, 1, tzinfo=UTC))}


def test_the_pipeline_as_of_the_end_date_is_the_current_state(demo_engine: Engine) -> None:
    with Session(demo_engine) as session:
        as_of_end = pipeline_as_of(session, END)
        current = {o.id: o for o in session.scalars(select(Opportunity))}
        assert len(as_of_end) == len(current) == SPEC.opportunities
        for state in as_of_end:
            opp = current[state.id]
            assert state.stage == opp.stage.name
            assert state.amount == opp.amount
            assert state.close_date == opp.close_date
            assert state.forecast_category == opp.forecast_category
            assert state.owner_id == opp.owner_id
            assert state.closed_at == opp.closed_at


def _replay(session: Session, at: datetime) -> dict[int, dict[str, str | None]]:
    """The state at `at` by replaying events forwards (independent of pipeline_as_of)."""
    current = _current(session)
    initial: dict[int, dict[str, str | None]] = {
        s.id: {
            "amount": str(s.amount),
            "close_date": s.close_date.isoformat() if s.close_date else None,
            "owner": str(s.owner_id),
        }
        for s in current.values()
    }
    events = list(
        session.execute(
            select(OpportunityEvent).order_by(
                OpportunityEvent.opportunity_id, OpportunityEvent.at, OpportunityEvent.id
            )
        ).scalars()
    )
    seen: set[tuple[int, str]] = set()
    for event in events:  # a field's first event says what it was at creation
        key = (event.opportunity_id, event.field)
        if key not in seen and event.field in initial[event.opportunity_id]:
            initial[event.opportunity_id][event.field] = event.old_value
        seen.add(key)
    state: dict[int, dict[str, str | None]] = {}
    for event in events:
        if event.at > at:
            continue
        if event.field == "created":
            state[event.opportunity_id] = {
                "stage": event.new_value,
                **initial[event.opportunity_id],
            }
        else:
            state[event.opportunity_id][event.field] = event.new_value
    return state


def test_the_pipeline_rebuilt_at_past_dates_agrees_with_a_forward_replay(
    demo_engine: Engine,
) -> None:
    with Session(demo_engine) as session:
        for at in PAST:
            replayed = _replay(session, at)
            states = pipeline_as_of(session, at)
            assert {s.id for s in states} == set(replayed)
            assert 0 < len(states) < SPEC.opportunities
            for s in states:
                assert s.created_at <= at
                expected = replayed[s.id]
                assert s.stage == expected["stage"]
                assert str(s.amount) == expected["amount"]
                assert (s.close_date.isoformat() if s.close_date else None) == expected[
                    "close_date"
                ]
                assert str(s.owner_id) == expected["owner"]
                if s.is_open:
                    assert s.closed_at is None
                else:
                    assert s.closed_at is not None
                    assert s.closed_at <= at
            assert sum(s.is_open for s in states) > 20


def test_every_foreign_key_points_at_an_existing_row(demo_engine: Engine) -> None:
    with Session(demo_engine) as session:
        checked = 0
        for name in TABLES:
            child = Base.metadata.tables[name]
            for fk in child.foreign_keys:
                parent = fk.column.table.alias("parent")
                key = parent.c[fk.column.name]
                orphans = session.scalar(
                    select(func.count())
                    .select_from(child)
                    .outerjoin(parent, fk.parent == key)
                    .where(fk.parent.is_not(None), key.is_(None))
                )
                assert orphans == 0, f"{name}.{fk.parent.name}"
                checked += 1
        assert checked > 30


def test_a_second_build_without_replace_is_refused_and_changes_nothing(
    demo_engine: Engine,
) -> None:
    with pytest.raises(Conflict, match="--replace"):
        load_into_database(demo_engine, DemoSpec(opportunities=200, end=REFERENCE_END))
    with Session(demo_engine) as session:
        assert session.scalar(select(func.count()).select_from(Opportunity)) == SPEC.opportunities


def test_the_database_holds_the_same_rows_as_the_parquet_files(
    demo_engine: Engine, tmp_path: Path
) -> None:
    sink = ParquetSink(tmp_path)
    result = generate(SPEC, sink)
    sink.close()
    with Session(demo_engine) as session:
        for name in ("opportunities", "opportunity_events", "leads", "quotas", "contracts"):
            assert session.scalar(select(func.count()).select_from(Base.metadata.tables[name])) == (
                pq.read_metadata(tmp_path / f"{name}.parquet").num_rows
            )
        opps = pq.read_table(tmp_path / "opportunities.parquet").to_pylist()
        stored = {o.id: o for o in session.scalars(select(Opportunity))}
        for row in opps[::37]:
            opp = stored[row["id"]]
            assert (opp.amount, opp.close_date, opp.owner_id, opp.stage_id) == (
                row["amount"],
                row["close_date"],
                row["owner_id"],
                row["stage_id"],
            )
            assert opp.created_at == row["created_at"]
    assert result.rows["opportunities"] == SPEC.opportunities


def test_replace_rebuilds_the_company_and_new_rows_get_fresh_ids(demo_engine: Engine) -> None:
    load_into_database(
        demo_engine, DemoSpec(opportunities=300, seed=9, end=REFERENCE_END), replace=True
    )
    with Session(demo_engine) as session:
        assert session.scalar(select(func.count()).select_from(Opportunity)) == 300
        owner = session.scalars(select(Rep).where(Rep.is_active)).first()
        assert owner is not None
        opp = service.create_opportunity(
            session, name="After the demo", owner=owner, amount=Decimal(1000),
            close_date=date(2026, 12, 31), at=END,
        )  # fmt: skip
        session.flush()
        assert opp.id == 301
        session.rollback()
    # Put the module's company back for any test that runs after this one.
    load_into_database(demo_engine, SPEC, replace=True)


def test_a_failed_write_fails_the_load_and_leaves_the_database_unchanged(
    demo_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # On PostgreSQL the COPYs run in a writer thread: its error must reach the load, and the
    # thread must be done with the connection before the transaction rolls back.
    from salesops.demo import sinks

    with Session(demo_engine) as session:
        before = session.scalar(select(func.count()).select_from(Opportunity))
    calls = {"n": 0}
    real_write = sinks.DatabaseSink.write

    def failing_write(self: sinks.DatabaseSink, name: str, data: object) -> None:
        calls["n"] += 1
        if calls["n"] == 3:  # a table the database does not have: the COPY (or INSERT) fails
            name = "no_such_table"
        real_write(self, name, data)  # type: ignore[arg-type]

    monkeypatch.setattr(sinks.DatabaseSink, "write", failing_write)
    with pytest.raises(Exception, match="no_such_table"):
        load_into_database(demo_engine, SPEC, replace=True)
    with Session(demo_engine) as session:
        assert session.scalar(select(func.count()).select_from(Opportunity)) == before
