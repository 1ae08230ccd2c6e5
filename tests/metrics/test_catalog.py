"""The catalog: shipped definitions, user directories, validation and the generated reference."""

from __future__ import annotations

from pathlib import Path

import pytest

from salesops import metrics
from salesops.errors import NotFound, ValidationFailed
from salesops.metrics import docs
from salesops.metrics.definitions import load_catalog, validate_directory

REQUIRED = {
    "opportunities_created", "pipeline_value", "weighted_pipeline", "weighted_pipeline_rep",
    "weighted_pipeline_variance", "pipeline_coverage", "bookings", "win_rate", "win_rate_value",
    "stage_conversion", "lead_to_opportunity_rate", "proposal_close_rate", "lead_to_sale_rate",
    "sales_cycle_length", "sales_cycle_length_mean", "sales_cycle_length_all_closed",
    "average_deal_size", "median_deal_size", "time_in_stage", "pipeline_velocity",
    "quota_attainment", "quota_attainment_rate", "ramp_time", "forecast_wape", "forecast_bias",
    "forecast_mape", "gross_revenue_retention", "net_revenue_retention", "churn_rate",
    "competitor_win_rate", "stalled_deals",
}  # fmt: skip
DOCS = Path(__file__).resolve().parents[2] / "docs" / "metrics.md"

GOOD = """
metrics:
  big_deal_win_rate:
    label: Big deal win rate
    description: Win rate of deals of params.threshold or more.
    kind: ratio
    unit: ratio
    date: closed_on
    where: ["is_closed", "amount_rc >= params.threshold"]
    numerator: {agg: count, where: ["is_won"]}
    denominator: {agg: count}
    params: {threshold: 1000}
    definition:
      numerator: won deals of threshold or more
      denominator: closed deals of threshold or more
      date: close date
      population: closed deals at or above the threshold
      aggregation: count ratio
"""

BAD = """
metrics:
  broken_one:
    label: Broken
    description: refers to things that do not exist
    kind: ratio
    unit: ratio
    date: shipped_on
    where: ["colour == 'red'", "import os"]
    numerator: {agg: count, where: ["params.nope > 1"]}
    denominator: {agg: count}
    dimensions: [owner, planet]
    grains: [fortnight]
    definition:
      numerator: x
      date: y
      population: z
      aggregation: count
  broken_two:
    label: Broken too
    description: no definition and an unknown unit
    kind: formula
    unit: furlongs
    inputs: {a: not_a_metric}
"""


def test_the_shipped_catalog_holds_every_required_metric_with_a_written_definition() -> None:
    catalog = load_catalog()
    assert set(catalog.metrics) >= REQUIRED
    for metric in catalog:
        d = metric.definition
        assert all((d.numerator, d.date, d.population, d.aggregation)), metric.name
    names = [m.name for m in metrics.list_metrics()]
    assert names[0] == "opportunities_created"
    info = {m.name: m for m in metrics.list_metrics()}
    assert "team" in info["win_rate"].dimensions
    assert info["pipeline_coverage"].dimensions == ("owner", "manager", "team", "region")


def test_an_unknown_metric_names_the_known_ones() -> None:
    with pytest.raises(NotFound, match="win_rate"):
        metrics.get_definition("win_rat")


def test_a_user_directory_adds_metrics_next_to_the_shipped_ones(tmp_path: Path) -> None:
    (tmp_path / "mine.yaml").write_text(GOOD, encoding="utf-8")
    catalog = validate_directory(tmp_path)
    assert "big_deal_win_rate" in catalog.metrics
    assert "win_rate" in catalog.metrics


def test_validation_reports_every_problem_at_once_with_its_location(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(BAD, encoding="utf-8")
    (tmp_path / "worse.yaml").write_text("metrics: [unclosed", encoding="utf-8")
    with pytest.raises(ValidationFailed) as caught:
        validate_directory(tmp_path)
    problems = [str(p) for p in caught.value.problems]
    text = "\n".join(problems)
    for fragment in (
        "shipped_on",  # unknown date
        "colour",  # unknown column
        "import os",  # not an expression
        "params.nope",  # unknown parameter
        "planet",  # unknown dimension
        "fortnight",  # unknown grain
        "furlongs",  # unknown unit
        "broken_two: definition",  # missing written definition
        "worse.yaml:1",  # YAML syntax error, with its line
    ):
        assert fragment in text, fragment
    assert all("bad.yaml" in p or "worse.yaml" in p for p in problems)
    assert len(problems) >= 9


def test_docs_metrics_md_is_generated_from_the_catalog_and_up_to_date() -> None:
    assert DOCS.read_text(encoding="utf-8") == docs.render(), (
        "docs/metrics.md is stale: run `salesops metrics docs`"
    )


def test_each_kind_of_metric_compiles_to_sql_without_a_database() -> None:
    one_per_kind = {m.kind: m.name for m in load_catalog()}
    assert len(one_per_kind) == 9
    for name in one_per_kind.values():
        sql = metrics.compiled_sql(name, dialect="postgres")
        assert sql.lstrip().upper().startswith(("SELECT", "WITH")), name
