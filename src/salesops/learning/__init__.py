"""Trained models: fitted on what was known at a date, stored with version, parameters and
data fingerprint, evaluated on a hold-out, explained per record.

One mechanism for every model salesops trains (deal scoring, the forecast's `ml` method and
its risk reasons; lead scoring and churn risk next). The public API, kept backward compatible:

- `FeatureSpec(numeric, categorical)`, `Params(...)`: what the model reads and how it fits.
- `fit(frame, labels, spec, params=, calibration_rows=, calibration=)` -> `FittedModel`
  (or None with one class); `FittedModel.predict(frame)` gives calibrated probabilities,
  `FittedModel.contributions(frame)` per-feature effects against each feature's training
  distribution (`marginal_ablation`), `top_features(contributions, spec)` the largest per
  row; `ablation(frame, predict, reference, spec)` the same against one typical value.
- `fit_calibrated(frame, labels, spec, params=, groups=)`: a fifth of the rows (of the
  groups) held out for calibration.
- `evaluate(frame, labels, spec, known_at=, groups=)` -> `Evaluation`: AUC, Brier, log loss,
  calibration and lift tables, against the base rate and a logistic regression, on a
  time-ordered hold-out (with `known_at`) or by (grouped) cross-validation.
- `fingerprint(frame, labels)`, `save(session, name, model, as_of=, fingerprint=, metrics=)`,
  `latest(session, name)`, `load(row)`: the `trained_models` table.
"""

from salesops.learning.evaluate import (
    Evaluation,
    Scores,
    calibration_table,
    evaluate,
    fit_calibrated,
    lift_table,
    scores,
)
from salesops.learning.model import (
    FeatureSpec,
    FittedModel,
    Params,
    ablation,
    backgrounds,
    fit,
    marginal_ablation,
    threads,
    top_features,
    typical_values,
)
from salesops.learning.store import dumps, fingerprint, latest, load, loads, save

__all__ = [
    "Evaluation",
    "FeatureSpec",
    "FittedModel",
    "Params",
    "Scores",
    "ablation",
    "backgrounds",
    "calibration_table",
    "dumps",
    "evaluate",
    "fingerprint",
    "fit",
    "fit_calibrated",
    "latest",
    "lift_table",
    "load",
    "loads",
    "marginal_ablation",
    "save",
    "scores",
    "threads",
    "top_features",
    "typical_values",
]
