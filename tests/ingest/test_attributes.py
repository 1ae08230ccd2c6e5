"""Custom fields: `attributes.<name>: Column` fills the typed attributes of deals and accounts."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from salesops.db.attributes import MAX_TEXT, attribute_problems
from salesops.errors import ValidationFailed
from salesops.ingest import run_import
from salesops.ingest.mapping import parse_mapping
from salesops.models import Account, Opportunity
from tests.ingest.conftest import write

T1 = datetime(2025, 3, 1, tzinfo=UTC)
MAPPING = """
version: 1
source_system: crm
files:
  - match: reps.csv
    outputs:
      - target: reps
        key: rep_id
        fields: {name: name}
  - match: accounts.csv
    outputs:
      - target: accounts
        key: id
        fields:
          name: name
          attributes.tier: Tier
  - match: deals.csv
    outputs:
      - target: opportunities
        key: id
        fields:
          name: name
          owner: rep
          account: account
          stage: {value: Prospecting}
          attributes.client_size: Client Size Code
          attributes.seats: {column: Seats, type: number}
          attributes.renewal: {column: Renewal, type: bool}
          attributes.signed_on: {column: Signed, type: date}
"""


def files(tmp_path: Path, deals: str) -> tuple[Path, list[Path]]:
    mapping = write(tmp_path / "mapping.yaml", MAPPING)
    reps = write(tmp_path / "reps.csv", "rep_id,name\nr1,Ann\n")
    accounts = write(tmp_path / "accounts.csv", "id,name,Tier\na1,Acme,Gold\na2,Bolt,\n")
    return mapping, [reps, accounts, write(tmp_path / "deals.csv", deals)]


def test_attribute_columns_land_typed_in_the_attributes_store(
    session: Session, tmp_path: Path
) -> None:
    mapping, paths = files(
        tmp_path,
        "id,name,rep,account,Client Size Code,Seats,Renewal,Signed\n"
        "d1,One,r1,a1,L,12,yes,2025-01-31\n"
        "d2,Two,r1,a2,,2.5,,\n",
    )
    summary = run_import(session, "csv", paths, mapping=mapping, as_of=T1)
    assert summary.rejected == 0
    deals = {o.external_id: o.attributes for o in session.scalars(select(Opportunity)).all()}
    assert deals["d1"] == {
        "client_size": "L",
        "seats": 12,
        "renewal": True,
        "signed_on": "2025-01-31",
    }
    assert deals["d2"] == {"seats": 2.5}  # empty cells are left out
    tiers = {a.external_id: a.attributes for a in session.scalars(select(Account)).all()}
    assert tiers == {"a1": {"tier": "Gold"}, "a2": None}


def test_a_value_of_the_wrong_type_rejects_its_row_naming_the_attribute(
    session: Session, tmp_path: Path
) -> None:
    mapping, paths = files(
        tmp_path,
        "id,name,rep,account,Client Size Code,Seats,Renewal,Signed\n"
        "d1,One,r1,a1,L,twelve,maybe,31/01/2025\n",
    )
    rejects = tmp_path / "rejects.csv"
    summary = run_import(session, "csv", paths, mapping=mapping, as_of=T1, rejects=rejects)
    assert summary.tables["opportunities"].rejected == 1
    with rejects.open(newline="") as handle:
        reason = next(csv.DictReader(handle))["_reason"]
    # Every problem of the row at once, each naming its attribute.
    assert "attributes.seats: 'twelve' is not a number" in reason
    assert "attributes.renewal: 'maybe' is not yes/no or true/false" in reason
    assert "attributes.signed_on: '31/01/2025' is not a date like 2025-03-31" in reason


def test_mapping_problems_name_the_attribute_field() -> None:
    data = {
        "version": 1,
        "source_system": "crm",
        "files": [
            {
                "match": "x.csv",
                "outputs": [
                    {
                        "target": "reps",
                        "key": "id",
                        "fields": {"name": "n", "attributes.size": "S"},
                    },
                    {
                        "target": "opportunities",
                        "key": "id",
                        "fields": {
                            "name": "n",
                            "owner": "o",
                            "attributes.bad name!": "B",
                            "attributes.seats": {"column": "S", "type": "integer"},
                        },
                    },
                ],
            }
        ],
    }
    with pytest.raises(ValidationFailed) as caught:
        parse_mapping(data)
    problems = {p.location: p.message for p in caught.value.problems}
    assert problems["mapping: files[0].outputs[0].fields.attributes.size"] == (
        "reps has no custom attributes"
    )
    assert (
        "must be 1 to 60 letters"
        in problems["mapping: files[0].outputs[1].fields.attributes.bad name!"]
    )
    assert problems["mapping: files[0].outputs[1].fields.attributes.seats.type"].startswith(
        "expected one of text, number, bool, date"
    )


def test_attribute_sizes_are_bounded() -> None:
    assert attribute_problems({"a": "x" * MAX_TEXT, "b": 1.5, "c": True, "d": None}) == []
    assert attribute_problems({"a": "x" * (MAX_TEXT + 1)}) == [
        f"attributes.a is longer than {MAX_TEXT} characters"
    ]
    assert attribute_problems({str(i): i for i in range(101)})[0] == (
        "at most 100 attributes (got 101)"
    )
    assert attribute_problems({"n": float("inf")}) == [
        "attributes.n must be a finite number within ±1e+12"
    ]
    assert attribute_problems({"l": [1, 2]}) == [
        "attributes.l must be text, a number or true/false"
    ]
