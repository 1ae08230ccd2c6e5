"""The worked example of docs/importing.md, run exactly as written there."""

from __future__ import annotations

import csv
import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from salesops.ingest import run_import
from salesops.models import Opportunity, OpportunityEvent
from salesops.pipeline import stages
from salesops.pipeline.history import pipeline_as_of

DOCS = Path(__file__).resolve().parents[2] / "docs" / "importing.md"


def example_files(directory: Path) -> dict[str, Path]:
    """Every **`name`** file of the docs, written into `directory`."""
    found = re.findall(r"\*\*`([^`]+)`\*\*\n```\w*\n(.*?)```", DOCS.read_text(), re.DOTALL)
    paths = {}
    for name, body in found:
        paths[name] = directory / name
        paths[name].write_text(body, encoding="utf-8")
    return paths


def test_the_worked_example_of_the_documentation_does_what_the_text_says(
    session: Session, tmp_path: Path
) -> None:
    files = example_files(tmp_path)
    assert set(files) == {
        "reps.csv",
        "products.csv",
        "deals-2025-04.csv",
        "acme-crm.yaml",
        "deals-2025-05.csv",
        "leads.csv",
        "won.csv",
        "funnel.yaml",
    }
    rejects = tmp_path / "rejects.csv"
    first = run_import(
        session,
        "csv",
        [files["reps.csv"], files["products.csv"], files["deals-2025-04.csv"]],
        mapping=files["acme-crm.yaml"],
        rejects=rejects,
    )
    counts = {n: (t.read, t.inserted, t.rejected) for n, t in first.tables.items() if t.read}
    assert counts == {"reps": (2, 2, 0), "products": (2, 2, 0), "opportunities": (5, 4, 1)}
    deals = {o.external_id: o for o in session.scalars(select(Opportunity))}
    assert deals["EU-1001"].stage.name == "Proposal"
    assert deals["EU-1001"].amount == Decimal("1200.00")
    assert deals["EU-1001"].probability == Decimal("0.4000")
    assert deals["EU-1002"].name == "Deal 1002 for Globex"
    assert deals["EU-1002"].amount == Decimal("1100.00")
    assert deals["US-1003"].stage.name == "Closed Lost"
    assert deals["US-1003"].account_id is None
    assert deals["US-1005"].stage.name == "Demo"
    assert deals["US-1005"].created_at == datetime(2025, 4, 30, 18, tzinfo=UTC)
    names = [s.name for s in stages.ordered(session)]
    assert names.index("Demo") == names.index("Qualification") + 1
    with rejects.open(newline="") as handle:
        (row,) = list(csv.DictReader(handle))
    assert row["_reason"] in DOCS.read_text().replace("\n", " ")
    assert row["deal_no"] == "1004"

    second = run_import(
        session,
        "csv",
        [files["deals-2025-05.csv"]],
        mapping=files["acme-crm.yaml"],
        as_of=datetime(2025, 5, 31, 18, tzinfo=UTC),
    )
    opportunities = second.tables["opportunities"]
    assert (opportunities.updated, opportunities.unchanged) == (1, 3)
    won = deals["EU-1001"]
    events = session.scalars(
        select(OpportunityEvent).where(OpportunityEvent.opportunity_id == won.id)
    ).all()
    assert {(e.field, e.old_value, e.new_value) for e in events} == {
        ("stage", "Proposal", "Closed Won"),
        ("amount", "1200.00", "1150.00"),
        ("close_date", "2025-06-30", "2025-05-20"),
        ("forecast_category", "best_case", "closed"),
    }
    in_may = {s.id: s for s in pipeline_as_of(session, datetime(2025, 5, 15, tzinfo=UTC))}
    assert in_may[won.id].stage == "Proposal"
    assert in_may[won.id].amount == Decimal("1200.00")
    assert {e.at for e in events} == {datetime(2025, 5, 20, tzinfo=UTC)}


def test_the_funnel_example_of_the_documentation_does_what_the_text_says(
    session: Session, tmp_path: Path
) -> None:
    files = example_files(tmp_path)
    rejects = tmp_path / "rejects.csv"
    summary = run_import(
        session,
        "csv",
        [files["leads.csv"], files["won.csv"]],
        mapping=files["funnel.yaml"],
        rejects=rejects,
    )
    text = DOCS.read_text()
    shown = [*summary.notes, *(f"warning: {w.message}" for w in summary.warnings)]
    for line in shown:
        assert line in text
    assert len(shown) == 4
    counts = {n: (t.read, t.inserted, t.rejected) for n, t in summary.tables.items()}
    assert counts == {
        "opportunities": (4, 3, 1),
        "reps": (0, 1, 0),
        "opportunity_events": (0, 6, 0),
    }
    deals = {o.external_id: o for o in session.scalars(select(Opportunity))}
    assert {k: o.stage.name for k, o in deals.items()} == {
        "L1": "Closed Won",
        "L2": "Prospecting",
        "L4": "Prospecting",
    }
    assert deals["L2"].name == "Lead L2"
    in_february = {s.id: s for s in pipeline_as_of(session, datetime(2025, 2, 10, tzinfo=UTC))}
    assert in_february[deals["L1"].id].stage == "Prospecting"
    with rejects.open(newline="") as handle:
        (row,) = list(csv.DictReader(handle))
    assert row["Lead ID"] == "L3"
    assert row["_reason"] in text.replace("\n", " ")
