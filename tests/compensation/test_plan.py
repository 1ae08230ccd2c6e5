"""Plan files: every problem reported at once with its file, line and field."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from salesops.compensation.plan import load_plan
from salesops.errors import ValidationFailed

BAD = """\
plan: ae
version: 2
effective_from: 2026-01-01
colour: blue
crediting:
  event: invoice
rules:
  - name: commission
    semantics: sideways
    tiers:
      - {from: 0, to: 100, rate: 5%}
      - {from: 90, to: 200, rate: 10%}
      - {from: 250, rate: 12%}
"""


def test_every_problem_names_file_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "ae.yaml"
    path.write_text(BAD)
    with pytest.raises(ValidationFailed) as caught:
        load_plan(path)
    found = {(p.location, p.message.split(" (")[0]) for p in caught.value.problems}
    assert ("ae.yaml:4: colour", "unknown key 'colour'") in found
    assert any(loc == "ae.yaml:6: crediting.event" for loc, _ in found)
    assert any(loc == "ae.yaml:9: rules[0].semantics" for loc, _ in found)
    assert ("ae.yaml:12: rules[0].tiers[1].from", "overlaps the tier before") in found
    assert ("ae.yaml:13: rules[0].tiers[2].from", "leaves a gap after the tier before") in found
    assert len(caught.value.problems) == 5


def test_a_valid_plan_is_versioned_effective_dated_and_checksummed(tmp_path: Path) -> None:
    path = tmp_path / "ae.yaml"
    path.write_text(
        "plan: ae\nversion: 3\neffective_from: 2026-01-01\neffective_to: 2026-12-31\n"
        "assign: [{role: sales_rep, quota: 250000}]\n"
        "rules: [{name: c, tiers: [{from: 0, rate: 10%}]}]\n"
    )
    plan = load_plan(path)
    assert plan.key == "ae@v3"
    assert plan.rules[0].tiers[0].rate == Decimal("0.1")
    assert plan.assignments[0].role == "sales_rep"
    assert plan.assignments[0].quota == Decimal(250000)
    assert len(plan.checksum) == 64
    assert plan.effective_to is not None
    assert plan.in_force(plan.effective_to)
    assert not plan.in_force(plan.effective_to.replace(year=2027))


def test_yaml_syntax_error_points_at_the_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("plan: ae\nrules: [\n  - name: x\n")
    with pytest.raises(ValidationFailed, match=r"broken.yaml:\d+"):
        load_plan(path)
