"""The playbook file: a valid one parses; a bad one names every problem with its location."""

from __future__ import annotations

from pathlib import Path

import pytest

from salesops.errors import ValidationFailed
from salesops.playbooks.definition import load_playbook, parse_playbook

STAGES = ["Prospecting", "Qualification", "Discovery", "Proposal", "Negotiation", "Closed Won"]
SHIPPED = Path(__file__).resolve().parents[2] / "src/salesops/playbooks/meddicc.yaml"


def test_the_shipped_meddicc_playbook_parses_with_its_stages_in_funnel_order() -> None:
    playbook, source = load_playbook(SHIPPED, stage_names=STAGES)
    assert playbook.methodology == "MEDDICC"
    assert [p.stage for p in playbook.stages] == STAGES[:5]
    discovery = playbook.play("Discovery")
    assert discovery is not None
    assert discovery.enforcement == "block"
    assert [i.key for i in discovery.checklist] == [
        "economic_buyer",
        "decision_criteria",
        "decision_process",
    ]
    assert playbook.play("Qualification").enforcement == "warn"  # type: ignore[union-attr]
    assert "MEDDICC" in source


def test_a_bad_playbook_reports_every_problem_with_its_location() -> None:
    data = {
        "methodology": "X",
        "enforcement": "maybe",
        "colour": "red",
        "stages": {
            "Discovry": {},
            "Proposal": {
                "exit": {
                    "fields": ["amount", "budget"],
                    "checklist": ["champion", {"key": "champion"}],
                    "activities": [{"kind": "fax", "at_least": 0}],
                },
                "links": [{"title": "x", "url": "ftp://x"}],
            },
        },
    }
    with pytest.raises(ValidationFailed) as caught:
        parse_playbook(data, stage_names=STAGES, name="x.yaml")
    where = {p.location for p in caught.value.problems}
    assert where == {
        "x.yaml: colour",  # an unknown key is located at itself
        "x.yaml: enforcement",
        "x.yaml: stages.Discovry",
        "x.yaml: stages.Proposal.exit.fields[1]",
        "x.yaml: stages.Proposal.exit.checklist[1]",
        "x.yaml: stages.Proposal.exit.activities[0].kind",
        "x.yaml: stages.Proposal.exit.activities[0].at_least",
        "x.yaml: stages.Proposal.links[0].url",
    }
    text = str(caught.value)
    assert "unknown stage 'Discovry'" in text
    assert "unknown field 'budget'" in text


def test_problems_in_a_file_name_their_line(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(
        "methodology: X\nstages:\n  Proposal:\n    exit:\n      fields: [amount, budget]\n",
        encoding="utf-8",
    )
    with pytest.raises(ValidationFailed) as caught:
        load_playbook(path, stage_names=STAGES)
    assert [p.location for p in caught.value.problems] == [
        "p.yaml:5: stages.Proposal.exit.fields[1]"
    ]


def test_a_file_that_is_not_yaml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("methodology: X\nstages:\n  Proposal: [unclosed\n", encoding="utf-8")
    with pytest.raises(ValidationFailed) as caught:
        load_playbook(path, stage_names=STAGES)
    assert caught.value.problems[0].location.startswith("bad.yaml:")
    assert "not valid YAML" in str(caught.value)
