"""Why the model thinks a deal is at risk: the features whose typical value would help most.

For each feature, the deal's value is replaced by what is typical for open deals (median, or
most common category) and the win probability recomputed; the features whose replacement
raises the probability most are the deal's top reasons, phrased for a sales manager.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from salesops.forecasting.features import FEATURES, REASONS
from salesops.forecasting.ml import SPEC
from salesops.learning import ablation

MIN_EFFECT = 0.01  # a reason must move the probability by at least one point


def _describe(feature: str, row: pd.Series) -> str:
    value = row[feature]
    words = REASONS.get(feature, feature)
    if feature == "pushes":
        return f"close date pushed {int(value)} time{'s' if value != 1 else ''}"
    if feature == "days_since_activity" and np.isfinite(value):
        return f"no activity for {int(value)} days"
    if feature == "days_in_stage":
        return f"{int(value)} days in {row['stage']}"
    if feature == "age_days":
        return f"open for {int(value)} days"
    if feature == "days_to_close" and np.isfinite(value):
        if value < 0:
            return f"close date passed {int(-value)} days ago"
        return f"close date in {int(value)} days"
    if feature == "segment_code":
        return f"{row.get('segment') or 'unknown'} segment"
    if feature == "owner_win_rate":
        return f"owner wins {value:.0%} of closed deals"
    if feature == "team_win_rate":
        return f"team wins {value:.0%} of closed deals"
    if feature == "stage_code":
        return f"still in {row['stage']}"
    return words


def top_reasons(
    rows: pd.DataFrame,
    predict: Callable[[pd.DataFrame], np.ndarray],
    reference: pd.DataFrame,
    *,
    count: int = 3,
) -> list[list[str]]:
    """Up to `count` plain-language reasons per row of `rows` (deal features, one horizon):
    the features whose typical value would raise the probability most (the shared ablation
    of `salesops.learning`, read from the side of what holds the deal back)."""
    if rows.empty:
        return []
    effects = -ablation(rows, predict, reference, SPEC)
    out: list[list[str]] = []
    for i in range(len(rows)):
        order = np.argsort(-effects[i])
        row = rows.iloc[i]
        reasons = [
            _describe(FEATURES[j], row) for j in order[:count] if effects[i, j] >= MIN_EFFECT
        ]
        out.append(reasons)
    return out
