"""`salesops forecast ...`: run, backtest, submit and roll up calls, and see the risks."""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

import typer
from rich.table import Table
from sqlalchemy import select

from salesops.cli.context import console, state
from salesops.db.types import utc_now
from salesops.errors import NotFound, ValidationFailed
from salesops.forecasting import calls as calling
from salesops.forecasting import risk as risking
from salesops.forecasting import service
from salesops.forecasting.engine import DEFAULT_SIMS, METHODS, Options, check_methods
from salesops.forecasting.periods import Grain, Period, check_grain, period_of
from salesops.models import Rep, Team

forecast_app = typer.Typer(
    help="Forecasts: runs, backtests, forecast calls and risk.", no_args_is_help=True
)

METHOD_HELP = f"method(s) to use, repeatable (default: all of {', '.join(METHODS)})"


def parse_day(text: str, what: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed(f"{what} must be a date like 2025-03-31 (got {text!r})") from None


def parse_period(text: str, grain: Grain | None = None) -> Period:
    """`2025-03` (a month), `2025-Q1` (a quarter) or a date (its period at `grain`)."""
    text = text.strip()
    if m := re.fullmatch(r"(\d{4})-[Qq]([1-4])", text):
        return period_of(date(int(m[1]), 3 * int(m[2]) - 2, 1), "quarter")
    if (m := re.fullmatch(r"(\d{4})-(\d{2})", text)) and 1 <= int(m[2]) <= 12:
        return period_of(date(int(m[1]), int(m[2]), 1), grain or "month")
    try:
        return period_of(date.fromisoformat(text), grain or "quarter")
    except ValueError:
        raise ValidationFailed(
            f"period must be a quarter like 2025-Q1, a month like 2025-03 or a date like"
            f" 2025-03-31 (got {text!r})"
        ) from None


def _money(text: str, what: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation:
        raise ValidationFailed(f"{what} must be an amount (got {text!r})") from None


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def check_format(fmt: str) -> None:
    if fmt not in ("table", "json"):
        raise ValidationFailed(f"--format must be table or json (got {fmt!r})")


def _print_json(payload: Any) -> None:
    typer.echo(json.dumps(payload, indent=2, default=str))


@forecast_app.command("run")
def run(
    ctx: typer.Context,
    as_of: str | None = typer.Option(
        None, "--as-of", help="forecast as of the end of this day, UTC (default now)"
    ),
    method: list[str] | None = typer.Option(None, "--method", "-m", help=METHOD_HELP),
    grain: str = typer.Option("quarter", "--grain", help="month or quarter"),
    horizon: int = typer.Option(2, "--horizon", help="number of periods to forecast"),
    sims: int = typer.Option(DEFAULT_SIMS, "--sims", help="Monte Carlo simulations"),
    seed: int = typer.Option(0, "--seed", help="random seed (same seed, same numbers)"),
    fmt: str = typer.Option("table", "--format", help="table or json"),
) -> None:
    """Forecast bookings per period with intervals and store one run per method."""
    check_format(fmt)
    at = service.end_of_day(parse_day(as_of, "--as-of")) if as_of else utc_now()
    options = Options(grain=check_grain(grain), horizon=horizon, sims=sims, seed=seed)
    with state(ctx).session() as session:
        runs = service.run_forecast(
            session, as_of=at, methods=method or list(METHODS), options=options
        )
        # The run's own figures (company lines), plus "run_id" as earlier versions printed it.
        payload: list[dict[str, Any]] = [
            service.run_summary(r, lines=service.company_lines(r)) | {"run_id": r.id} for r in runs
        ]
    if fmt == "json":
        _print_json(payload)
        return
    table = Table(title=f"forecast as of {at.date().isoformat()} ({grain})")
    for column in ("run", "method", "period", "expected", "P10", "P50", "P90", "pipeline", "new"):
        table.add_column(column, justify="right" if column not in ("method",) else "left")
    for item in payload:
        for ln in item["lines"]:
            table.add_row(
                str(item["run_id"]),
                item["method"],
                ln["period_start"],
                *(f"{Decimal(ln[k]):,.0f}" for k in ("expected", "p10", "p50", "p90")),
                f"{Decimal(ln['from_pipeline']):,.0f}",
                f"{Decimal(ln['run_rate']):,.0f}",
            )
    console.print(table)


RUN_COLUMNS = ("expected", "p10", "p50", "p90", "from_pipeline", "run_rate", "actual")


@forecast_app.command("runs")
def runs(
    ctx: typer.Context,
    method: str | None = typer.Option(None, "--method", "-m", help="only this method"),
    kind: str | None = typer.Option(None, "--kind", help="forecast or backtest"),
    limit: int = typer.Option(20, "--limit", help="how many, newest first"),
    fmt: str = typer.Option("table", "--format", help="table or json"),
) -> None:
    """The stored forecast runs, newest first, with their first period's figures."""
    check_format(fmt)
    if kind not in (None, "forecast", "backtest"):
        raise ValidationFailed(f"--kind must be forecast or backtest (got {kind!r})")
    if method is not None:
        check_methods([method])
    if limit < 1:
        raise ValidationFailed(f"--limit must be at least 1 (got {limit})")
    with state(ctx).session() as session:
        found = service.list_runs(session, method=method, kind=kind, limit=limit)
        payload = [service.run_summary(r, lines=service.company_lines(r)) for r in found]
    if fmt == "json":
        _print_json(payload)
        return
    table = Table(title="forecast runs (newest first)")
    for column in ("run", "kind", "method", "version", "as of", "grain", "first period"):
        table.add_column(column, justify="right" if column == "run" else "left")
    for column in ("expected", "P10", "P90", "actual"):
        table.add_column(column, justify="right")
    for item in payload:
        first = item["lines"][0] if item["lines"] else {}
        table.add_row(
            str(item["id"]),
            item["kind"],
            item["method"],
            item["version"],
            item["as_of"][:10],
            item["grain"],
            first.get("period_start", ""),
            *(_amount(first.get(k)) for k in ("expected", "p10", "p90", "actual")),
        )
    console.print(table)
    if not payload:
        console.print("no stored runs yet: `salesops forecast run` makes one")


@forecast_app.command("show")
def show(
    ctx: typer.Context,
    run_id: int = typer.Argument(..., help="the run's id (see `salesops forecast runs`)"),
    teams: bool = typer.Option(False, "--teams", help="also every team's lines"),
    fmt: str = typer.Option("table", "--format", help="table or json"),
) -> None:
    """One stored run: its parameters and its lines per period (and per team with --teams)."""
    check_format(fmt)
    with state(ctx).session() as session:
        run = service.get_run(session, run_id)
        payload = service.run_summary(run, lines=None if teams else service.company_lines(run))
        names = dict(session.execute(select(Team.id, Team.name)).tuples().all())
    if fmt == "json":
        _print_json(payload)
        return
    title = (
        f"run {payload['id']}: {payload['method']} v{payload['version']} ({payload['kind']}),"
        f" as of {payload['as_of'][:10]}, by {payload['grain']}, fingerprint"
        f" {payload['input_fingerprint'][:12]}"
    )
    table = Table(title=title)
    table.add_column("team")
    table.add_column("period")
    for column in ("expected", "P10", "P50", "P90", "pipeline", "new", "actual"):
        table.add_column(column, justify="right")
    ordered = sorted(
        payload["lines"],
        key=lambda ln: (ln["team_id"] is not None, names.get(ln["team_id"], ""), ln["horizon"]),
    )
    for ln in ordered:
        team = "company" if ln["team_id"] is None else names.get(ln["team_id"], str(ln["team_id"]))
        table.add_row(team, ln["period_start"], *(_amount(ln[k]) for k in RUN_COLUMNS))
    console.print(table)


def _amount(value: str | None) -> str:
    return "" if value is None else f"{Decimal(value):,.0f}"


def _pct(value: float | None, digits: int = 1) -> str:
    return "" if value is None else f"{value:.{digits}%}"


BACKTEST_COLUMNS = (
    "method",
    "periods",
    "WAPE",
    "bias",
    "MAPE",
    "P10-P90 coverage",
    "width",
    "wQL",
    "Brier",
)
BACKTEST_SCORES = (
    "wape",
    "bias",
    "mape",
    "coverage_p10_p90",
    "interval_width",
    "quantile_loss",
    "brier",
)


@forecast_app.command("backtest")
def backtest(
    ctx: typer.Context,
    method: list[str] | None = typer.Option(None, "--method", "-m", help=METHOD_HELP),
    grain: str = typer.Option("quarter", "--grain", help="month or quarter"),
    start: str | None = typer.Option(None, "--from", help="first period start (a date)"),
    end: str | None = typer.Option(None, "--to", help="last period start (a date)"),
    horizon: int = typer.Option(1, "--horizon", help="periods ahead forecast at each start"),
    sims: int = typer.Option(DEFAULT_SIMS, "--sims", help="Monte Carlo simulations"),
    seed: int = typer.Option(0, "--seed"),
    save: bool = typer.Option(False, "--save", help="store every backtest run and its lines"),
    fmt: str = typer.Option("table", "--format", help="table or json"),
) -> None:
    """Replay past period starts: forecast from the pipeline as it was, score against actuals."""
    g = check_grain(grain)
    check_format(fmt)
    options = Options(grain=g, horizon=horizon, sims=sims, seed=seed)
    with state(ctx).session() as session:
        default_from, default_to = service.default_backtest_range(
            session,
            g,
            periods=8 if g == "quarter" else 12,
            horizon=horizon,
            today=utc_now().date(),
        )
        first = parse_day(start, "--from") if start else default_from
        last = parse_day(end, "--to") if end else default_to
        scores = service.run_backtest(
            session,
            start=first,
            end=last,
            methods=method or list(METHODS),
            options=options,
            save=save,
        )
    results = [s.as_dict() for s in scores]
    if fmt == "json":
        _print_json(results)
        return
    table = Table(title=f"backtest {first} .. {last} ({grain}, horizon {horizon})")
    for column in BACKTEST_COLUMNS:
        table.add_column(column, justify="left" if column == "method" else "right")
    for r in results:
        table.add_row(
            r["method"],
            str(len([p for p in r["periods"] if p["horizon"] == 0])),
            *(_fmt(r[k]) for k in BACKTEST_SCORES),
        )
    console.print(table)
    console.print(
        "width: Σ(P90 − P10) ÷ Σ actual; wQL: mean weighted quantile loss at P10/P50/P90"
        " (lower is better: a wide interval covers more but scores worse)"
    )
    empty = results[0]["periods_without_bookings"] if results else []
    if empty:
        console.print(
            f"warning: nothing was booked in {', '.join(empty)}: WAPE, bias and width are"
            " relative to the bookings of the other periods"
        )
    detail = Table(title="per period (first horizon)")
    for column in ("period", *[r["method"] for r in results], "actual"):
        detail.add_column(column, justify="right")
    rows = [p for p in results[0]["periods"] if p["horizon"] == 0] if results else []
    for i, p in enumerate(rows):
        forecasts = [
            f"{[q for q in r['periods'] if q['horizon'] == 0][i]['forecast']:,.0f}" for r in results
        ]
        detail.add_row(p["period"], *forecasts, f"{p['actual']:,.0f}")
    console.print(detail)


def _rep(session: Any, ref: str) -> Rep:
    rep = session.get(Rep, int(ref)) if ref.isdigit() else None
    if rep is None:
        rep = session.scalars(select(Rep).where(Rep.name == ref)).first()
    if rep is None:
        raise NotFound(f"no rep {ref!r} (give an id or an exact name)")
    return rep  # type: ignore[no-any-return]


def _team(session: Any, ref: str) -> Team:
    team = session.get(Team, int(ref)) if ref.isdigit() else None
    if team is None:
        team = session.scalars(select(Team).where(Team.name == ref)).first()
    if team is None:
        raise NotFound(f"no team {ref!r} (give an id or an exact name)")
    return team  # type: ignore[no-any-return]


@forecast_app.command("call")
def call(
    ctx: typer.Context,
    rep: str = typer.Option(..., "--rep", help="the rep submitting (id or name)"),
    period: str = typer.Option(..., "--period", help="2025-Q1, 2025-03 or a date"),
    commit: str = typer.Option(..., "--commit"),
    best_case: str = typer.Option(..., "--best-case"),
    pipeline: str = typer.Option(..., "--pipeline"),
    team: str | None = typer.Option(None, "--team", help="submit a manager's call for a team"),
    note: str | None = typer.Option(None, "--note"),
) -> None:
    """Submit a forecast call (a new submission; earlier ones are kept)."""
    with state(ctx).session() as session:
        submitter = _rep(session, rep)
        sub = calling.submit_call(
            session,
            rep=submitter,
            period=parse_period(period),
            commit=_money(commit, "--commit"),
            best_case=_money(best_case, "--best-case"),
            pipeline=_money(pipeline, "--pipeline"),
            team=_team(session, team) if team else None,
            note=note,
        )
        console.print(
            f"call {sub.id} recorded for {submitter.name}, {sub.period_start}..{sub.period_end}:"
            f" commit {sub.commit_amount:,}, best case {sub.best_case_amount:,},"
            f" pipeline {sub.pipeline_amount:,}"
        )


def _tree_rows(node: calling.CallNode, depth: int, table: Table) -> None:
    commit, best, pipe = node.effective
    rolled = node.rolled_up
    table.add_row(
        "  " * depth + node.name,
        f"{commit:,.0f}",
        f"{best:,.0f}",
        f"{pipe:,.0f}",
        f"{rolled[0]:,.0f}",
        "adjusted" if node.adjusted is not None else "",
    )
    for child in node.children:
        _tree_rows(child, depth + 1, table)


@forecast_app.command("calls")
def calls(
    ctx: typer.Context,
    period: str = typer.Option(..., "--period", help="2025-Q1, 2025-03 or a date"),
    accuracy: bool = typer.Option(False, "--accuracy", help="compare calls to model and actuals"),
    method: str = typer.Option("ensemble", "--method", help="model to compare calls with"),
    fmt: str = typer.Option("table", "--format", help="table or json"),
) -> None:
    """The calls for a period rolled up the team hierarchy (or their accuracy)."""
    check_format(fmt)
    p = parse_period(period)
    with state(ctx).session() as session:
        if accuracy:
            today = utc_now().date()
            scores = calling.call_accuracy(session, [p], method=method, today=today)
            payload: Any = {
                "calls": [s.as_dict() for s in scores],
                "summary": calling.accuracy_summary(scores),
                "not_scored": []
                if calling.has_ended(p, today)
                else [{"period": p.label, "reason": calling.not_ended(p)}],
            }
        else:
            payload = [n.as_dict() for n in calling.rollup(session, p)]
            roots = calling.rollup(session, p)
    if fmt == "json":
        _print_json(payload)
        return
    if accuracy:
        for item in payload["not_scored"]:
            console.print(f"not scored: {item['reason']}")
            return
        table = Table(title=f"call accuracy {p.label} (mean absolute error against actuals)")
        for column in ("rep", "level", "calls", "commit err", "best case err", "model err"):
            table.add_column(column, justify="left" if column in ("rep", "level") else "right")
        for row in payload["summary"]:
            table.add_row(
                str(row["rep"]),
                str(row["level"]),
                str(row["calls"]),
                *(
                    _pct(row[k])
                    for k in ("commit_abs_error", "best_case_abs_error", "model_abs_error")
                ),
            )
        console.print(table)
        return
    table = Table(title=f"forecast calls {p.label}")
    for column in ("team", "commit", "best case", "pipeline", "reps' commit", ""):
        table.add_column(column, justify="left" if column == "team" else "right")
    for root in roots:
        _tree_rows(root, 0, table)
    console.print(table)


@forecast_app.command("risk")
def risk(
    ctx: typer.Context,
    run_id: int | None = typer.Option(None, "--run", help="forecast run (default: latest)"),
    limit: int = typer.Option(20, "--limit", help="risky deals to list"),
    fmt: str = typer.Option("table", "--format", help="table or json"),
) -> None:
    """Deals likely to slip or be lost, coverage gaps per team, periods short of target."""
    check_format(fmt)
    with state(ctx).session() as session:
        run_ = service.get_run(session, run_id) if run_id else risking.latest_run(session)
        payload: dict[str, Any] = {
            "run_id": run_.id,
            "method": run_.method,
            "as_of": run_.as_of.isoformat(),
            "deals": [d.as_dict() for d in risking.risky_deals(session, run_, limit=limit)],
            "coverage": risking.coverage_gaps(session, run_),
            "shortfalls": risking.shortfalls(session, run_),
        }
    if fmt == "json":
        _print_json(payload)
        return
    deals = Table(title=f"risky deals (run {payload['run_id']}, {payload['method']})")
    for column in ("id", "deal", "owner", "stage", "amount", "P(win)", "P(slip)", "why"):
        deals.add_column(
            column, justify="right" if column in ("amount", "P(win)", "P(slip)") else "left"
        )
    for d in payload["deals"]:
        deals.add_row(
            str(d["opportunity_id"]),
            d["name"],
            d["owner"],
            d["stage"],
            f"{Decimal(d['amount']):,.0f}",
            f"{d['p_win']:.0%}",
            f"{d['p_slip']:.0%}",
            "; ".join(d["reasons"]) or ", ".join(d["flags"]),
        )
    console.print(deals)
    gaps = Table(title="coverage gaps (pipeline ÷ quota still to win)")
    for column in ("period", "team", "quota", "booked", "pipeline", "coverage", "forecast"):
        gaps.add_column(column, justify="left" if column in ("period", "team") else "right")
    for g in (g for g in payload["coverage"] if g["gap"]):
        gaps.add_row(
            g["period"],
            g["team"],
            *(_amount(g[k]) for k in ("quota", "booked", "open_pipeline")),
            "" if g["coverage"] is None else f"{g['coverage']:.1f}×",
            _amount(g["forecast"]),
        )
    console.print(gaps)
    short = Table(title="periods vs target")
    for column in ("period", "target", "P50", "P10", "P90", "chance", "short"):
        short.add_column(column, justify="left" if column in ("period", "short") else "right")
    for s in payload["shortfalls"]:
        short.add_row(
            s["period"],
            *(_amount(s[k]) for k in ("target", "p50", "p10", "p90")),
            _pct(s["chance_of_target"], 0),
            "yes" if s["short"] else "",
        )
    console.print(short)
