"""The gradient-boosting win model: fitted on training rows, calibrated isotonically.

Pure: takes the labelled training rows and returns the fitted model, no database access.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from salesops.forecasting.features import CATEGORICAL, FEATURES


def fit_model(rows: pd.DataFrame, *, seed: int, max_training_rows: int) -> Any:
    """The gradient-boosting model and its isotonic calibration, or None if too little data."""
    if len(rows) < 50 or rows["label"].nunique() < 2:
        return None
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.isotonic import IsotonicRegression

    rng = np.random.default_rng(seed)
    if len(rows) > max_training_rows:
        keep = np.sort(rng.choice(len(rows), max_training_rows, replace=False))
        rows = rows.iloc[keep]
    newest = rows["snapshot"] == rows["snapshot"].max()
    calibrate = rows["snapshot"].nunique() > 2 and newest.sum() >= 200
    fit_rows = rows[~newest] if calibrate else rows
    if fit_rows["label"].nunique() < 2:
        fit_rows, calibrate = rows, False
    model = HistGradientBoostingClassifier(
        max_iter=150,
        learning_rate=0.08,
        max_leaf_nodes=15,
        min_samples_leaf=40,
        l2_regularization=1.0,
        categorical_features=[FEATURES.index(c) for c in CATEGORICAL],
        random_state=seed,
    )
    with warnings.catch_warnings(), _threads(len(fit_rows)):
        warnings.simplefilter("ignore")
        model.fit(_matrix(fit_rows), fit_rows["label"].to_numpy())
    iso = None
    if calibrate:
        held = rows[newest]
        if held["label"].nunique() == 2:
            iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0)
            # One thread here too: left to OpenMP's default, this prediction of a few
            # thousand rows cost ~1 s of spinning per fit on a busy 2-core machine.
            with _threads(len(held)):
                held_p = model.predict_proba(_matrix(held))[:, 1]
            iso.fit(held_p, held["label"].to_numpy())
    return (model, iso)


def predict(fitted: Any, rows: pd.DataFrame) -> np.ndarray:
    """Calibrated win probabilities of `rows` from a `fit_model` result (not None)."""
    model, iso = fitted
    with _threads(len(rows)):
        p = model.predict_proba(_matrix(rows))[:, 1]
    return np.asarray(iso.predict(p) if iso is not None else p, dtype="float64")


def _threads(rows: int) -> Any:
    """One OpenMP thread: on the small, busy machines salesops runs on, OpenMP's spinning
    threads cost far more than they save (measured: a 60k-row fit 30 s threaded, ~3 s not)."""
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

    return threadpool_limits(limits=1, user_api="openmp")


def _matrix(rows: pd.DataFrame) -> np.ndarray:
    matrix = rows[list(FEATURES)].to_numpy(dtype="float64")
    cat = [FEATURES.index(c) for c in CATEGORICAL]
    sub = matrix[:, cat]
    sub[sub < 0] = np.nan
    matrix[:, cat] = sub
    return matrix
