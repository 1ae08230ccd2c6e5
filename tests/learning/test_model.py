"""The shared trained-model mechanism on small synthetic data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from salesops.learning import (
    FeatureSpec,
    Params,
    calibration_table,
    evaluate,
    fit,
    lift_table,
    scores,
    top_features,
)

SPEC = FeatureSpec(numeric=("x", "noise"), categorical=("colour",))
PARAMS = Params(max_iter=40, min_samples_leaf=10)


def synthetic(n: int = 600, seed: int = 1) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    colour = rng.choice(["red", "blue", "green"], size=n)
    logit = 1.5 * x + np.where(colour == "red", 1.0, 0.0)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    frame = pd.DataFrame({"x": x, "noise": rng.normal(size=n), "colour": colour})
    return frame, y


def test_scores_match_hand_computation() -> None:
    y = np.array([1, 0, 1, 0])
    p = np.array([0.9, 0.2, 0.6, 0.4])
    result = scores(y, p)
    assert result.auc == 1.0
    assert result.brier == pytest.approx((0.01 + 0.04 + 0.16 + 0.16) / 4)
    expected = -(np.log(0.9) + np.log(0.8) + np.log(0.6) + np.log(0.6)) / 4
    assert result.log_loss == pytest.approx(expected)


def test_calibration_and_lift_tables_count_every_row_once() -> None:
    y = np.array([1, 1, 0, 1, 0, 0])
    p = np.array([0.9, 0.8, 0.7, 0.4, 0.2, 0.1])
    lift = lift_table(y, p, bins=3)
    # Top third: 2 of 2 won against a base rate of 1/2 -> lift 2, two thirds captured.
    assert lift[0] == {"bin": 1, "rows": 2, "rate": 1.0, "lift": 2.0, "captured": 0.6667}
    assert lift[-1]["captured"] == 1.0
    table = calibration_table(y, p, bins=3)
    assert [b["rows"] for b in table] == [2, 2, 2]
    assert table[0]["observed"] == 0.0
    assert table[-1]["observed"] == 1.0


def test_the_model_learns_numbers_and_text_categories_and_explains_them() -> None:
    frame, y = synthetic()
    held = np.zeros(len(y), dtype=bool)
    held[-150:] = True
    model = fit(frame, y, SPEC, params=PARAMS, calibration_rows=held)
    assert model is not None
    assert model.calibrator is not None
    p = model.predict(frame)
    assert ((p >= 0) & (p <= 1)).all()
    assert scores(y, p).auc is not None
    assert scores(y, p).auc > 0.75
    # An unseen category and missing values are read as missing, not an error.
    odd = pd.DataFrame({"x": [np.nan], "noise": [0.0], "colour": ["purple"]})
    assert model.predict(odd).shape == (1,)
    high = pd.DataFrame({"x": [2.5], "noise": [0.0], "colour": ["blue"]})
    contributions = model.contributions(high, frame)
    top = top_features(contributions, SPEC, count=1)
    # A high x is what lifts this deal: the largest contribution, and a positive one.
    assert top[0][0][0] == "x"
    assert top[0][0][1] > 0.1


def test_one_class_gives_no_model() -> None:
    frame, _ = synthetic(100)
    assert fit(frame, np.ones(100, dtype=int), SPEC) is None


def test_evaluate_uses_a_time_ordered_holdout_when_dates_exist() -> None:
    frame, y = synthetic()
    known = np.datetime64("2024-01-01") + np.arange(len(y)).astype("m8[D]")
    result = evaluate(frame, y, SPEC, params=PARAMS, known_at=known.astype("M8[ns]"))
    assert result.design == "time-ordered hold-out"
    assert result.test_rows == 150
    assert result.train_rows == 450
    assert result.model.auc is not None
    assert result.model.auc > 0.7
    # A constant scores AUC 0.5 and a worse log loss than the model.
    assert result.base_rate.auc == 0.5
    assert result.model.log_loss < result.base_rate.log_loss
    assert result.logistic.auc is not None
    assert result.logistic.auc > 0.7


def test_evaluate_cross_validates_without_dates() -> None:
    frame, y = synthetic(300)
    result = evaluate(frame, y, SPEC, params=PARAMS, folds=3)
    assert result.design == "3-fold cross-validation"
    assert result.test_rows == 300
    assert result.model.auc is not None
    assert result.model.auc > 0.7
    assert sum(b["rows"] for b in result.calibration) == 300
