"""Month-start forecasts of won value on the real Maven CRM data, 2017-04 to 2017-12.

The data goes in through `salesops import maven`; every method runs with the same defaults
as on the demo company. The figures asserted are the ones achieved (docs/forecasting.md): the
issue's WAPE target (best WAPE <= 0.10) is NOT met by any method on this data, and these
tests say so rather than hide it (docs/forecasting.md quantifies why: what the first months of
history cannot know). The best method's P10-P90 coverage (70-90%) is met; its bias is not
(+0.086), run_rate's is (WAPE 0.124, bias +0.013).
"""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import date

import numpy as np
import pytest
from sqlalchemy.orm import Session

from salesops.forecasting import service
from salesops.forecasting.engine import METHODS, Options
from salesops.ingest import run_import
from tests.conftest import shared_data

pytestmark = pytest.mark.realdata

MONTHS = [date(2017, m, 1) for m in range(4, 13)]
# Achieved on this data (both databases give the same numbers): WAPE, |bias| ceilings.
ACHIEVED = {
    "stage_weighted": 1.745,  # measured 1.740 (1.736 before new business followed inflow)
    "historical": 0.285,  # 0.281 (0.275 before)
    "ml": 0.26,  # 0.255
    "run_rate": 0.13,  # 0.124
    "ensemble": 0.115,  # 0.111, the best
}
# Calibrated P10-P90 coverage, measured; stage_weighted's level is off by +174% on this data
# (Maven has no stage probabilities worth the name), so no interval within 4x covers it.
COVERAGE = {
    "stage_weighted": (0.2, 0.3),  # 0.22
    "historical": (0.6, 0.9),  # 0.67 (0.78 before new business followed inflow)
    "ml": (0.7, 0.9),  # 0.78
    "run_rate": (0.7, 0.9),  # 0.89
    "ensemble": (0.7, 0.9),  # 0.89
}


def monthly_won_from_csv() -> dict[date, float]:
    path = shared_data("maven_crm_sales_opportunities/sales_pipeline.csv")
    won: dict[date, float] = defaultdict(float)
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["deal_stage"] == "Won":
                closed = date.fromisoformat(row["close_date"])
                won[date(closed.year, closed.month, 1)] += float(row["close_value"])
    return won


def test_every_method_is_backtested_on_maven_and_scored_against_the_csv(session: Session) -> None:
    folder = shared_data("maven_crm_sales_opportunities/sales_pipeline.csv").parent
    run_import(session, "maven", [folder])
    scores = service.run_backtest(
        session,
        start=MONTHS[0],
        end=MONTHS[-1],
        methods=list(METHODS),
        options=Options(grain="month", horizon=1, sims=2000),
    )
    won = monthly_won_from_csv()
    actual = np.array([won[m] for m in MONTHS])
    results = {s.method: s.as_dict() for s in scores}
    for method, result in results.items():
        # Actuals come from the imported events and agree with the raw CSV to the cent.
        assert [p["actual"] for p in result["periods"]] == pytest.approx(actual.tolist())
        assert result["wape"] <= ACHIEVED[method], method
    # Baselines measured on exactly this task, from the CSV.
    last_month = np.array([won.get(date(m.year, m.month - 1, 1), 0.0) for m in MONTHS])
    baseline = float(np.abs(last_month - actual).sum() / actual.sum())
    assert baseline == pytest.approx(0.351, abs=0.001)
    best = min(results.values(), key=lambda r: r["wape"])
    assert best["method"] == "ensemble"
    assert best["wape"] < 0.20 < baseline
    # The target is not reached here: say so (see docs/forecasting.md).
    assert best["wape"] > 0.10
    assert abs(results["run_rate"]["bias"]) <= 0.05
    for method, result in results.items():
        low, high = COVERAGE[method]
        assert low <= result["coverage_p10_p90"] <= high, method
    ensemble = results["ensemble"]
    assert abs(ensemble["bias"]) < 0.10
    assert ensemble["brier"] < results["stage_weighted"]["brier"]
