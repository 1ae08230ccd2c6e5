"""Importing CSV with a mapping: validation, rejects, idempotency, history from diffs."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from salesops.errors import ValidationFailed
from salesops.ingest import run_import
from salesops.models import Opportunity, OpportunityEvent, Rep
from salesops.pipeline.history import pipeline_as_of
from tests.ingest.conftest import deals_files, write

T1 = datetime(2025, 3, 1, tzinfo=UTC)
T2 = datetime(2025, 4, 1, tzinfo=UTC)

GOOD = """\
id,name,rep,stage,amount,close,created
d1,Alpha,r1,Prospecting,1000,31/03/2025,2025-01-10
d2,Beta,r2,Won,2500.50,15/02/2025,2025-01-05
d3,Gamma,r1,Proposal Sent,700,30/04/2025,2025-02-01
"""


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def opp(session: Session, external_id: str) -> Opportunity:
    return session.scalars(select(Opportunity).where(Opportunity.external_id == external_id)).one()


def test_a_clean_file_is_imported_with_every_field_converted(
    session: Session, tmp_path: Path
) -> None:
    mapping, files = deals_files(tmp_path, GOOD)
    summary = run_import(session, "csv", files, mapping=mapping, as_of=T1)
    assert summary.tables["reps"].inserted == 2
    assert summary.tables["opportunities"].inserted == 3
    assert summary.rejected == 0
    beta = opp(session, "d2")
    assert beta.amount == Decimal("2500.50")
    assert beta.stage.name == "Closed Won"
    assert beta.close_date.isoformat() == "2025-02-15"
    assert beta.created_at == datetime(2025, 1, 5, tzinfo=UTC)
    assert beta.closed_at == datetime(2025, 2, 15, tzinfo=UTC)
    assert beta.forecast_category == "closed"
    assert session.get(Rep, beta.owner_id).name == "Ben Berg"  # type: ignore[union-attr]
    assert opp(session, "d3").stage.name == "Proposal"
    # only the current state is known: no history is invented for new deals
    assert summary.tables["opportunity_events"].inserted == 0


def test_importing_the_same_files_twice_changes_nothing(session: Session, tmp_path: Path) -> None:
    mapping, files = deals_files(tmp_path, GOOD)
    run_import(session, "csv", files, mapping=mapping, as_of=T1)
    events = count(session, OpportunityEvent)
    again = run_import(session, "csv", files, mapping=mapping, as_of=T2)
    assert again.tables["opportunities"].unchanged == 3
    assert again.tables["reps"].unchanged == 2
    assert again.changed == 0
    assert count(session, OpportunityEvent) == events


def test_a_newer_export_updates_records_and_records_each_change_as_an_event(
    session: Session, tmp_path: Path
) -> None:
    mapping, files = deals_files(tmp_path, GOOD)
    run_import(session, "csv", files, mapping=mapping, as_of=T1)
    newer = GOOD.replace(
        "d1,Alpha,r1,Prospecting,1000,31/03/2025", "d1,Alpha,r2,Won,1200,28/03/2025"
    )
    write(files[1], newer)
    summary = run_import(session, "csv", files, mapping=mapping, as_of=T2)
    assert summary.tables["opportunities"].updated == 1
    assert summary.tables["opportunities"].unchanged == 2
    alpha = opp(session, "d1")
    changes = {
        e.field: (e.old_value, e.new_value, e.at)
        for e in session.scalars(
            select(OpportunityEvent).where(
                OpportunityEvent.opportunity_id == alpha.id, OpportunityEvent.field != "created"
            )
        )
    }
    r1, r2 = (
        session.scalars(select(Rep.id).where(Rep.external_id == k)).one() for k in ("r1", "r2")
    )
    # The file says when the deal closed: its closing changes are dated then; the owner's
    # change has no date of its own and is dated at the export.
    closed = datetime(2025, 3, 28, tzinfo=UTC)
    assert changes == {
        "stage": ("Prospecting", "Closed Won", closed),
        "amount": ("1000.00", "1200.00", closed),
        "close_date": ("2025-03-31", "2025-03-28", closed),
        "forecast_category": ("pipeline", "closed", closed),
        "owner": (str(r1), str(r2), T2),
    }
    # the history rebuilds the deal as it was between the two exports
    before = {s.id: s for s in pipeline_as_of(session, datetime(2025, 3, 15, tzinfo=UTC))}
    assert before[alpha.id].stage == "Prospecting"
    assert before[alpha.id].amount == Decimal("1000.00")
    assert before[alpha.id].owner_id == r1


def test_bad_rows_are_rejected_with_line_and_reason_and_good_rows_still_import(
    session: Session, tmp_path: Path
) -> None:
    mapping, files = deals_files(
        tmp_path,
        """\
        id,name,rep,stage,amount,close,created
        d1,Alpha,r1,Prospecting,1000,31/03/2025,2025-01-10
        d2,Beta,r1,Prospecting,-5,31/03/2025,2025-01-10
        d3,Gamma,r1,Prospecting,10,31/02/2025,2025-01-10
        d4,Delta,r1,Maybe Later,10,31/03/2025,2025-01-10
        d1,Alpha again,r1,Prospecting,1,31/03/2025,2025-01-10
        d5,Epsilon,r9,Prospecting,10,31/03/2025,2025-01-10
        d6,Zeta,r1
        ,Eta,r1,Prospecting,10,31/03/2025,2025-01-10
        """,
    )
    rejects = tmp_path / "rejects.csv"
    summary = run_import(session, "csv", files, mapping=mapping, as_of=T1, rejects=rejects)
    assert summary.tables["opportunities"].inserted == 1
    assert summary.tables["opportunities"].rejected == 7
    with rejects.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    reasons = {row["_line"]: row["_reason"] for row in rows}
    assert "amount: -5 is below the minimum of 0" in reasons["3"]
    assert "close_date: bad date '31/02/2025'" in reasons["4"]
    assert "unknown stage 'Maybe Later'" in reasons["5"]
    assert "duplicate id 'd1' (first on line 2)" in reasons["6"]
    assert "unknown owner 'r9'" in reasons["7"]
    assert "row has 3 fields but the file has 7 columns" in reasons["8"]
    assert "no id" in reasons["9"]
    # the original row comes back in its own columns, ready to fix and re-import
    assert rows[0]["name"] == "Beta"
    assert rows[0]["amount"] == "-5"
    assert {row["_file"] for row in rows} == {"deals.csv"}
    # and the summary counts like problems together, values left out
    reasons = dict(summary.reject_reasons)
    assert reasons["opportunities: amount: … is below the minimum of …"] == 1
    assert reasons["opportunities: close_date: bad date …"] == 1
    assert reasons["opportunities: unknown owner …"] == 1


def test_a_file_missing_mapped_columns_fails_before_anything_is_written(
    session: Session, tmp_path: Path
) -> None:
    mapping, files = deals_files(tmp_path, "id,name,stage\nd1,Alpha,Won\n")
    with pytest.raises(ValidationFailed) as failure:
        run_import(session, "csv", files, mapping=mapping, as_of=T1)
    messages = [str(p) for p in failure.value.problems]
    assert any("missing column 'rep'" in m for m in messages)
    assert any("missing column 'amount'" in m for m in messages)
    assert count(session, Rep) == 0


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "the file is empty"),
        (b"\x00\x01\x02binary\x00stuff", "binary file"),
        (b"PK\x03\x04rest-of-a-zip", "binary file"),
        (b'id,name,rep,stage,amount,close,created\nd1,"Alpha,r1,Won', "is the file truncated?"),
    ],
)
def test_empty_binary_and_truncated_files_give_a_clear_error_and_no_data(
    session: Session, tmp_path: Path, content: bytes, expected: str
) -> None:
    mapping, files = deals_files(tmp_path, "placeholder")
    files[1].write_bytes(content)
    with pytest.raises(ValidationFailed) as failure:
        run_import(session, "csv", files, mapping=mapping, as_of=T1)
    assert expected in str(failure.value)
    assert count(session, Rep) == 0
    assert count(session, Opportunity) == 0


def test_a_dry_run_counts_everything_and_writes_nothing(session: Session, tmp_path: Path) -> None:
    mapping, files = deals_files(tmp_path, GOOD)
    summary = run_import(session, "csv", files, mapping=mapping, as_of=T1, dry_run=True)
    assert summary.tables["opportunities"].inserted == 3
    assert summary.dry_run
    assert count(session, Opportunity) == 0
    assert count(session, Rep) == 0


def test_csv_without_a_mapping_and_unknown_sources_are_refused(session: Session) -> None:
    with pytest.raises(ValidationFailed, match="needs --mapping"):
        run_import(session, "csv", [Path("x.csv")])
    with pytest.raises(ValidationFailed, match="unknown source 'pipedrive'"):
        run_import(session, "pipedrive", [Path("x.csv")])


def test_a_name_that_must_be_unique_and_is_taken_is_a_reject_not_a_crash(
    session: Session, tmp_path: Path
) -> None:
    from salesops.models import Product

    session.add(Product(name="Widget", source_system="erp", external_id="W"))
    session.flush()
    mapping = write(
        tmp_path / "products.yaml",
        """\
        source_system: shop
        files:
          - match: products.csv
            outputs:
              - target: products
                key: sku
                fields: {name: title, list_price: price}
        """,
    )
    data = write(tmp_path / "products.csv", "sku,title,price\nA,Widget,5\nB,Gadget,7\nC,Gadget,8\n")
    rejects = tmp_path / "rejects.csv"
    summary = run_import(session, "csv", [data], mapping=mapping, as_of=T1, rejects=rejects)
    assert summary.tables["products"].inserted == 1
    assert summary.tables["products"].rejected == 2
    text = rejects.read_text()
    assert "name 'Widget' is already taken (by a row from erp)" in text
    assert "name 'Gadget' also on line 3" in text


def test_values_the_analytics_copy_cannot_hold_are_rejects_with_a_reason(
    session: Session, tmp_path: Path
) -> None:
    mapping, files = deals_files(
        tmp_path,
        """\
        id,name,rep,stage,amount,close,created
        d1,Alpha,r1,Prospecting,1000,31/03/2025,2025-01-10
        d2,Beta,r1,Prospecting,21489055625980145,31/03/2025,2025-01-10
        d3,Gamma,r1,Prospecting,10,31/12/9999,2025-01-10
        d4,Delta,r1,Prospecting,10,01/01/0505,2025-01-10
        """,
    )
    rejects = tmp_path / "rejects.csv"
    summary = run_import(session, "csv", files, mapping=mapping, as_of=T1, rejects=rejects)
    assert summary.tables["opportunities"].inserted == 1
    with rejects.open(newline="") as handle:
        reasons = {row["_line"]: row["_reason"] for row in csv.DictReader(handle)}
    assert "amount: 21489055625980145 is not a usable amount of money" in reasons["3"]
    assert "9999-12-31 is out of range" in reasons["4"]
    assert "0505-01-01 is out of range" in reasons["5"]


def test_a_nul_byte_deep_in_a_file_is_a_reject_on_every_database(
    session: Session, tmp_path: Path
) -> None:
    padding = "".join(f"p{i},Pad {i},r1,Prospecting,1,31/03/2025,2025-01-10\n" for i in range(200))
    mapping, files = deals_files(
        tmp_path,
        "id,name,rep,stage,amount,close,created\n"
        + padding
        + "d5,Ep\x00silon,r1,Prospecting,10,31/03/2025,2025-01-10\n",
    )
    rejects = tmp_path / "rejects.csv"
    summary = run_import(session, "csv", files, mapping=mapping, as_of=T1, rejects=rejects)
    assert summary.tables["opportunities"].inserted == 200
    with rejects.open(newline="") as handle:
        (row,) = list(csv.DictReader(handle))
    assert "name: contains a NUL character" in row["_reason"]


def test_a_header_that_names_a_mapped_column_twice_is_refused(
    session: Session, tmp_path: Path
) -> None:
    mapping, files = deals_files(
        tmp_path,
        """\
        id,name,rep,stage,amount,close,created,amount
        d1,Alpha,r1,Prospecting,1000,31/03/2025,2025-01-10,5
        """,
    )
    with pytest.raises(ValidationFailed, match="'amount' appears more than once"):
        run_import(session, "csv", files, mapping=mapping, as_of=T1)
    assert count(session, Opportunity) == 0
