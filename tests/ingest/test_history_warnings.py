"""Silent history: what an import cannot know is said in its summary, with counts and examples."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from salesops.ingest import run_import
from salesops.models import Opportunity
from tests.ingest.conftest import write
from tests.ingest.test_event_times import files as two_file_funnel
from tests.ingest.test_joins import LEADS, MAPPING, WON

AS_OF = datetime(2025, 4, 30, 18, tzinfo=UTC)
NO_LIFECYCLE = MAPPING.replace(
    "        lifecycle: {open_stage: Prospecting, close_date_known: false}\n", ""
)


def funnel(directory: Path, mapping: str, won: str = WON) -> tuple[Path, list[Path]]:
    return write(directory / "funnel.yaml", mapping), [
        write(directory / "leads.csv", LEADS),
        write(directory / "won.csv", won),
    ]


def test_closed_deals_without_lifecycle_are_counted_with_examples(
    session: Session, tmp_path: Path
) -> None:
    mapping, paths = funnel(tmp_path, NO_LIFECYCLE)
    summary = run_import(session, "csv", paths, mapping=mapping, as_of=AS_OF)
    warning = summary.warning("closed_without_history")
    assert warning is not None
    assert warning.count == 2
    assert "'L1' line 2: created 2025-01-06, Closed Won 2025-02-14" in warning.message
    assert "`lifecycle: {open_stage: <its open stage>}`" in warning.message
    # with a lifecycle the same data has a history, and nothing to warn about
    mapping, paths = funnel(tmp_path, MAPPING.replace("funnel", "funnel-2"))
    again = run_import(session, "csv", paths, mapping=mapping, as_of=AS_OF)
    assert again.tables["opportunities"].inserted == 4
    assert again.warning("closed_without_history") is None


def test_a_deal_won_before_it_was_created_is_rejected_unless_kept(
    session: Session, tmp_path: Path
) -> None:
    won = WON.replace("L3,2025-03-18", "L3,2025-01-31")  # L3 was first contacted 2025-02-03
    mapping, paths = funnel(tmp_path, MAPPING, won)
    rejects = tmp_path / "rejects.csv"
    summary = run_import(session, "csv", paths, mapping=mapping, as_of=AS_OF, rejects=rejects)
    assert summary.tables["opportunities"].rejected == 1
    with rejects.open(newline="") as handle:
        (row,) = list(csv.DictReader(handle))
    assert row["Lead ID"] == "L3"
    assert row["_reason"] == (
        "closed (2025-01-31) before it was created (2025-02-03):"
        " `impossible_dates: keep` imports such deals"
    )
    warning = summary.warning("closed_before_created")
    assert warning is not None
    assert warning.count == 1
    assert "'L3' line 4: closed 2025-01-31, created 2025-02-03" in warning.message
    assert "rejected" in warning.message

    kept = MAPPING.replace("lifecycle:", "impossible_dates: keep\n        lifecycle:")
    mapping, paths = funnel(tmp_path, kept, won)
    summary = run_import(session, "csv", paths, mapping=mapping, as_of=AS_OF)
    assert summary.rejected == 0
    warning = summary.warning("closed_before_created")
    assert warning is not None
    assert warning.count == 1
    assert "imported as given (`impossible_dates: keep`)" in warning.message
    l3 = session.scalars(select(Opportunity).where(Opportunity.external_id == "L3")).one()
    assert l3.stage.name == "Closed Won"


def test_a_second_file_closing_a_deal_before_its_creation_is_rejected(
    session: Session, tmp_path: Path
) -> None:
    mapping, paths = two_file_funnel(tmp_path)
    write(paths[2], "Lead ID,Company,Rep,Won Date\nL4,Umbrella,r1,2025-03-01\n")
    summary = run_import(session, "csv", paths, mapping=mapping, as_of=AS_OF)
    assert summary.tables["opportunities"].rejected == 1  # L4 was first contacted 2025-03-10
    warning = summary.warning("closed_before_created")
    assert warning is not None
    assert "closed 2025-03-01, created 2025-03-10" in warning.message
    l4 = session.scalars(select(Opportunity).where(Opportunity.external_id == "L4")).one()
    assert l4.stage.name == "Prospecting"


def test_a_lookup_that_fails_for_every_row_says_which_option_fixes_it(
    session: Session, tmp_path: Path
) -> None:
    mapping = write(
        tmp_path / "m.yaml",
        """\
        source_system: crm
        files:
          - match: reps.csv
            outputs:
              - target: reps
                key: id
                fields: {name: name}
          - match: deals.csv
            outputs:
              - target: opportunities
                key: id
                fields: {name: name, owner: rep, stage: {value: Prospecting}}
        """,
    )
    reps = write(tmp_path / "reps.csv", "id,name\nr1,Ana Alves\nr2,Ben Berg\n")
    deals = write(tmp_path / "deals.csv", "id,name,rep\nd1,A,Ana Alves\nd2,B,Ben Berg\n")
    summary = run_import(session, "csv", [reps, deals], mapping=mapping, as_of=AS_OF)
    assert summary.tables["opportunities"].rejected == 2
    warning = summary.warning("lookup_failed")
    assert warning is not None
    assert warning.count == 2
    assert warning.message.startswith(
        "opportunities.owner: none of the 2 values matched reps by external_id"
        " (e.g. 'Ana Alves', 'Ben Berg'); those rows were rejected."
    )
    assert "they are reps names, not ids: add `lookup: name` to the field" in warning.message
    assert "`missing: default`" in warning.message
    assert "leave `owner` out of the mapping" in warning.message
    # when only some rows fail, the rejects say which: no mapping-wide advice
    write(deals, "id,name,rep\nd1,A,r1\nd2,B,Ben Berg\n")
    summary = run_import(session, "csv", [reps, deals], mapping=mapping, as_of=AS_OF)
    assert summary.warning("lookup_failed") is None


def test_a_lookup_of_ids_imported_under_another_source_system_says_so(
    session: Session, tmp_path: Path
) -> None:
    reps_mapping = write(
        tmp_path / "reps.yaml",
        "source_system: hr\nfiles:\n  - match: reps.csv\n    outputs:\n"
        "      - {target: reps, key: id, fields: {name: name}}\n",
    )
    reps = write(tmp_path / "reps.csv", "id,name\nr1,Ana Alves\n")
    run_import(session, "csv", [reps], mapping=reps_mapping, as_of=AS_OF)
    deals_mapping = write(
        tmp_path / "deals.yaml",
        "source_system: crm\nfiles:\n  - match: deals.csv\n    outputs:\n"
        "      - {target: opportunities, key: id,"
        " fields: {name: name, owner: rep, stage: {value: Prospecting}}}\n",
    )
    deals = write(tmp_path / "deals.csv", "id,name,rep\nd1,A,r1\n")
    summary = run_import(session, "csv", [deals], mapping=deals_mapping, as_of=AS_OF)
    warning = summary.warning("lookup_failed")
    assert warning is not None
    assert (
        "they are ids of reps imported from hr, and this mapping's source_system is 'crm'"
        in warning.message
    )
