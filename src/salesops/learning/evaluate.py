"""How good a trained model is, measured on rows it did not learn from, against baselines.

The hold-out is time-ordered when the rows have dates (the model learns from what was known
before a cut-off and is scored on what came after); otherwise stratified k-fold
cross-validation, every row scored once by a model that did not see it. The baselines are the
training base rate (a constant) and a logistic regression on the same features.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from salesops.learning.model import FeatureSpec, Params, fit

EPS = 1e-6


@dataclass(frozen=True)
class Scores:
    """Proper scores of probabilities against outcomes (lower Brier and log loss are better)."""

    rows: int
    positives: int
    auc: float | None
    brier: float
    log_loss: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "positives": self.positives,
            "auc": None if self.auc is None else round(self.auc, 4),
            "brier": round(self.brier, 4),
            "log_loss": round(self.log_loss, 4),
        }


def scores(y: np.ndarray, p: np.ndarray) -> Scores:
    """AUC (None with a single class), Brier score and log loss of `p` against 0/1 `y`."""
    y = np.asarray(y, dtype="float64")
    p = np.clip(np.asarray(p, dtype="float64"), EPS, 1 - EPS)
    auc = None
    if 0 < y.sum() < len(y):
        from sklearn.metrics import roc_auc_score

        auc = float(roc_auc_score(y, p))
    return Scores(
        rows=len(y),
        positives=int(y.sum()),
        auc=auc,
        brier=float(np.mean((p - y) ** 2)),
        log_loss=float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))),
    )


def _groups(p: np.ndarray, bins: int) -> np.ndarray:
    """Equal-count groups by descending probability (0 = highest scores)."""
    order = np.argsort(-p, kind="stable")
    group = np.empty(len(p), dtype="int64")
    group[order] = np.arange(len(p)) * bins // max(len(p), 1)
    return group


def calibration_table(y: np.ndarray, p: np.ndarray, *, bins: int = 10) -> list[dict[str, Any]]:
    """Per equal-count bin of predictions (lowest first): rows, mean predicted, observed rate."""
    y, p = np.asarray(y, dtype="float64"), np.asarray(p, dtype="float64")
    bins = max(1, min(bins, len(p)))
    group = _groups(p, bins)
    out = []
    for g in range(bins - 1, -1, -1):
        inside = group == g
        if inside.any():
            out.append(
                {
                    "rows": int(inside.sum()),
                    "predicted": round(float(p[inside].mean()), 4),
                    "observed": round(float(y[inside].mean()), 4),
                }
            )
    return out


def lift_table(y: np.ndarray, p: np.ndarray, *, bins: int = 10) -> list[dict[str, Any]]:
    """Per equal-count bin, highest scores first: its rate over the overall rate (lift) and
    the share of all positives found down to it (cumulative capture)."""
    y, p = np.asarray(y, dtype="float64"), np.asarray(p, dtype="float64")
    bins = max(1, min(bins, len(p)))
    group = _groups(p, bins)
    base = float(y.mean()) if len(y) else 0.0
    total = float(y.sum())
    out, found = [], 0.0
    for g in range(bins):
        inside = group == g
        rate = float(y[inside].mean()) if inside.any() else 0.0
        found += float(y[inside].sum())
        out.append(
            {
                "bin": g + 1,
                "rows": int(inside.sum()),
                "rate": round(rate, 4),
                "lift": round(rate / base, 3) if base > 0 else None,
                "captured": round(found / total, 4) if total > 0 else None,
            }
        )
    return out


@dataclass(frozen=True)
class Evaluation:
    """The model and its baselines scored on the same held-out rows."""

    design: str  # "time-ordered hold-out" or "5-fold cross-validation"
    train_rows: int
    test_rows: int
    model: Scores
    base_rate: Scores
    logistic: Scores
    calibration: list[dict[str, Any]]
    lift: list[dict[str, Any]]
    cutoff: str | None = None
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "design": self.design,
            "cutoff": self.cutoff,
            "train_rows": self.train_rows,
            "test_rows": self.test_rows,
            "model": self.model.as_dict(),
            "base_rate": self.base_rate.as_dict(),
            "logistic": self.logistic.as_dict(),
            "calibration": self.calibration,
            "lift": self.lift,
            "notes": self.notes,
        }


def logistic_baseline(
    train: pd.DataFrame, y: np.ndarray, spec: FeatureSpec
) -> Callable[[pd.DataFrame], np.ndarray]:
    """A logistic regression on the same features: numbers median-imputed and standardised,
    categories one-hot (unseen ones ignored). Returns its predict function."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    def prepared(frame: pd.DataFrame) -> pd.DataFrame:
        out = pd.DataFrame(index=frame.index)
        for name in spec.numeric:
            out[name] = pd.to_numeric(frame[name], errors="coerce").astype("float64")
        for name in spec.categorical:
            out[name] = frame[name].astype(object).where(frame[name].notna(), "(none)").astype(str)
        return out

    steps = []
    train_frame = prepared(train)
    numeric = [n for n in spec.numeric if train_frame[n].notna().any()]
    if numeric:
        steps.append(
            ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric)
        )
    if spec.categorical:
        steps.append(("cat", OneHotEncoder(handle_unknown="ignore"), list(spec.categorical)))
    pipe = make_pipeline(ColumnTransformer(steps), LogisticRegression(C=1.0, max_iter=1000))
    pipe.fit(train_frame, y)
    return lambda frame: np.asarray(pipe.predict_proba(prepared(frame))[:, 1], dtype="float64")


def _calibration_mask(
    n: int, order: np.ndarray | None, seed: int, groups: np.ndarray | None = None
) -> np.ndarray:
    """The last fifth (by time when `order` is given), else a seeded random fifth of the
    rows, or of the `groups` (every row of a group on the same side)."""
    mask = np.zeros(n, dtype=bool)
    count = n // 5
    if count == 0:
        return mask
    if groups is not None and order is None:
        distinct = np.unique(groups)
        chosen = np.random.default_rng(seed).choice(distinct, len(distinct) // 5, replace=False)
        return np.isin(groups, chosen)
    if order is not None:
        mask[np.argsort(order, kind="stable")[-count:]] = True
    else:
        mask[np.random.default_rng(seed).choice(n, count, replace=False)] = True
    return mask


def fit_calibrated(
    frame: pd.DataFrame,
    labels: np.ndarray,
    spec: FeatureSpec,
    *,
    params: Params,
    order: np.ndarray | None = None,
    groups: np.ndarray | None = None,
) -> Any:
    """Fit with the latest fifth of the rows (by `order`), else a random fifth (of the
    `groups` when given: several rows of one deal) held out for calibration: what `train`
    does and what `evaluate` measures."""
    mask = _calibration_mask(len(frame), order, params.seed, groups)
    return fit(frame, labels, spec, params=params, calibration_rows=mask)


def _score_all(
    y_test: np.ndarray, p: np.ndarray, base: np.ndarray, logit: np.ndarray
) -> tuple[Scores, Scores, Scores]:
    constant = scores(y_test, base)
    # A constant ranks nothing: AUC 0.5 by definition (pooled over folds, the folds'
    # slightly different constants would rank by fold, which means nothing).
    constant = replace(constant, auc=0.5 if constant.auc is not None else None)
    return scores(y_test, p), constant, scores(y_test, logit)


def evaluate(
    frame: pd.DataFrame,
    labels: np.ndarray,
    spec: FeatureSpec,
    *,
    params: Params | None = None,
    known_at: np.ndarray | None = None,
    order: np.ndarray | None = None,
    groups: np.ndarray | None = None,
    holdout: float = 0.25,
    folds: int = 5,
    bins: int = 10,
) -> Evaluation:
    """Score the model and its baselines on rows it did not learn from.

    With `known_at` (when each row's outcome became known, datetime64), the rows whose
    outcome came last (`holdout` of the distinct dates) are the test set and the model learns
    only from rows known before the first of them. Without it, `folds`-fold stratified
    cross-validation (rows of one of `groups` kept in one fold). `order` orders rows in time
    for the calibration split; `groups` (e.g. the deal of each row) keeps a group's rows on
    one side of it.
    """
    params = params or Params()
    y = np.asarray(labels, dtype="int64")
    notes: list[str] = []
    if known_at is not None and not np.all(np.isnat(known_at)):
        stamps = np.asarray(known_at, dtype="M8[ns]")
        distinct = np.unique(stamps[~np.isnat(stamps)])
        cutoff = distinct[int(len(distinct) * (1 - holdout))]
        test = stamps >= cutoff
        train = ~test
        model = fit_calibrated(
            frame[train],
            y[train],
            spec,
            params=params,
            order=None if order is None else order[train],
            groups=None if groups is None else groups[train],
        )
        p = model.predict(frame[test]) if model else np.full(test.sum(), y[train].mean())
        base = np.full(test.sum(), y[train].mean() if train.any() else 0.5)
        logit = logistic_baseline(frame[train], y[train], spec)(frame[test])
        m, b, lg = _score_all(y[test], p, base, logit)
        return Evaluation(
            design="time-ordered hold-out",
            cutoff=str(pd.Timestamp(cutoff).date()),
            train_rows=int(train.sum()),
            test_rows=int(test.sum()),
            model=m,
            base_rate=b,
            logistic=lg,
            calibration=calibration_table(y[test], p, bins=bins),
            lift=lift_table(y[test], p, bins=bins),
            notes=notes,
        )
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    p = np.zeros(len(y))
    base = np.zeros(len(y))
    logit = np.zeros(len(y))
    if groups is None:
        splits = StratifiedKFold(n_splits=folds, shuffle=True, random_state=params.seed).split(
            np.zeros(len(y)), y
        )
    else:
        splits = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=params.seed).split(
            np.zeros(len(y)), y, groups
        )
    for train_idx, test_idx in splits:
        train_frame, test_frame = frame.iloc[train_idx], frame.iloc[test_idx]
        model = fit_calibrated(
            train_frame,
            y[train_idx],
            spec,
            params=params,
            groups=None if groups is None else groups[train_idx],
        )
        p[test_idx] = model.predict(test_frame) if model else y[train_idx].mean()
        base[test_idx] = y[train_idx].mean()
        logit[test_idx] = logistic_baseline(train_frame, y[train_idx], spec)(test_frame)
    notes.append("no dates: every row scored once by a model fitted on the other folds")
    m, b, lg = _score_all(y, p, base, logit)
    return Evaluation(
        design=f"{folds}-fold cross-validation",
        train_rows=int(len(y) - len(y) // folds),
        test_rows=len(y),
        model=m,
        base_rate=b,
        logistic=lg,
        calibration=calibration_table(y, p, bins=bins),
        lift=lift_table(y, p, bins=bins),
        notes=notes,
    )
