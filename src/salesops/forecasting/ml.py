"""The forecast's `ml` method: the shared deal model (`salesops.learning`) on the forecasting
features, with the newest past snapshot held out for isotonic calibration.

Pure: takes the labelled training rows and returns the fitted model, no database access.
Deal scoring (`salesops.deals`) fits the same model class on its own features.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesops.forecasting.features import CATEGORICAL, NUMERIC
from salesops.learning import FeatureSpec, FittedModel, Params, fit

SPEC = FeatureSpec(numeric=NUMERIC, categorical=CATEGORICAL)
MIN_CALIBRATION_ROWS = 200  # the newest snapshot must hold this many rows to calibrate on


def fit_model(rows: pd.DataFrame, *, seed: int, max_training_rows: int) -> FittedModel | None:
    """The gradient-boosting model and its isotonic calibration, or None if too little data."""
    if len(rows) < 50 or rows["label"].nunique() < 2:
        return None
    rng = np.random.default_rng(seed)
    if len(rows) > max_training_rows:
        keep = np.sort(rng.choice(len(rows), max_training_rows, replace=False))
        rows = rows.iloc[keep]
    newest = (rows["snapshot"] == rows["snapshot"].max()).to_numpy()
    held = newest if rows["snapshot"].nunique() > 2 else None
    return fit(
        rows,
        rows["label"].to_numpy(dtype="int64"),
        SPEC,
        params=Params(seed=seed),
        calibration_rows=held,
        calibration="isotonic",
        min_calibration_rows=MIN_CALIBRATION_ROWS,
    )


def predict(fitted: FittedModel, rows: pd.DataFrame) -> np.ndarray:
    """Calibrated win probabilities of `rows` from a `fit_model` result (not None)."""
    return fitted.predict(rows)
