"""The forecasting pages' tables as CSV downloads (`salesops.web.export`): the rows each page
draws, with raw figures (amounts unrounded, probabilities and errors as fractions)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from salesops.web.export import table

table(
    "forecast.html",
    "rows",
    [
        (k, k)
        for k in (
            "period",
            "target",
            "booked",
            "p10",
            "p50",
            "p90",
            "expected",
            "from_pipeline",
            "run_rate",
            "chance",
        )
    ],
)
table(
    "forecast_accuracy.html",
    "rows",
    [
        (k, k)
        for k in ("method", "periods", "wape", "bias", "mape", "coverage", "width", "quantile_loss")
    ],
)
table(
    "forecast_calls.html",
    "rows",
    [
        ("level", "depth"),
        ("kind", "kind"),
        ("name", "name"),
        ("commit", "commit"),
        ("best_case", "best_case"),
        ("pipeline", "pipeline"),
        ("reps_commit", "rolled_up"),
        ("adjusted", "adjusted"),
    ],
)


def _scores(context: Mapping[str, Any]) -> Iterable[dict[str, Any]]:
    for s in context["scores"]:
        yield {
            "who": s.rep,
            "level": s.team if s.team_id else "own",
            "commit": s.commit,
            "best_case": s.best_case,
            "model": s.model,
            "actual": s.actual,
            "commit_error": s.error(s.commit),
            "model_error": s.error(s.model),
        }


table(
    "forecast_calls.html",
    "scores",
    [
        (k, k)
        for k in (
            "who",
            "level",
            "commit",
            "best_case",
            "model",
            "actual",
            "commit_error",
            "model_error",
        )
    ],
    rows=_scores,
)
table(
    "forecast_risk.html",
    "deals",
    [
        ("id", "opportunity_id"),
        ("deal", "name"),
        ("owner", "owner"),
        ("stage", "stage"),
        ("amount", "amount"),
        ("close_date", "close_date"),
        ("p_win", "p_win"),
        ("p_slip", "p_slip"),
        ("why", lambda d: "; ".join(d.reasons or d.flags)),
    ],
)
table(
    "forecast_risk.html",
    "gaps",
    [
        (k, k)
        for k in ("period", "team", "quota", "booked", "open_pipeline", "coverage", "forecast")
    ],
)
