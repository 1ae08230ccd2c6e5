"""Mappings are validated completely, before any row is read, with every problem located."""

from __future__ import annotations

from pathlib import Path

import pytest

from salesops.errors import ValidationFailed
from salesops.ingest.mapping import load_mapping, parse_mapping
from salesops.ingest.sources import builtin_mapping, builtin_names
from tests.ingest.conftest import write


def test_every_problem_of_a_mapping_is_reported_at_once_with_its_location() -> None:
    data = {
        "source_system": "x",
        "currency": "euro",
        "files": [
            {
                "match": "a.csv",
                "format": {"header": False, "encoding": "ebcdic"},
                "outputs": [
                    {
                        "target": "opportunities",
                        "key": "id",
                        "fields": {
                            "name": "title",
                            "owner": {"column": "rep", "lookup": "email"},
                            "amount": {"column": "value", "pattern": "(["},
                            "colour": "c",
                        },
                    },
                    {"target": "planets", "key": "id", "fields": {"name": "n"}},
                ],
            }
        ],
    }
    with pytest.raises(ValidationFailed) as failure:
        parse_mapping(data, name="m.yaml")
    found = {(p.location, p.message.split(" (")[0]) for p in failure.value.problems}
    assert ("m.yaml: currency", "expected a 3-letter ISO code, got 'EURO'") in found
    assert (
        "m.yaml: files[0].format.encoding",
        "expected one of auto, cp1252, latin-1, utf-8, utf-8-sig",
    ) in found
    assert (
        "m.yaml: files[0].format.columns",
        "a file without a header row needs `columns`",
    ) in found
    assert (
        "m.yaml: files[0].outputs[0].fields.owner.lookup",
        "expected external_id or name",
    ) in found
    assert any(loc == "m.yaml: files[0].outputs[0].fields.amount.pattern" for loc, _ in found)
    assert any(msg.startswith("opportunities has no field 'colour'") for _, msg in found)
    assert ("m.yaml: files[0].outputs[0].fields", "opportunities needs the field 'stage'") in found
    assert any(loc == "m.yaml: files[0].outputs[1].target" for loc, _ in found)
    assert len(failure.value.problems) >= 8


def test_invalid_yaml_points_at_the_line(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.yaml", "source_system: x\nfiles: [\n  - match: a\n")
    with pytest.raises(ValidationFailed, match=r"bad.yaml:\d+"):
        load_mapping(path)


@pytest.mark.parametrize("name", builtin_names())
def test_every_builtin_mapping_is_valid(name: str) -> None:
    assert builtin_mapping(name).source_system == name


@pytest.mark.parametrize("name", ["salvirt.yaml", "adventureworks.yaml"])
def test_the_example_mappings_are_valid(name: str) -> None:
    examples = Path(__file__).resolve().parents[2] / "docs" / "examples"
    assert load_mapping(examples / name).files
