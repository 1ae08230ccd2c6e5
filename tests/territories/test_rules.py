"""Territory rules: attribute tests, hierarchy, named accounts, overlays, file problems."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from salesops.errors import ValidationFailed
from salesops.territories.rules import AccountFacts, load_definitions, parse_definitions, place

DEFS = {
    "territories": [
        {"name": "EMEA", "rules": {"country": ["DE", "FR", "AT"]}},
        {"name": "DACH", "parent": "EMEA", "rules": {"country": ["de", "AT"]}},
        {"name": "Munich", "parent": "DACH", "rules": {"postal_prefix": ["80", "81"]}},
        {
            "name": "France Enterprise",
            "parent": "EMEA",
            "rules": {"country": ["FR"], "employees": {"min": 1000}},
        },
        {
            "name": "France Retail",
            "parent": "EMEA",
            "rules": {"country": ["FR"], "industry": ["Retail"]},
        },
        {"name": "Strategic", "rules": {"accounts": ["Globex", "ext-9"]}},
        {
            "name": "Health overlay",
            "overlay": True,
            "covers": ["DACH"],
            "rules": {"industry": ["Healthcare"], "revenue": {"min": "1000000"}},
        },
    ]
}


def _acc(i: int, **kw: object) -> AccountFacts:
    return AccountFacts(id=i, name=str(kw.pop("name", f"A{i}")), **kw)  # type: ignore[arg-type]


def test_accounts_land_in_the_deepest_matching_territory_named_lists_first() -> None:
    h = parse_definitions(DEFS)
    assert place(h, _acc(1, country="DE", postal_code="80331")).territory == "Munich"
    assert place(h, _acc(2, country="AT", postal_code="1010")).territory == "DACH"
    assert place(h, _acc(3, country="FR", employees=50)).territory == "EMEA"
    assert place(h, _acc(4, country="US")).territory is None
    named = place(h, _acc(5, name="Globex", country="DE"))
    assert (named.territory, named.named) == ("Strategic", True)
    assert place(h, _acc(6, external_id="EXT-9", country="US")).territory == "Strategic"


def test_matches_on_two_branches_are_a_conflict_and_overlays_are_not() -> None:
    h = parse_definitions(DEFS)
    both = place(h, _acc(1, country="FR", employees=5000, industry="Retail"))
    assert (both.territory, both.conflicts) == (None, ("France Enterprise", "France Retail"))
    health = place(
        h,
        _acc(
            2, country="DE", postal_code="80999", industry="healthcare", revenue=Decimal("2000000")
        ),
    )
    assert (health.territory, health.overlays) == ("Munich", ("Health overlay",))
    # The overlay covers DACH only, and needs the revenue band.
    assert (
        place(h, _acc(3, country="FR", industry="Healthcare", revenue=Decimal("9000000"))).overlays
        == ()
    )
    assert place(h, _acc(4, country="DE", industry="Healthcare", revenue=None)).overlays == ()


def test_definition_problems_are_all_reported_with_file_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "terr.yaml"
    path.write_text(
        "territories:\n"
        "  - name: EMEA\n"
        "    rules:\n"
        "      country: [DE]\n"
        "      employes: {min: 1}\n"
        "  - name: DACH\n"
        "    parent: EMAE\n"
        "  - name: Big\n"
        "    rules:\n"
        "      revenue: {min: 10, max: 1}\n",
        encoding="utf-8",
    )
    with pytest.raises(ValidationFailed) as bad:
        load_definitions(path)
    where = {p.location for p in bad.value.problems}
    assert "terr.yaml:5: territories[0].rules.employes" in where
    assert "terr.yaml:10: territories[2].rules.revenue" in where
    path.write_text(
        path.read_text()
        .replace("      employes: {min: 1}\n", "")
        .replace("{min: 10, max: 1}", "{min: 1}"),
        encoding="utf-8",
    )
    with pytest.raises(ValidationFailed) as bad:
        load_definitions(path)
    assert [(p.location, p.message) for p in bad.value.problems] == [
        ("terr.yaml:6: territories[1].parent", "unknown parent 'EMAE'")
    ]


def test_a_cycle_and_a_duplicate_name_are_refused() -> None:
    with pytest.raises(ValidationFailed) as bad:
        parse_definitions(
            {
                "territories": [
                    {"name": "A", "parent": "B"},
                    {"name": "B", "parent": "A"},
                    {"name": "A"},
                ]
            }
        )
    messages = " | ".join(str(p) for p in bad.value.problems)
    assert "defined twice" in messages
    assert "own ancestor" in messages
