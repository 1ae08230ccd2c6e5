"""`salesops deals score train|evaluate|apply|show`: the win probability of open deals."""

from __future__ import annotations

import json
from typing import Any, cast

import typer
from rich.table import Table

from salesops.cli.context import console, state
from salesops.errors import ValidationFailed
from salesops.forecasting.cli import parse_day
from salesops.forecasting.service import end_of_day
from salesops.learning import Evaluation
from salesops.scoring import service
from salesops.scoring.features import Mode

deals_app = typer.Typer(
    help="Deals: scoring open deals from the company's closed ones.", no_args_is_help=True
)
score_app = typer.Typer(
    help="Win probability of open deals, with reasons: train, evaluate, apply, show.",
    no_args_is_help=True,
)
deals_app.add_typer(score_app, name="score")

MODE_HELP = (
    "history (features as of past dates, from the event log) or final-state (closed deals as"
    " created); default: history when most closed deals have their close recorded as an event"
)
EXCLUDE_HELP = "leave this feature out (repeatable), e.g. attr:stage_reached"


def _mode(text: str | None) -> Mode | None:
    if text is None:
        return None
    if text not in ("history", "final-state"):
        raise ValidationFailed(f"--mode must be history or final-state (got {text!r})")
    return cast(Mode, text)


def _check_format(fmt: str) -> None:
    if fmt not in ("table", "json"):
        raise ValidationFailed(f"--format must be table or json (got {fmt!r})")


def _print_evaluation(evaluation: Evaluation, title: str) -> None:
    table = Table(title=title)
    for column in ("model", "rows", "won", "AUC", "Brier", "log loss"):
        table.add_column(column, justify="left" if column == "model" else "right")
    for name, scores in (
        ("gradient boosting (calibrated)", evaluation.model),
        ("logistic regression", evaluation.logistic),
        ("base rate", evaluation.base_rate),
    ):
        table.add_row(
            name,
            f"{scores.rows:,}",
            f"{scores.positives:,}",
            "" if scores.auc is None else f"{scores.auc:.3f}",
            f"{scores.brier:.4f}",
            f"{scores.log_loss:.4f}",
        )
    console.print(table)
    calibration = Table(title="calibration (equal-count bins, lowest first)")
    for column in ("rows", "predicted", "observed"):
        calibration.add_column(column, justify="right")
    for row in evaluation.calibration:
        calibration.add_row(str(row["rows"]), f"{row['predicted']:.3f}", f"{row['observed']:.3f}")
    console.print(calibration)
    lift = Table(title="lift (highest scores first)")
    for column in ("bin", "rows", "won rate", "lift", "captured"):
        lift.add_column(column, justify="right")
    for row in evaluation.lift:
        lift.add_row(
            str(row["bin"]),
            str(row["rows"]),
            f"{row['rate']:.3f}",
            "" if row["lift"] is None else f"{row['lift']:.2f}",
            "" if row["captured"] is None else f"{row['captured']:.0%}",
        )
    console.print(lift)
    for note in evaluation.notes:
        console.print(note)


def _echo_json(payload: Any) -> None:
    typer.echo(json.dumps(payload, indent=2, default=str))


@score_app.command("evaluate")
def evaluate(
    ctx: typer.Context,
    mode: str | None = typer.Option(None, "--mode", help=MODE_HELP),
    exclude: list[str] | None = typer.Option(None, "--exclude", help=EXCLUDE_HELP),
    fmt: str = typer.Option("table", "--format", help="table or json"),
) -> None:
    """Score the model on deals it did not learn from, against the base rate and a logistic
    regression: a time-ordered hold-out when deals have close dates, else 5-fold CV."""
    _check_format(fmt)
    with state(ctx).session() as session:
        prepared, evaluation = service.evaluate(
            session, mode=_mode(mode), exclude=tuple(exclude or ())
        )
    payload = {"mode": prepared.mode, "deals": prepared.deals} | evaluation.as_dict()
    payload["features"] = prepared.spec.as_dict()
    if fmt == "json":
        _echo_json(payload)
        return
    cutoff = f", outcomes from {evaluation.cutoff} held out" if evaluation.cutoff else ""
    _print_evaluation(
        evaluation,
        f"deal scoring: {evaluation.design}{cutoff} ({prepared.mode}, {prepared.deals:,} deals)",
    )


@score_app.command("train")
def train(
    ctx: typer.Context,
    mode: str | None = typer.Option(None, "--mode", help=MODE_HELP),
    exclude: list[str] | None = typer.Option(None, "--exclude", help=EXCLUDE_HELP),
    fmt: str = typer.Option("table", "--format", help="table or json"),
) -> None:
    """Fit the deal model on every closed deal and store it as a new version (with its
    parameters, data fingerprint and hold-out evaluation)."""
    _check_format(fmt)
    with state(ctx).session() as session:
        row = service.train(session, mode=_mode(mode), exclude=tuple(exclude or ()))
        payload: dict[str, Any] = {
            "model": row.name,
            "version": row.version,
            "rows": row.rows,
            "mode": row.params.get("mode"),
            "fingerprint": row.fingerprint,
            "checksum": row.checksum,
            "features": row.features,
            "evaluation": row.metrics,
        }
    if fmt == "json":
        _echo_json(payload)
        return
    held = payload["evaluation"]
    console.print(
        f"trained {payload['model']} version {payload['version']} on {payload['rows']:,} rows"
        f" ({payload['mode']}); {held['design']}: AUC {held['model']['auc']},"
        f" Brier {held['model']['brier']} (base rate {held['base_rate']['brier']},"
        f" logistic {held['logistic']['brier']})",
        highlight=False,
    )


@score_app.command("apply")
def apply(
    ctx: typer.Context,
    as_of: str | None = typer.Option(
        None, "--as-of", help="score the deals open at the end of this day, UTC (default now)"
    ),
    version: int | None = typer.Option(None, "--version", help="model version (default newest)"),
    limit: int = typer.Option(20, "--limit", help="how many scores to print"),
    fmt: str = typer.Option("table", "--format", help="table or json"),
) -> None:
    """Score the open deals with the stored model and store the scores with their reasons."""
    _check_format(fmt)
    at = end_of_day(parse_day(as_of, "--as-of")) if as_of else None
    with state(ctx).session() as session:
        applied = service.apply(session, as_of=at, version=version)
        rows = service.scores(session, limit=limit, version=applied.model.version)
    _show(
        rows,
        fmt,
        f"{applied.scored:,} open deals scored (model version "
        f"{applied.model.version}, as of {applied.as_of:%Y-%m-%d %H:%M} UTC)",
    )


@score_app.command("show")
def show(
    ctx: typer.Context,
    limit: int = typer.Option(20, "--limit", help="how many scores to print"),
    fmt: str = typer.Option("table", "--format", help="table or json"),
) -> None:
    """The stored scores of the open deals, most likely to be won first."""
    _check_format(fmt)
    with state(ctx).session() as session:
        rows = service.scores(session, limit=limit)
    _show(rows, fmt, "deal scores")


def _show(rows: list[dict[str, Any]], fmt: str, title: str) -> None:
    if fmt == "json":
        _echo_json(rows)
        return
    table = Table(title=title)
    for column in ("deal", "owner", "stage", "amount", "P(win)", "why"):
        table.add_column(column, justify="right" if column in ("amount", "P(win)") else "left")
    for row in rows:
        table.add_row(
            row["name"],
            row["owner"],
            row["stage"],
            f"{float(row['amount']):,.0f}",
            f"{row['p_win']:.2f}",
            "; ".join(row["reasons"]),
        )
    console.print(table)
