"""A stage change whose date the file gives is recorded at that date, not at the export's time.

The shape of the issue's funnel export: one file creates the deals (leads with a first-contact
date), a second file closes them (won deals with a won date and no amount). The wins must
fall in the month of their won date both for the metrics (which read `closed_at`) and for the
backtest (which rewinds the events): before the fix the events were dated at the export's
time, so February had 2 wins in the metrics and 0 in the backtest's point-in-time pipeline.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from salesops import metrics
from salesops.forecasting.frames import load_history
from salesops.forecasting.snapshot import prepare, snapshot
from salesops.ingest import run_import
from salesops.models import OpportunityEvent
from tests.ingest.conftest import write

AS_OF = datetime(2025, 4, 30, 18, tzinfo=UTC)

MAPPING = """
version: 1
source_system: funnel
files:
  - match: reps.csv
    outputs:
      - target: reps
        key: rep_id
        fields: {name: name}
  - match: leads.csv
    outputs:
      - target: opportunities
        key: Lead ID
        fields:
          name: Company
          owner: Rep
          stage: {value: Prospecting}
          created_at: First Contact
  - match: won.csv
    outputs:
      - target: opportunities
        key: Lead ID
        fields:
          name: Company
          owner: Rep
          stage: {value: Closed Won}
          close_date: Won Date
"""


def files(directory: Path) -> tuple[Path, list[Path]]:
    mapping = write(directory / "funnel.yaml", MAPPING)
    reps = write(directory / "reps.csv", "rep_id,name\nr1,Ana Alves\n")
    leads = write(
        directory / "leads.csv",
        """\
        Lead ID,Company,Rep,First Contact
        L1,Acme,r1,2025-01-06
        L2,Globex,r1,2025-01-20
        L3,Initech,r1,2025-02-03
        L4,Umbrella,r1,2025-03-10
        """,
    )
    won = write(
        directory / "won.csv",
        """\
        Lead ID,Company,Rep,Won Date
        L1,Acme,r1,2025-02-14
        L2,Globex,r1,2025-02-27
        L3,Initech,r1,2025-03-18
        """,
    )
    return mapping, [reps, leads, won]


def wins_per_month_in_the_backtest(session: Session) -> dict[date, int]:
    """Wins of each month as the backtest sees them: the pipeline rewound to the month's end."""
    prep = prepare(load_history(session, with_activities=False))
    counts = {}
    for start, end in [
        (date(2025, 1, 1), date(2025, 2, 1)),
        (date(2025, 2, 1), date(2025, 3, 1)),
        (date(2025, 3, 1), date(2025, 4, 1)),
        (date(2025, 4, 1), date(2025, 5, 1)),
    ]:
        state = snapshot(prep, datetime(end.year, end.month, end.day, tzinfo=UTC))
        closed = state["closed_at"]
        inside = state["won"] & (closed >= str(start)) & (closed < str(end))
        counts[start] = int(inside.sum())
    return counts


def test_wins_from_a_second_file_fall_in_the_month_of_their_won_date(
    session: Session, tmp_path: Path
) -> None:
    mapping, paths = files(tmp_path)
    summary = run_import(session, "csv", paths, mapping=mapping, as_of=AS_OF)
    assert summary.tables["opportunities"].inserted == 4
    assert summary.tables["opportunities"].updated == 3

    stage_events = session.scalars(
        select(OpportunityEvent.at).where(OpportunityEvent.field == "stage")
    ).all()
    assert sorted(at.date() for at in stage_events) == [
        date(2025, 2, 14),
        date(2025, 2, 27),
        date(2025, 3, 18),
    ]

    result = metrics.compute(
        metrics.open_engine(session, engine="duckdb"),
        "won_deals",
        grain="month",
        start=date(2025, 1, 1),
        end=date(2025, 4, 30),
    )
    in_metrics = {row.period: row.value for row in result.rows if row.value}
    assert in_metrics == {date(2025, 2, 1): 2, date(2025, 3, 1): 1}
    backtest = wins_per_month_in_the_backtest(session)
    assert backtest == {
        date(2025, 1, 1): 0,
        date(2025, 2, 1): 2,
        date(2025, 3, 1): 1,
        date(2025, 4, 1): 0,
    }


def test_a_stage_entered_on_a_date_the_stage_history_gives_is_recorded_at_that_date(
    session: Session, tmp_path: Path
) -> None:
    mapping = write(
        tmp_path / "hs.yaml",
        """\
        source_system: hs
        files:
          - match: deals*.csv
            outputs:
              - target: opportunities
                key: id
                fields: {name: name, stage: stage, created_at: created}
                stage_history: {columns: '^entered (.+)$'}
        """,
    )
    header = "id,name,stage,created,entered Prospecting,entered Proposal\n"
    first = write(
        tmp_path / "deals-1.csv", header + "h1,Alpha,Prospecting,2025-01-10,2025-01-10,\n"
    )
    run_import(session, "csv", [first], mapping=mapping, as_of=datetime(2025, 3, 1, tzinfo=UTC))
    second = write(
        tmp_path / "deals-2.csv", header + "h1,Alpha,Proposal,2025-01-10,2025-01-10,2025-03-20\n"
    )
    summary = run_import(session, "csv", [second], mapping=mapping, as_of=AS_OF)
    assert summary.tables["opportunities"].updated == 1
    moves = session.scalars(
        select(OpportunityEvent).where(OpportunityEvent.field.in_(["stage", "forecast_category"]))
    ).all()
    assert {(e.field, e.new_value, e.at) for e in moves} >= {
        ("stage", "Proposal", datetime(2025, 3, 20, tzinfo=UTC))
    }
    assert {e.at for e in moves} == {datetime(2025, 3, 20, tzinfo=UTC)}
