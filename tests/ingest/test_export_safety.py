"""`salesops export` as CSV cannot carry a spreadsheet formula (text cells are quoted, and the
quote is taken off again on import), and never writes through a symlink left in the directory."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from salesops.db import session_scope
from salesops.ingest import export_database, run_import
from salesops.models import Account, Lead
from tests.conftest import scratch_url
from tests.databases import migrated_engine
from tests.factories import T0, make_account
from tests.ingest.conftest import deals_files
from tests.ingest.test_import_csv import T1, opp

FORMULAS = ['=HYPERLINK("x")', "+1", "-2+3", "@SUM(A1)", "'=already quoted", "'plain quote"]


@pytest.fixture
def empty_engine(engine: Engine, tmp_path: Path) -> Iterator[Engine]:
    target = migrated_engine(scratch_url(engine.dialect.name, tmp_path, "safety"))
    yield target
    target.dispose()


def test_a_csv_export_quotes_formulas_and_the_import_restores_the_text_exactly(
    session: Session, empty_engine: Engine, tmp_path: Path
) -> None:
    ids = []
    for i, name in enumerate(FORMULAS):
        account = make_account(session, name=name)
        account.longitude = -73.5 - i  # a legitimate negative number
        account.annual_revenue = Decimal("-1500.25")
        ids.append(account.id)
    session.add(Lead(first_name="=1+1", attributes={"note": "-2+3"}, created_at=T0))
    session.flush()
    manifest = export_database(session, tmp_path / "out", format="csv")
    assert manifest["csv_formulas_escaped"] is True

    with (tmp_path / "out" / "accounts.csv").open(encoding="utf-8", newline="") as handle:
        written = {r["id"]: r for r in csv.DictReader(handle)}
    cells = [written[str(i)] for i in ids]
    assert [c["name"] for c in cells] == [
        '\'=HYPERLINK("x")',
        "'+1",
        "'-2+3",
        "'@SUM(A1)",
        "''=already quoted",
        "'plain quote",  # not a formula: left as it is
    ]
    # Numbers are not text: a negative longitude or revenue stays a number a sheet can add up.
    assert [c["longitude"] for c in cells[:2]] == ["-73.5", "-74.5"]
    assert {c["annual_revenue"] for c in cells} == {"-1500.25"}
    with (tmp_path / "out" / "leads.csv").open(encoding="utf-8", newline="") as handle:
        lead = next(csv.DictReader(handle))
    assert lead["first_name"] == "'=1+1"

    with session_scope(empty_engine) as target:
        run_import(target, "salesops", [tmp_path / "out"])
    with session_scope(empty_engine) as target:
        restored = {a.id: a for a in target.scalars(select(Account))}
        assert [restored[i].name for i in ids] == FORMULAS
        assert restored[ids[0]].longitude == -73.5
        assert restored[ids[0]].annual_revenue == Decimal("-1500.25")
        found = target.scalars(select(Lead)).one()
        assert (found.first_name, found.attributes) == ("=1+1", {"note": "-2+3"})


def test_an_old_csv_export_without_the_escape_is_imported_as_written(
    session: Session, empty_engine: Engine, tmp_path: Path
) -> None:
    account = make_account(session, name="'=kept")
    session.flush()
    export_database(session, tmp_path / "out", format="csv")
    manifest_path = tmp_path / "out" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    del manifest["csv_formulas_escaped"]  # as exports before the escape wrote it
    manifest_path.write_text(json.dumps(manifest))
    with session_scope(empty_engine) as target:
        run_import(target, "salesops", [tmp_path / "out"])
    with session_scope(empty_engine) as target:
        restored = target.get(Account, account.id)
        assert restored is not None
        assert restored.name == "''=kept"  # the file's text: no quote is taken off


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_an_export_replaces_symlinks_in_the_directory_instead_of_writing_through_them(
    session: Session, tmp_path: Path, fmt: str
) -> None:
    make_account(session, name="Acme")
    session.flush()
    out = tmp_path / "out"
    out.mkdir()
    victims = {}
    for name in (f"accounts.{fmt}", "manifest.json"):
        victim = tmp_path / f"victim-{name}"
        victim.write_text("precious\n")
        (out / name).symlink_to(victim)
        victims[name] = victim
    export_database(session, out, format=fmt)
    for name, victim in victims.items():
        assert victim.read_text() == "precious\n", name  # the target is untouched
        assert not (out / name).is_symlink(), name  # the export wrote its own file
    assert json.loads((out / "manifest.json").read_text())["format"] == fmt
    assert not list(out.glob(".*.tmp"))  # no temporary files left behind


def test_a_rejects_file_quotes_formulas_and_importing_it_again_restores_them(
    session: Session, tmp_path: Path
) -> None:
    mapping, files = deals_files(
        tmp_path,
        """\
        id,name,rep,stage,amount,close,created
        d1,"=HYPERLINK(""x"")",r1,Prospecting,-5,31/03/2025,2025-01-10
        d2,@SUM(A1),r1,Prospecting,-2+3,31/03/2025,2025-01-10
        """,
    )
    rejects = tmp_path / "rejects.csv"
    summary = run_import(session, "csv", files, mapping=mapping, as_of=T1, rejects=rejects)
    assert summary.rejected == 2
    with rejects.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["name"], r["amount"]) for r in rows] == [
        ('\'=HYPERLINK("x")', "-5"),  # a negative number stays a number
        ("'@SUM(A1)", "'-2+3"),
    ]
    # Fix the amounts, keep the names, import the rejects file again with the same mapping.
    fixed = tmp_path / "deals-fixed.csv"
    with rejects.open(newline="") as src, fixed.open("w", newline="") as out:
        reader = csv.DictReader(src)
        writer = csv.DictWriter(out, fieldnames=list(reader.fieldnames or []))
        writer.writeheader()
        for row in reader:
            writer.writerow(row | {"amount": "100"})
    again = run_import(session, "csv", [files[0], fixed], mapping=mapping, as_of=T1)
    assert again.rejected == 0
    assert opp(session, "d1").name == '=HYPERLINK("x")'
    assert opp(session, "d2").name == "@SUM(A1)"
