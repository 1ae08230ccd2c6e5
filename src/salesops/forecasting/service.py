"""Forecast runs and backtests on the operational store: load once, forecast, store.

Each stored run carries its method, version, parameters, as-of date and the fingerprint of
the inputs it saw (the pipeline as of that date and the history before it), so it can be
reproduced: the same inputs and parameters give the same numbers.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from salesops.audit import service as audit
from salesops.db.types import as_utc, utc_now
from salesops.errors import NotFound, ValidationFailed
from salesops.forecasting import backtest as backtesting
from salesops.forecasting.engine import (
    Context,
    MethodForecast,
    Options,
    check_methods,
)
from salesops.forecasting.explain import top_reasons
from salesops.forecasting.features import FeatureBuilder, with_horizon
from salesops.forecasting.frames import fingerprint, load_history
from salesops.forecasting.periods import Grain, period_of, periods_between, shift
from salesops.forecasting.snapshot import Prepared, prepare, to_ns
from salesops.forecasting.teams import team_lines
from salesops.models import (
    DealPrediction,
    ForecastLine,
    ForecastRun,
    Opportunity,
    OpportunityEvent,
    Team,
    User,
)

DEAL_LEVEL = ("stage_weighted", "historical", "ml", "ensemble")
MAX_EXPLAINED = 500  # deals per run that get plain-language reasons (the riskiest by value)


def money(value: float) -> Decimal:
    return Decimal(str(round(float(value), 2))).quantize(Decimal("0.01"))


def ratio(value: float) -> Decimal:
    return Decimal(str(round(float(np.clip(value, 0.0, 1.0)), 4)))


def end_of_day(day: date) -> datetime:
    """What `--as-of DAY` means everywhere (forecasts as the metrics): the end of that day,
    UTC, so every change made on it counts (a forecast "as of 1 March" has seen 1 March)."""
    return datetime.combine(day, time.max, UTC)


def load(session: Session) -> Prepared:
    """Read the whole pipeline history once, ready for snapshots at any date."""
    return prepare(load_history(session))


def team_tree(session: Session) -> dict[int, list[int]]:
    """Each team id with the ids of itself and every team below it."""
    parents = dict(session.execute(select(Team.id, Team.parent_id)).tuples().all())
    below: dict[int, list[int]] = {team: [team] for team in parents}
    for team in parents:
        cursor, seen = parents.get(team), {team}
        while cursor is not None and cursor not in seen:
            below.setdefault(cursor, [cursor]).append(team)
            seen.add(cursor)
            cursor = parents.get(cursor)
    return below


def input_fingerprint(context: Context, method: str, version: str) -> str:
    """A hash of what a forecast at T saw: the state at T and every event, activity and lead
    capture up to T.

    From these the whole history before T can be rebuilt; nothing after T enters the hash, so
    adding later events does not change it.
    """
    prep, t = context.prep, context.t
    state = context.state.drop(columns=["stage_code"])
    history = prep.history
    events = history.events[history.events["at"] <= t]
    acts = history.activities[history.activities["at"] <= t]
    leads = history.leads[history.leads["at"] <= t]
    extra = json.dumps(
        {"method": method, "version": version, **context.options.as_dict()}, sort_keys=True
    )
    return fingerprint(state, events, acts, leads, history.stages, extra=extra)


def _lines(
    run: ForecastRun, forecast: MethodForecast, team_id: int | None, figures: dict[str, np.ndarray]
) -> list[ForecastLine]:
    return [
        ForecastLine(
            run=run,
            team_id=team_id,
            period_start=period.start,
            period_end=period.last_day,
            horizon=k,
            expected=money(figures["expected"][k]),
            p10=money(figures["p10"][k]),
            p50=money(figures["p50"][k]),
            p90=money(figures["p90"][k]),
            from_pipeline=money(figures["from_pipeline"][k]),
            run_rate=money(figures["run_rate"][k]),
        )
        for k, period in enumerate(forecast.periods)
    ]


def _predictions(run: ForecastRun, context: Context, forecast: MethodForecast) -> None:
    probs = forecast.probabilities
    if probs is None or len(context.deals) == 0:
        return
    deals = context.deals
    in_horizon = np.clip(probs.sum(axis=1), 0.0, 1.0)
    p_win = np.maximum(context.eventual_win, in_horizon)
    close_idx = context.close_period_index()
    rows = np.arange(len(deals))
    p_close = np.where(close_idx >= 0, probs[rows, np.maximum(close_idx, 0)], 0.0)
    p_slip = np.where(close_idx >= 0, 1.0 - p_close / np.maximum(p_win, 1e-9), 0.0)
    likely = probs.argmax(axis=1)
    reasons: dict[int, list[str]] = {}
    if forecast.method in ("ml", "ensemble") and context.model is not None:
        at_risk = deals["amount"].to_numpy() * (1.0 - in_horizon) * (close_idx >= 0)
        chosen = np.argsort(-at_risk)[:MAX_EXPLAINED]
        chosen = chosen[at_risk[chosen] > 0]
        frame = with_horizon(deals.iloc[chosen], forecast.periods[:1])
        training = context.training.rows if context.training else frame
        for i, words in zip(chosen, top_reasons(frame, context.predict_ml, training), strict=True):
            reasons[int(i)] = words
    for i in range(len(deals)):
        run_close = forecast.periods[int(likely[i])].last_day if in_horizon[i] >= 0.05 else None
        run.predictions.append(
            DealPrediction(
                opportunity_id=int(deals["id"].iat[i]),
                amount=money(deals["amount"].iat[i]),
                p_win=ratio(p_win[i]),
                p_win_in_horizon=ratio(in_horizon[i]),
                p_slip=ratio(p_slip[i]),
                expected_close_date=run_close,
                reasons=reasons.get(i, []),
            )
        )


def store_forecast(
    session: Session,
    context: Context,
    forecast: MethodForecast,
    *,
    kind: str = "forecast",
    teams: dict[int, list[int]] | None = None,
    by: User | None = None,
    actuals: list[float] | None = None,
    with_predictions: bool = True,
) -> ForecastRun:
    """Persist one method's forecast as a run with its lines and per-deal predictions."""
    run = ForecastRun(
        kind=kind,
        method=forecast.method,
        version=forecast.version,
        parameters=context.options.as_dict(),
        as_of=as_utc(pd.Timestamp(context.t).to_pydatetime()),
        grain=context.options.grain,
        horizon=context.options.horizon,
        input_fingerprint=input_fingerprint(context, forecast.method, forecast.version),
        created_by_id=by.id if by else None,
    )
    company = {
        "expected": forecast.expected,
        "p10": forecast.p10,
        "p50": forecast.p50,
        "p90": forecast.p90,
        "from_pipeline": forecast.from_pipeline,
        "run_rate": forecast.run_rate,
    }
    lines = _lines(run, forecast, None, company)
    if actuals is not None:
        for line, actual in zip(lines, actuals, strict=True):
            line.actual = money(actual)
    if forecast.probabilities is not None and teams:
        for team_id, figures in team_lines(context, forecast, teams).items():
            _lines(run, forecast, team_id, figures)
    if with_predictions:
        _predictions(run, context, forecast)
    session.add(run)
    session.flush()
    _audit_run(session, run, by)
    return run


def _audit_run(session: Session, run: ForecastRun, by: User | None) -> None:
    """Every stored run is a write, so it lands in the audit log (by nobody: the CLI)."""
    values = {
        "kind": run.kind,
        "method": run.method,
        "version": run.version,
        "as_of": run.as_of,
        "grain": run.grain,
        "horizon": run.horizon,
        "parameters": run.parameters,
        "input_fingerprint": run.input_fingerprint,
        "lines": len(run.lines),
        "predictions": len(run.predictions),
    }
    audit.record(
        session,
        user_id=by.id if by else None,
        action="create",
        entity="forecast_run",
        entity_id=run.id,
        changes=audit.diff({}, values),
    )


def run_forecast(
    session: Session,
    *,
    as_of: datetime,
    methods: Iterable[str],
    options: Options,
    by: User | None = None,
    prepared: Prepared | None = None,
) -> list[ForecastRun]:
    """Forecast bookings as of `as_of` with each method and store one run per method."""
    chosen = check_methods(tuple(methods))
    check_options(options)
    prep = prepared or load(session)
    context = Context(FeatureBuilder(prep, options.grain), as_utc(as_of), options)
    teams = team_tree(session)
    return [
        store_forecast(session, context, context.forecast(method), teams=teams, by=by)
        for method in chosen
    ]


MIN_SIMS, MAX_SIMS = 100, 20_000
MAX_HORIZON = 12


def check_options(options: Options) -> None:
    """Refuse a horizon or a number of simulations salesops cannot honour, naming both."""
    problems = []
    if not 1 <= options.horizon <= MAX_HORIZON:
        problems.append(
            f"horizon must be between 1 and {MAX_HORIZON} periods (got {options.horizon})"
        )
    if not MIN_SIMS <= options.sims <= MAX_SIMS:
        problems.append(
            f"sims must be between {MIN_SIMS:,} and {MAX_SIMS:,} (got {options.sims:,})"
        )
    if problems:
        raise ValidationFailed("; ".join(problems))


def _check_ended(start: date, end: date, options: Options, today: date) -> None:
    """A backtest scores forecasts against what happened: every period it forecasts must have
    ended (a period still running would be scored against part of its bookings)."""
    starts = periods_between(start, end, options.grain)
    if not starts:
        return
    last = starts[-1]
    finish = shift(last.start, options.horizon, options.grain)
    if finish > today:
        latest = shift(period_of(today, options.grain).start, -options.horizon, options.grain)
        raise ValidationFailed(
            f"a backtest scores periods that have ended: forecasting {options.horizon}"
            f" {options.grain}(s) from {last.start} runs to {finish - timedelta(days=1)},"
            f" after today ({today}); the latest start is {latest} (give --to {latest})"
        )


def data_end(session: Session) -> datetime | None:
    """When the data ends: the latest deal created, closed or changed (None without deals)."""
    found = [
        session.scalar(select(func.max(Opportunity.created_at))),
        session.scalar(select(func.max(Opportunity.closed_at))),
        session.scalar(select(func.max(OpportunityEvent.at))),
    ]
    stamps = [as_utc(v) for v in found if v is not None]
    return max(stamps) if stamps else None


def default_backtest_range(
    session: Session, grain: Grain, *, periods: int, horizon: int, today: date
) -> tuple[date, date]:
    """The latest `periods` starts whose `horizon` periods have all ended, by today and by the
    end of the data (a dataset that ends years ago is backtested up to where it ends)."""
    end = data_end(session)
    until = today if end is None else min(today, end.date() + timedelta(days=1))
    last = shift(period_of(until, grain).start, -max(horizon, 1), grain)
    return shift(last, -(periods - 1), grain), last


def _check_data(start: date, end: date, options: Options, until: datetime | None) -> None:
    """Refuse forecast periods with no data at all in them (after the data's last change):
    scored against nothing they would read as perfect forecasts of 0."""
    starts = periods_between(start, end, options.grain)
    if not starts:
        return
    if until is None:
        raise ValidationFailed("there are no deals to backtest against")
    last_day = until.date()
    finish = shift(starts[-1].start, options.horizon - 1, options.grain)
    if finish > last_day:
        latest = shift(
            period_of(last_day + timedelta(days=1), options.grain).start,
            -options.horizon,
            options.grain,
        )
        raise ValidationFailed(
            f"the data ends on {last_day} (the latest deal created, closed or changed):"
            f" forecasting {options.horizon} {options.grain}(s) from {starts[-1].start} reaches"
            f" {finish}, with nothing to score against; the latest start with complete data is"
            f" {latest} (give --to {latest})"
        )


def run_backtest(
    session: Session,
    *,
    start: date,
    end: date,
    methods: Iterable[str],
    options: Options,
    save: bool = False,
    prepared: Prepared | None = None,
    today: date | None = None,
    by: User | None = None,
) -> list[backtesting.MethodScore]:
    """Backtest each method at every period start in [start, end]; optionally store the runs."""
    chosen = check_methods(tuple(methods))
    check_options(options)
    if end < start:
        raise ValidationFailed(f"--to {end} is before --from {start}")
    _check_ended(start, end, options, today or utc_now().date())
    _check_data(start, end, options, data_end(session))
    prep = prepared or load(session)
    if not save:
        return backtesting.backtest(prep, start=start, end=end, methods=chosen, options=options)
    builder = FeatureBuilder(prep, options.grain)
    actuals = backtesting.Actuals(prep, builder)
    scores = [backtesting.MethodScore(method=m, version="") for m in chosen]
    for period in periods_between(start, end, options.grain):
        context = builder.context(to_ns(period.start_at), options)
        for score in scores:
            forecast = context.forecast(score.method)
            score.version = forecast.version
            before = len(score.rows)
            backtesting.score_forecast(score, forecast, actuals, period.start)
            store_forecast(
                session,
                context,
                forecast,
                kind="backtest",
                by=by,
                actuals=[r.actual for r in score.rows[before:]],
                with_predictions=False,
            )
    return scores


def get_run(session: Session, run_id: int) -> ForecastRun:
    run = session.get(ForecastRun, run_id)
    if run is None:
        raise NotFound(f"forecast run {run_id} does not exist")
    return run


def list_runs(
    session: Session, *, method: str | None = None, kind: str | None = None, limit: int = 50
) -> list[ForecastRun]:
    """The newest runs first."""
    query = select(ForecastRun).order_by(ForecastRun.id.desc()).limit(limit)
    if method:
        query = query.where(ForecastRun.method == method)
    if kind:
        query = query.where(ForecastRun.kind == kind)
    return list(session.scalars(query))


def company_lines(run: ForecastRun) -> list[ForecastLine]:
    return [line for line in run.lines if line.team_id is None]


def line_dict(ln: ForecastLine) -> dict[str, Any]:
    return {
        "team_id": ln.team_id,
        "period_start": ln.period_start.isoformat(),
        "period_end": ln.period_end.isoformat(),
        "horizon": ln.horizon,
        "expected": str(ln.expected),
        "p10": str(ln.p10),
        "p50": str(ln.p50),
        "p90": str(ln.p90),
        "from_pipeline": str(ln.from_pipeline),
        "run_rate": str(ln.run_rate),
        "actual": None if ln.actual is None else str(ln.actual),
    }


def run_summary(run: ForecastRun, *, lines: Iterable[ForecastLine] | None = None) -> dict[str, Any]:
    """A stored run and its lines as plain data (only `lines` when given; see `scoped` for
    what a caller may see)."""
    return {
        "id": run.id,
        "kind": run.kind,
        "method": run.method,
        "version": run.version,
        "as_of": run.as_of.isoformat(),
        "grain": run.grain,
        "horizon": run.horizon,
        "parameters": run.parameters,
        "input_fingerprint": run.input_fingerprint,
        "created_at": run.created_at.isoformat(),
        "lines": [line_dict(ln) for ln in (run.lines if lines is None else lines)],
    }
