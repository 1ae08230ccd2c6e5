"""A funnel export without pre-processing: leads + won deals joined, conditions, no reps.

Files shaped like the issue's: a leads file with a first-contact date, and a separate file of
won deals keyed by lead id with their won date and no amounts, and no sales reps anywhere.
"""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from salesops.errors import ValidationFailed
from salesops.ingest import run_import
from salesops.models import Opportunity, OpportunityEvent, Rep
from tests.ingest.conftest import write

AS_OF = datetime(2025, 4, 30, 18, tzinfo=UTC)

MAPPING = """
version: 1
source_system: funnel
files:
  - match: leads*.csv
    join:
      match: won*.csv
      on: {left: Lead ID, right: lead_id}
    outputs:
      - target: opportunities
        key: Lead ID
        fields:
          name: {template: ["{Company}", "Lead {Lead ID}"]}
          stage: {if_present: Won Date, then: Closed Won, else: Prospecting}
          close_date: {if_present: Won Date, then: {column: Won Date}}
          created_at: First Contact
          lead_source: {value: Web}
        lifecycle: {open_stage: Prospecting, close_date_known: false}
"""

LEADS = """\
Lead ID,Company,First Contact
L1,Acme,2025-01-06
L2,,2025-01-20
L3,Initech,2025-02-03
L4,Umbrella,2025-03-10
"""

WON = """\
lead_id,Won Date
L1,2025-02-14
L3,2025-03-18
L9,2025-03-20
"""


def funnel(directory: Path, mapping: str = MAPPING, won: str = WON) -> tuple[Path, list[Path]]:
    return write(directory / "funnel.yaml", mapping), [
        write(directory / "leads.csv", LEADS),
        write(directory / "won.csv", won),
    ]


def deals(session: Session) -> dict[str, Opportunity]:
    return {o.external_id: o for o in session.scalars(select(Opportunity))}


def test_leads_and_won_deals_import_joined_with_conditions_and_the_default_owner(
    session: Session, tmp_path: Path
) -> None:
    mapping, paths = funnel(tmp_path)
    summary = run_import(session, "csv", paths, mapping=mapping, as_of=AS_OF)
    assert summary.tables["opportunities"].inserted == 4
    assert summary.rejected == 0
    found = deals(session)
    assert {k: o.stage.name for k, o in found.items()} == {
        "L1": "Closed Won",
        "L2": "Prospecting",
        "L3": "Closed Won",
        "L4": "Prospecting",
    }
    assert found["L1"].close_date == date(2025, 2, 14)
    assert found["L1"].closed_at == datetime(2025, 2, 14, tzinfo=UTC)
    assert found["L2"].close_date is None
    assert found["L2"].name == "Lead L2"
    assert found["L4"].lead_source == "Web"
    assert found["L1"].amount == Decimal("0.00")
    # no reps in the data: one rep "Unassigned" is created and owns every deal
    (owner,) = session.scalars(select(Rep)).all()
    assert (owner.external_id, owner.name, owner.source_system) == (
        "unassigned",
        "Unassigned",
        "funnel",
    )
    assert {o.owner_id for o in found.values()} == {owner.id}
    assert summary.tables["reps"].inserted == 1
    # the lifecycle dates each win at its won date
    won_at = {
        e.opportunity_id: e.at
        for e in session.scalars(select(OpportunityEvent).where(OpportunityEvent.field == "stage"))
    }
    assert won_at == {
        found["L1"].id: datetime(2025, 2, 14, tzinfo=UTC),
        found["L3"].id: datetime(2025, 3, 18, tzinfo=UTC),
    }
    # the join says how it went; the won row of an unknown lead is not silently dropped
    assert "join: 2 of 3 keys of won.csv matched a row of leads.csv" in summary.notes
    unmatched = summary.warning("join_unmatched")
    assert unmatched is not None
    assert unmatched.count == 1
    assert "'L9' (won.csv line 4)" in unmatched.message
    # importing again changes nothing (the default owner is found, not created again)
    again = run_import(session, "csv", paths, mapping=mapping, as_of=AS_OF)
    assert again.changed == 0
    assert again.tables["opportunities"].unchanged == 4


def test_a_configured_default_owner_and_missing_default_for_unknown_reps(
    session: Session, tmp_path: Path
) -> None:
    owner = "default_owner: {key: house, name: House}\n"
    mapping = MAPPING.replace("files:\n", owner + "files:\n").replace(
        "lead_source: {value: Web}", "owner: {column: Rep, missing: default}"
    )
    leads = "Lead ID,Company,First Contact,Rep\nL1,Acme,2025-01-06,\nL2,Globex,2025-01-20,nobody\n"
    paths = [write(tmp_path / "leads.csv", leads), write(tmp_path / "won.csv", WON)]
    summary = run_import(
        session, "csv", paths, mapping=write(tmp_path / "m.yaml", mapping), as_of=AS_OF
    )
    assert summary.rejected == 0
    (owner,) = session.scalars(select(Rep)).all()
    assert (owner.external_id, owner.name) == ("house", "House")
    assert {o.owner_id for o in deals(session).values()} == {owner.id}
    assert any("2 opportunities row(s) got the default owner 'House'" in n for n in summary.notes)


def test_a_join_key_missing_from_either_file_stops_the_import_before_anything_is_written(
    session: Session, tmp_path: Path
) -> None:
    mapping, paths = funnel(tmp_path, won="Lead,Won Date\nL1,2025-02-14\n")
    with pytest.raises(ValidationFailed) as failure:
        run_import(session, "csv", paths, mapping=mapping, as_of=AS_OF)
    (problem,) = failure.value.problems
    assert problem.location == "files[0].join.on"
    assert "join key column 'lead_id' is not in won.csv (the file has: Lead, Won Date)" in str(
        problem.message
    )
    leftless = MAPPING.replace("{left: Lead ID, right: lead_id}", "{left: Lead, right: lead_id}")
    mapping, paths = funnel(tmp_path, mapping=leftless)
    with pytest.raises(ValidationFailed, match=r"join key column 'Lead' is not in leads\.csv"):
        run_import(session, "csv", paths, mapping=mapping, as_of=AS_OF)
    assert session.scalars(select(Opportunity)).first() is None


def test_duplicate_keys_in_the_joined_file_are_an_error_with_count_and_examples(
    session: Session, tmp_path: Path
) -> None:
    won = WON + "L1,2025-02-20\nL3,2025-03-01\nL3,2025-03-02\n"
    mapping, paths = funnel(tmp_path, won=won)
    with pytest.raises(ValidationFailed) as failure:
        run_import(session, "csv", paths, mapping=mapping, as_of=AS_OF)
    message = failure.value.problems[0].message
    assert "2 key(s) appear more than once in the joined file (3 repeated row(s)" in message
    assert "'L1' on lines 2 and 5" in message
    assert "`duplicates: first` or `last`" in message
    # allowed explicitly: the first row of each key wins, and the summary says so
    first = MAPPING.replace("on: {left", "duplicates: first\n      on: {left")
    mapping, paths = funnel(tmp_path, mapping=first, won=won)
    summary = run_import(session, "csv", paths, mapping=mapping, as_of=AS_OF)
    assert deals(session)["L1"].close_date == date(2025, 2, 14)
    warning = summary.warning("join_duplicates")
    assert warning is not None
    assert warning.count == 3


def test_a_column_in_both_files_needs_a_prefix_and_the_prefix_names_the_joined_columns(
    session: Session, tmp_path: Path
) -> None:
    won = "lead_id,Company,Won Date\nL1,Acme Corp,2025-02-14\n"
    mapping, paths = funnel(tmp_path, won=won)
    in_both = r"column 'Company' is in both leads\.csv and won\.csv"
    with pytest.raises(ValidationFailed, match=in_both):
        run_import(session, "csv", paths, mapping=mapping, as_of=AS_OF)
    prefixed = (
        MAPPING.replace("on: {left", "as: won\n      on: {left")
        .replace("if_present: Won Date", "if_present: won.Won Date")
        .replace("{column: Won Date}", "{column: won.Won Date}")
        .replace('"{Company}"', '"{won.Company}", "{Company}"')
    )
    mapping, paths = funnel(tmp_path, mapping=prefixed, won=won)
    run_import(session, "csv", paths, mapping=mapping, as_of=AS_OF)
    found = deals(session)
    assert (found["L1"].name, found["L1"].stage.name) == ("Acme Corp", "Closed Won")
    assert (found["L3"].name, found["L3"].stage.name) == ("Initech", "Prospecting")


def test_rejected_joined_rows_are_written_with_the_main_files_columns_only(
    session: Session, tmp_path: Path
) -> None:
    mapping, paths = funnel(tmp_path, won=WON.replace("2025-03-18", "18.03.2025"))
    rejects = tmp_path / "rejects.csv"
    summary = run_import(session, "csv", paths, mapping=mapping, as_of=AS_OF, rejects=rejects)
    assert summary.tables["opportunities"].rejected == 1
    with rejects.open(newline="") as handle:
        (row,) = list(csv.DictReader(handle))
    assert list(row)[4:] == ["Lead ID", "Company", "First Contact"]
    assert row["Lead ID"] == "L3"
    assert "close_date: bad date '18.03.2025'" in row["_reason"]


def test_a_file_without_owners_gives_new_deals_the_default_owner_and_keeps_existing_owners(
    session: Session, tmp_path: Path
) -> None:
    from tests.ingest.test_event_times import MAPPING as TWO_FILES
    from tests.ingest.test_event_times import files as two_files

    mapping, paths = two_files(tmp_path)
    write(
        mapping,
        TWO_FILES.replace(
            "          owner: Rep\n          stage: {value: Closed",
            "          stage: {value: Closed",
        ),
    )
    write(paths[2], "Lead ID,Company,Rep,Won Date\nL1,Acme,,2025-02-14\nL5,Hooli,,2025-03-01\n")
    summary = run_import(session, "csv", paths, mapping=mapping, as_of=AS_OF)
    assert summary.rejected == 0
    owners = {o.external_id: session.get(Rep, o.owner_id).name for o in deals(session).values()}  # type: ignore[union-attr]
    assert owners == {
        "L1": "Ana Alves",  # created by the leads file with its rep, closed by the won file
        "L2": "Ana Alves",
        "L3": "Ana Alves",
        "L4": "Ana Alves",
        "L5": "Unassigned",  # only in the won file
    }


def test_a_join_without_its_file_stops_the_import_and_names_the_pattern(
    session: Session, tmp_path: Path
) -> None:
    mapping, paths = funnel(tmp_path)
    with pytest.raises(ValidationFailed) as failure:
        run_import(session, "csv", paths[:1], mapping=mapping, as_of=AS_OF)
    (problem,) = failure.value.problems
    assert (problem.location, problem.message) == (
        "files[0].join",
        "no file given matches won*.csv",
    )


def test_hashed_ids_ignore_the_joined_columns_so_new_joined_data_updates_the_same_deals(
    session: Session, tmp_path: Path
) -> None:
    hashed = MAPPING.replace("        key: Lead ID\n", "        key: $hash\n")
    mapping, paths = funnel(tmp_path, mapping=hashed, won="lead_id,Won Date\n")
    run_import(session, "csv", paths, mapping=mapping, as_of=AS_OF)
    assert {o.stage.name for o in deals(session).values()} == {"Prospecting"}
    write(paths[1], WON)
    summary = run_import(session, "csv", paths, mapping=mapping, as_of=AS_OF)
    counts = summary.tables["opportunities"]
    assert (counts.inserted, counts.updated, counts.unchanged) == (0, 2, 2)
    assert sorted(o.stage.name for o in deals(session).values()) == [
        "Closed Won",
        "Closed Won",
        "Prospecting",
        "Prospecting",
    ]


def test_a_misspelt_joined_column_is_missing_and_the_message_lists_the_joined_ones(
    session: Session, tmp_path: Path
) -> None:
    typo = MAPPING.replace("if_present: Won Date", "if_present: Won date")
    mapping, paths = funnel(tmp_path, mapping=typo)
    with pytest.raises(ValidationFailed) as failure:
        run_import(session, "csv", paths, mapping=mapping, as_of=AS_OF)
    (problem,) = failure.value.problems
    assert problem.message == (
        "missing column 'Won date' needed by opportunities (the file has: Lead ID, Company,"
        " First Contact; joined: lead_id, Won Date)"
    )
