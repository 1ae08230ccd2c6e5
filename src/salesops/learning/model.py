"""The fitted classifier every trained model in salesops is: gradient boosting on a declared
feature set, calibrated on rows it did not learn from, explained per record.

Pure: plain frames in, plain arrays out, no database access. Deal scoring, the forecast's
`ml` method and its risk reasons use this one class; lead scoring and churn risk are meant to.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

MAX_CATEGORIES = 250  # HistGradientBoosting bins a categorical into at most 255 codes
Calibration = Literal["isotonic", "sigmoid", "auto", "none"]


@dataclass(frozen=True)
class FeatureSpec:
    """Which columns of a frame the model reads: numbers as they are, categories as codes.

    A categorical column may hold strings (coded by the vocabulary learnt at fit time; unseen
    values become missing) or non-negative integer codes (negative means missing).
    """

    numeric: tuple[str, ...]
    categorical: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return self.numeric + self.categorical

    def as_dict(self) -> dict[str, list[str]]:
        return {"numeric": list(self.numeric), "categorical": list(self.categorical)}


@dataclass(frozen=True)
class Params:
    """Hyperparameters of the boosted trees (stored with every trained model)."""

    max_iter: int = 150
    learning_rate: float = 0.08
    max_leaf_nodes: int = 15
    min_samples_leaf: int = 40
    l2_regularization: float = 1.0
    seed: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def threads() -> Any:
    """One OpenMP thread: on the small, busy machines salesops runs on, OpenMP's spinning
    threads cost far more than they save (measured: a 60k-row fit 30 s threaded, ~3 s not)."""
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

    return threadpool_limits(limits=1, user_api="openmp")


@dataclass
class FittedModel:
    """A fitted, calibrated classifier and everything needed to read new rows like its own."""

    spec: FeatureSpec
    params: Params
    estimator: Any
    calibrator: Any  # IsotonicRegression, a (slope, intercept) pair for sigmoid, or None
    vocab: dict[str, list[str]] = field(default_factory=dict)
    base_rate: float = 0.5
    rows: int = 0
    typical: dict[str, Any] = field(default_factory=dict)  # median / most common value
    # Per feature, the values of the training rows as (value, weight) pairs: deciles of a
    # number, the most common categories of a category. What contributions compare with.
    background: dict[str, list[tuple[Any, float]]] = field(default_factory=dict)

    def matrix(self, frame: pd.DataFrame) -> np.ndarray:
        """The numeric matrix the estimator reads (categories coded, unknowns missing)."""
        return _matrix(frame, self.spec, self.vocab)

    def raw(self, frame: pd.DataFrame) -> np.ndarray:
        """Uncalibrated probabilities of the positive class."""
        if frame.empty:
            return np.zeros(0)
        with threads():
            return np.asarray(self.estimator.predict_proba(self.matrix(frame))[:, 1], "float64")

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Calibrated probabilities of the positive class, one per row of `frame`."""
        return calibrate(self.calibrator, self.raw(frame))

    def contributions(
        self, frame: pd.DataFrame, reference: pd.DataFrame | None = None
    ) -> np.ndarray:
        """Per row and feature (spec order): how much the row's own value of the feature
        moves its score compared with the values that feature takes in `reference` (by
        default, the rows the model was fitted on); see `marginal_ablation`.

        Measured on the uncalibrated score: calibration is monotone, so it does not change
        which way a feature pushes, but isotonic calibration is a step function that would
        hide most single-feature changes inside one step.
        """
        background = self.background if reference is None else backgrounds(reference, self.spec)
        return marginal_ablation(frame, self.raw, background, self.spec)


def calibrate(calibrator: Any, raw: np.ndarray) -> np.ndarray:
    """Apply a calibrator produced by `fit` to raw scores."""
    if calibrator is None:
        return raw
    if isinstance(calibrator, tuple):
        slope, intercept = calibrator
        logit = np.log(np.clip(raw, 1e-6, 1 - 1e-6) / np.clip(1 - raw, 1e-6, 1))
        return np.asarray(1 / (1 + np.exp(-(slope * logit + intercept))), dtype="float64")
    return np.asarray(calibrator.predict(raw), dtype="float64")


def _vocabulary(values: pd.Series) -> list[str]:
    counts = values.dropna().astype(str).value_counts(sort=True)
    # The most frequent first, ties by name: the same data gives the same codes.
    ordered = sorted(((str(k), int(v)) for k, v in counts.items()), key=lambda kv: (-kv[1], kv[0]))
    return sorted(name for name, _ in ordered[:MAX_CATEGORIES])


def _is_text(values: pd.Series) -> bool:
    return values.dtype == object or isinstance(values.dtype, pd.StringDtype)


def _matrix(frame: pd.DataFrame, spec: FeatureSpec, vocab: dict[str, list[str]]) -> np.ndarray:
    columns = []
    for name in spec.numeric:
        numbers = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype="float64")
        columns.append(np.where(np.isfinite(numbers), numbers, np.nan))
    for name in spec.categorical:
        series = frame[name]
        coded = np.full(len(series), np.nan)
        if name in vocab:
            lookup = {v: float(i) for i, v in enumerate(vocab[name])}
            known = series.notna().to_numpy()
            mapped = series[known].astype(str).map(lookup)
            coded[known] = mapped.to_numpy(dtype="float64")
        else:
            coded = pd.to_numeric(series, errors="coerce").to_numpy(dtype="float64")
            coded[coded < 0] = np.nan
        columns.append(coded)
    if not columns:
        return np.zeros((len(frame), 0))
    return np.column_stack(columns)


def fit(
    frame: pd.DataFrame,
    labels: np.ndarray,
    spec: FeatureSpec,
    *,
    params: Params | None = None,
    calibration_rows: np.ndarray | None = None,
    calibration: Calibration = "auto",
    min_calibration_rows: int = 30,
) -> FittedModel | None:
    """Fit gradient boosting on `frame[spec.names]` against 0/1 `labels`.

    `calibration_rows` (a boolean mask) holds rows out of the fit to calibrate the scores on:
    isotonic regression ("isotonic"), a logistic curve on the log-odds ("sigmoid"), or
    isotonic from 200 held-out rows and sigmoid below ("auto"). Without enough held-out rows
    of both classes the model is fitted on every row and left uncalibrated. None when the
    labels have a single class.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier

    params = params or Params()
    y = np.asarray(labels, dtype="int64")
    if len(y) == 0 or len(np.unique(y)) < 2:
        return None
    vocab = {name: _vocabulary(frame[name]) for name in spec.categorical if _is_text(frame[name])}
    held = (
        np.zeros(len(y), dtype=bool) if calibration_rows is None else np.asarray(calibration_rows)
    )
    usable = (
        calibration != "none"
        and held.sum() >= min_calibration_rows
        and len(np.unique(y[held])) == 2
        and len(np.unique(y[~held])) == 2
    )
    if not usable:
        held = np.zeros(len(y), dtype=bool)
    fit_frame = frame[~held]
    estimator = HistGradientBoostingClassifier(
        max_iter=params.max_iter,
        learning_rate=params.learning_rate,
        max_leaf_nodes=params.max_leaf_nodes,
        min_samples_leaf=params.min_samples_leaf,
        l2_regularization=params.l2_regularization,
        categorical_features=list(range(len(spec.numeric), len(spec.names))) or None,
        random_state=params.seed,
    )
    with warnings.catch_warnings(), threads():
        warnings.simplefilter("ignore")
        estimator.fit(_matrix(fit_frame, spec, vocab), y[~held])
    model = FittedModel(
        spec=spec,
        params=params,
        estimator=estimator,
        calibrator=None,
        vocab=vocab,
        base_rate=float(y.mean()),
        rows=len(y),
        typical=typical_values(frame, spec),
        background=backgrounds(frame, spec),
    )
    if usable:
        raw = model.raw(frame[held])
        method = calibration
        if method == "auto":
            method = "isotonic" if held.sum() >= 200 else "sigmoid"
        model.calibrator = _calibrator(method, raw, y[held])
    return model


def _calibrator(method: str, raw: np.ndarray, y: np.ndarray) -> Any:
    if method == "isotonic":
        from sklearn.isotonic import IsotonicRegression

        iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0)
        iso.fit(raw, y)
        return iso
    from sklearn.linear_model import LogisticRegression

    logit = np.log(np.clip(raw, 1e-6, 1 - 1e-6) / np.clip(1 - raw, 1e-6, 1)).reshape(-1, 1)
    platt = LogisticRegression(C=1.0).fit(logit, y)
    return (float(platt.coef_[0, 0]), float(platt.intercept_[0]))


def typical_values(reference: pd.DataFrame, spec: FeatureSpec) -> dict[str, Any]:
    """The value each feature is compared against: the median number, the most common
    category (features with no known value in `reference` are left out)."""
    out: dict[str, Any] = {}
    for name in spec.names:
        column = reference[name].dropna()
        if name in spec.numeric:
            column = pd.to_numeric(column, errors="coerce").dropna()
        if column.empty:
            continue
        out[name] = column.mode().iloc[0] if name in spec.categorical else column.median()
    return out


def ablation(
    frame: pd.DataFrame,
    predict: Callable[[pd.DataFrame], np.ndarray],
    reference: pd.DataFrame | dict[str, Any],
    spec: FeatureSpec,
) -> np.ndarray:
    """Contribution of each feature to each row's probability, by ablation.

    For feature j, the row's value is replaced by the typical value of `reference` (median
    or most common category; or `reference` is already those values) and the probability
    recomputed; the contribution is the row's probability minus that one. Positive: the
    row's own value helps. It is exact for what it says (one feature changed, the others
    kept) and ignores interactions between features.
    """
    out = np.zeros((len(frame), len(spec.names)))
    if frame.empty:
        return out
    base = predict(frame)
    typical = reference if isinstance(reference, dict) else typical_values(reference, spec)
    for name, value in typical.items():
        changed = frame.copy()
        changed[name] = value
        out[:, spec.names.index(name)] = base - predict(changed)
    return out


def backgrounds(
    reference: pd.DataFrame, spec: FeatureSpec, *, size: int = 10
) -> dict[str, list[tuple[Any, float]]]:
    """Per feature, `size` values standing for its distribution in `reference`, weighted:
    the deciles' midpoints of a number (missing values as their share), the most common
    categories of a category (the rest as missing)."""
    out: dict[str, list[tuple[Any, float]]] = {}
    total = max(len(reference), 1)
    for name in spec.names:
        column = reference[name]
        if name in spec.numeric:
            numbers = pd.to_numeric(column, errors="coerce").astype("float64")
            known = numbers.dropna()
            pairs: list[tuple[Any, float]] = []
            if len(known):
                qs = np.quantile(known.to_numpy(), (np.arange(size) + 0.5) / size)
                pairs = [(float(q), len(known) / total / size) for q in qs]
        else:
            counts = column.dropna().value_counts()
            known = column.dropna()
            pairs = [(value, count / total) for value, count in counts.head(size).items()]
        missing = 1.0 - sum(w for _, w in pairs)
        if missing > 1e-9:
            pairs.append((np.nan, missing))
        out[name] = pairs
    return out


def marginal_ablation(
    frame: pd.DataFrame,
    predict: Callable[[pd.DataFrame], np.ndarray],
    background: dict[str, list[tuple[Any, float]]],
    spec: FeatureSpec,
) -> np.ndarray:
    """Contribution of each feature to each row's score, against the feature's distribution.

    For feature j, the row's score is recomputed with the feature set to each background
    value (the others kept) and averaged with the values' weights; the contribution is the
    row's score minus that average. Positive: the row's own value helps compared with what
    the feature usually is. Interactions between features are not split out.
    """
    out = np.zeros((len(frame), len(spec.names)))
    if frame.empty:
        return out
    base = predict(frame)
    for name, pairs in background.items():
        if not pairs:
            continue
        changed = pd.concat([frame] * len(pairs), ignore_index=True)
        changed[name] = np.repeat(np.array([v for v, _ in pairs], dtype=object), len(frame))
        if name in spec.numeric:
            changed[name] = pd.to_numeric(changed[name], errors="coerce")
        scores = predict(changed).reshape(len(pairs), len(frame))
        weights = np.array([w for _, w in pairs])
        expected = weights @ scores / weights.sum()
        out[:, spec.names.index(name)] = base - expected
    return out


def top_features(
    contributions: np.ndarray, spec: FeatureSpec, *, count: int = 3, min_effect: float = 0.01
) -> list[list[tuple[str, float]]]:
    """Per row, up to `count` (feature, contribution) pairs moving the probability most
    (by absolute size, at least `min_effect`)."""
    out = []
    for row in contributions:
        order = np.argsort(-np.abs(row), kind="stable")
        out.append(
            [(spec.names[j], float(row[j])) for j in order[:count] if abs(row[j]) >= min_effect]
        )
    return out
