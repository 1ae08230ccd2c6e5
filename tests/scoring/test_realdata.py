"""Deal scoring on real data: the Salvirt B2B deals and the Maven CRM deals (../shared/data).

The figures asserted are the ones measured (docs/deal-scoring.md), both databases alike:
- Salvirt (448 closed deals, no dates, 20 qualification attributes imported as custom
  attributes): 5-fold cross-validation, identical deals kept in one fold. Gradient boosting
  AUC 0.808, Brier 0.180 against the base rate's 0.252; the logistic regression does as well
  (AUC 0.799, Brier 0.183) on so few deals.
- Maven (8,800 deals, engage and close dates, closes recorded as events): the time-ordered
  hold-out finds no signal: AUC 0.52 against the logistic regression's 0.54, and a log loss no
  better than the base rate's. What Maven records about a deal before it closes (product,
  account, agent, days open) does not predict whether it is won.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from salesops.ingest import run_import
from salesops.scoring import service
from tests.conftest import shared_data

pytestmark = pytest.mark.realdata
SALVIRT_MAPPING = Path(__file__).with_name("salvirt.yaml")


def test_salvirt_deals_are_scored_from_their_custom_attributes(session: Session) -> None:
    path = shared_data("salvirt_b2b_sales/Salvirt_B2B_ML_dataset.csv")
    summary = run_import(session, "csv", [path], mapping=SALVIRT_MAPPING)
    assert summary.tables["opportunities"].inserted == 448
    prepared, result = service.evaluate(session)
    assert prepared.mode == "final-state"  # no dates, no history
    assert prepared.deals == 448
    assert sum(1 for n in prepared.spec.categorical if n.startswith("attr:")) == 20
    assert result.design == "5-fold cross-validation"
    assert result.model.positives == 227
    assert result.model.auc == pytest.approx(0.808, abs=0.01)
    assert result.model.brier < 0.19
    assert result.base_rate.brier == pytest.approx(0.251, abs=0.002)
    assert result.model.log_loss < result.base_rate.log_loss - 0.12
    # On 448 deals of categories the logistic regression does as well (measured 0.799).
    assert result.logistic.auc == pytest.approx(0.80, abs=0.02)
    # The top tenth of scores wins 1.75 times the base rate; the top 40% hold 62% of the wins.
    assert result.lift[0]["lift"] >= 1.5
    assert result.lift[3]["captured"] >= 0.6


def test_maven_deals_have_no_signal_before_they_close(session: Session) -> None:
    folder = shared_data("maven_crm_sales_opportunities/sales_pipeline.csv").parent
    run_import(session, "maven", [folder])
    prepared, result = service.evaluate(session)
    assert prepared.mode == "history"  # the mapping's lifecycle records every close
    assert result.design == "time-ordered hold-out"
    assert result.cutoff == "2017-10-16"
    assert result.model.auc is not None
    assert 0.48 <= result.model.auc <= 0.56
    assert result.logistic.auc is not None
    assert result.logistic.auc <= 0.56
    # No better than the base rate, and not much worse: calibrated, with nothing to learn.
    assert result.model.log_loss == pytest.approx(result.base_rate.log_loss, abs=0.01)
    assert result.model.brier == pytest.approx(result.base_rate.brier, abs=0.002)
