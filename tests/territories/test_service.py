"""Territories in the database: definitions saved and audited, checks, coverage as of a date."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from salesops.auth.scoping import system_scope
from salesops.models import AccountOwner, AuditEntry, Territory, TerritoryAssignment
from salesops.territories import service
from tests.factories import make_account, make_rep

YAML = """\
territories:
  - name: EMEA
    rules: {country: [DE, FR]}
  - name: DACH
    parent: EMEA
    rules: {country: [DE]}
  - name: France Big
    parent: EMEA
    rules: {country: [FR], employees: {min: 1000}}
  - name: France Retail
    parent: EMEA
    rules: {country: [FR], industry: [Retail]}
"""


def test_check_and_show_read_the_saved_definitions_and_effective_dated_coverage(
    session: Session, tmp_path: Path
) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(YAML, encoding="utf-8")
    service.save_definitions(session, path, scope=system_scope())
    de, fr, us = (make_account(session, name=n) for n in ("Berlin AG", "Paris SA", "Ohio Inc"))
    de.country, fr.country, us.country = "DE", "FR", "US"
    fr.employees, fr.industry = 5000, "Retail"
    session.flush()
    report = service.check(session)
    assert [a.name for a in report.unmatched] == ["Ohio Inc"]
    assert [(a.name, ts) for a, ts in report.conflicts] == [
        ("Paris SA", ("France Big", "France Retail"))
    ]
    assert report.placed == {"DACH": 1}
    dach = session.scalars(select(Territory).where(Territory.name == "DACH")).one()
    emea = session.get(Territory, dach.parent_id)
    assert emea is not None
    assert emea.name == "EMEA"
    old, new = make_rep(session, name="Old Rep"), make_rep(session, name="New Rep")
    session.add_all(
        [
            TerritoryAssignment(
                rep_id=old.id,
                territory_id=dach.id,
                valid_from=date(2025, 1, 1),
                valid_to=date(2026, 1, 1),
            ),
            TerritoryAssignment(
                rep_id=new.id, territory_id=dach.id, valid_from=date(2026, 1, 1), valid_to=None
            ),
            AccountOwner(
                account_id=de.id,
                rep_id=old.id,
                valid_from=date(2025, 1, 1),
                valid_to=date(2026, 1, 1),
            ),
            AccountOwner(
                account_id=de.id, rep_id=new.id, valid_from=date(2026, 1, 1), valid_to=None
            ),
        ]
    )
    session.flush()
    before = service.show(session, "DACH", as_of=date(2025, 6, 1), scope=system_scope())
    after = service.show(session, "DACH", as_of=date(2026, 6, 1), scope=system_scope())
    assert [r[1] for r in before.reps] == ["Old Rep"]
    assert [r[1] for r in after.reps] == ["New Rep"]
    assert before.accounts == [(de.id, "Berlin AG", "Old Rep")]
    assert after.accounts == [(de.id, "Berlin AG", "New Rep")]
    assert service.show(session, "EMEA", as_of=date(2026, 6, 1), scope=system_scope()).accounts == [
        (de.id, "Berlin AG", "New Rep")
    ]
    audited = session.scalars(select(AuditEntry.entity_id).where(AuditEntry.entity == "territory"))
    assert sorted(audited) == ["DACH", "EMEA", "France Big", "France Retail"]


def test_rules_stored_as_plain_attributes_place_accounts_like_a_territory_file(
    session: Session,
) -> None:
    # The demo, imports and the records API store {"region": "NA", "segment": "SMB"}; read as
    # empty rules, every account matched every leaf (nine-way conflicts on the demo).
    na = Territory(name="North America", rules={"region": "NA"})
    session.add(na)
    session.flush()
    session.add_all(
        [
            Territory(name="NA SMB", parent_id=na.id, rules={"region": "NA", "segment": "SMB"}),
            Territory(name="NA Enterprise", parent_id=na.id, rules={"segment": ["Enterprise"]}),
        ]
    )
    small, big, abroad = (make_account(session, name=n) for n in ("Small", "Big", "Abroad"))
    small.region, small.segment = "NA", "SMB"
    big.region, big.segment = "NA", "Enterprise"
    abroad.region, abroad.segment = "EMEA", "SMB"
    session.flush()
    report = service.check(session)
    assert report.placed == {"NA Enterprise": 1, "NA SMB": 1}
    assert [a.name for a in report.unmatched] == ["Abroad"]
    assert report.conflicts == []
