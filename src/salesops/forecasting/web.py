"""Dashboard pages for forecasting: forecast vs quota vs actual, backtest accuracy, the calls
roll-up and risky deals. Every figure comes from stored runs and the forecasting services."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import plotly.graph_objects as go
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from salesops.auth.scoping import Scope
from salesops.db.types import utc_now
from salesops.errors import NotFound
from salesops.forecasting import call_form, evaluate, scoped
from salesops.forecasting import calls as calling
from salesops.forecasting import risk as risking
from salesops.forecasting.cli import parse_period
from salesops.forecasting.periods import period_of
from salesops.forecasting.service import team_tree
from salesops.models import ForecastLine, ForecastRun, Rep, Team
from salesops.web import export
from salesops.web.charts import BRAND, GOOD, GREY, _layout, to_json
from salesops.web.deps import SessionDep, WebUser, page_context
from salesops.web.filters import read_filters, remember
from salesops.web.nav import NavItem, register
from salesops.web.templating import add_template_dir

router = APIRouter(include_in_schema=False)
add_template_dir(Path(__file__).resolve().parent / "templates")
register(NavItem("Forecast", "/forecast", "trend", 35))
register(NavItem("Forecast accuracy", "/forecast/accuracy", "target", 36))
register(NavItem("Forecast calls", "/forecast/calls", "phone", 37))
register(NavItem("Deals at risk", "/forecast/risk", "alert", 38))


# Filters a forecasting page cannot apply are not shown (docs/web.md, "filters that apply"):
# forecast lines are per team or per rep's deals, never by territory or segment.
NOT_BY_TERRITORY = ("territory", "segment")
ALL_FILTERS = ("period", "team", "territory", "segment", "rep")


def _page(request: Request, session: Session, who: Any, template: str, **extra: Any) -> Response:
    filters = read_filters(request)
    context = page_context(request, session, who, filters=filters) | extra
    response = export.render(request, template, context)
    remember(response, filters)
    return response


def _latest(session: Session) -> ForecastRun | None:
    try:
        return risking.latest_run(session)
    except NotFound:
        return None


def forecast_chart(
    rows: list[dict[str, Any]], *, interval: bool = True, whose: str | None = None
) -> str | None:
    """P50 with its P10-P90 range per period (or the expected value alone, for a deal line
    that has no range), the quota as a line, bookings so far as bars."""
    if not rows:
        return None
    owner = f"{whose}'s" if whose else "your"
    labels = [r["period"] for r in rows]
    fig = go.Figure()
    fig.add_bar(
        x=labels,
        y=[r["booked"] for r in rows],
        name="Booked so far",
        marker_color=GOOD,
        opacity=0.55,
        hovertemplate="%{x}<br>Booked $%{y:,.0f}<extra></extra>",
    )
    point = "p50" if interval else "expected"
    error_y = (
        {
            "type": "data",
            "symmetric": False,
            "array": [r["p90"] - r["p50"] for r in rows],
            "arrayminus": [r["p50"] - r["p10"] for r in rows],
            "color": BRAND,
            "thickness": 2,
            "width": 10,
        }
        if interval
        else None
    )
    fig.add_scatter(
        x=labels,
        y=[r[point] for r in rows],
        name="Forecast (P50, P10-P90)" if interval else f"Forecast of {owner} deals (expected)",
        mode="markers",
        marker={"color": BRAND, "size": 12, "symbol": "diamond"},
        error_y=error_y,
        hovertemplate="%{x}<br>"
        + ("P50" if interval else "Expected")
        + " $%{y:,.0f}<extra></extra>",
    )
    if any(r["target"] is not None for r in rows):
        fig.add_scatter(
            x=labels,
            y=[r["target"] for r in rows],
            name="Quota",
            mode="lines+markers",
            line={"color": "#f59e0b", "width": 2.5},
            # A wide dash per period: one period with a quota still shows as a level.
            marker={"symbol": "line-ew", "size": 34, "line": {"width": 3, "color": "#f59e0b"}},
            hovertemplate="%{x}<br>Quota $%{y:,.0f}<extra></extra>",
        )
    fig.update_layout(_layout(showlegend=True, legend={"orientation": "h", "y": -0.15}))
    return to_json(fig)


def _line_rows(session: Session, run: ForecastRun, team_id: int | None) -> list[dict[str, Any]]:
    """The company's (team_id None) or one team's lines, with quota and bookings so far."""
    rows: list[dict[str, Any]] = []
    below = set(team_tree(session).get(team_id, [])) if team_id else None
    for line in (ln for ln in run.lines if ln.team_id == team_id):
        period = period_of(line.period_start, run.grain)  # type: ignore[arg-type]
        quota = risking.target_for(session, period, team_id)
        won = calling.won_by_owner(session, period)
        members = calling.members_at(session, period.start)
        booked = sum(
            float(v) for rep, v in won.items() if below is None or members.get(rep) in below
        )
        rows.append(
            {
                "period": period.label,
                "expected": float(line.expected),
                "p10": float(line.p10),
                "p50": float(line.p50),
                "p90": float(line.p90),
                "from_pipeline": float(line.from_pipeline),
                "run_rate": float(line.run_rate),
                # No quota set for the period: shown as such, not as a quota of zero.
                "target": float(quota) if quota > 0 else None,
                "booked": booked,
                "chance": risking.chance_of_target(quota, line),
            }
        )
    return rows


def _deal_rows(session: Session, run: ForecastRun, scope: Scope) -> list[dict[str, Any]]:
    """The caller's own deal line (see `scoped.deal_lines`), with their quota and bookings."""
    rows: list[dict[str, Any]] = []
    for dl in scoped.deal_lines(session, run, scope):
        quota = scoped.rep_quota(session, dl.period, scope)
        rows.append(
            {
                "period": dl.period.label,
                "expected": float(dl.expected),
                "booked_before": float(dl.booked_before),
                "from_pipeline": float(dl.from_pipeline),
                "open_deals": dl.open_deals,
                "target": float(quota) if quota > 0 else None,
                "booked": float(scoped.booked_in(session, dl.period, scope)),
            }
        )
    return rows


def _team_tree_rows(
    session: Session, run: ForecastRun | None, scope: Scope, names: dict[int, str]
) -> list[dict[str, Any]]:
    """A manager's teams as a tree, each with its first period's line (when the run has one)."""
    if scope.sees_all or not scope.team_ids:
        return []
    parents = dict(session.execute(select(Team.id, Team.parent_id)).tuples().all())
    rows: list[dict[str, Any]] = []

    def walk(team: int, depth: int) -> None:
        first = _line_rows(session, run, team)[:1] if run is not None else []
        rows.append(
            {"team_id": team, "name": names.get(team, str(team)), "depth": depth}
            | (first[0] if first else {})
        )
        for child in sorted(t for t in scope.team_ids or () if parents.get(t) == team):
            walk(child, depth + 1)

    for top in scoped.top_teams(scope, parents):
        walk(top, 0)
    return rows


@router.get("/forecast", response_class=HTMLResponse)
def forecast_page(request: Request, session: SessionDep, who: WebUser) -> Response:
    """The company's forecast for the roles that see it; a manager's teams; a rep's own."""
    run = _latest(session)
    scope = who.scope
    chosen = read_filters(request)
    team_id = chosen.team
    names = dict(session.execute(select(Team.id, Team.name)).tuples().all())
    view, rows, teams = "company", [], []
    # The run forecasts its own periods: the period selector cannot choose among them.
    hidden: tuple[str, ...] = ("period", *NOT_BY_TERRITORY)
    rep_name = None
    if not scope.sees_all:
        parents = dict(session.execute(select(Team.id, Team.parent_id)).tuples().all())
        teams = scoped.top_teams(scope, parents)
        if not teams:
            view = "own"  # a rep (or a manager of no team): the line of their own deals
            hidden = ALL_FILTERS
        else:
            view = "team"
            team_id = team_id if team_id is not None else teams[0]
    elif team_id is not None:
        view = "team"
    visible = view != "team" or scope.sees_all or team_id in (scope.team_ids or ())
    if chosen.rep is not None and view != "own":
        # One rep chosen: the line of that rep's deals, like the rep's own page.
        view, visible = "own", scope.sees_rep(chosen.rep)
        rep_name = session.get(Rep, chosen.rep).name if visible else None  # type: ignore[union-attr]
        scope = dataclasses.replace(scope, rep_ids=frozenset({chosen.rep}), team_ids=frozenset())
    if run is not None and visible:
        rows = (
            _deal_rows(session, run, scope) if view == "own" else _line_rows(session, run, team_id)
        )
    return _page(
        request,
        session,
        who,
        "forecast.html",
        title="Forecast",
        run=run,
        rows=rows,
        view=view,
        visible=visible,
        rep_name=rep_name,
        hidden_filters=hidden,
        period_note="the periods of the latest forecast run",
        team_name=names.get(team_id) if team_id is not None else None,
        my_teams=_team_tree_rows(session, run, scope, names) if view == "team" else [],
        basis=scoped.DEAL_LINE_BASIS,
        forecast_spec=forecast_chart(rows, interval=view != "own", whose=rep_name)
        if rows
        else None,
    )


def accuracy_rows(session: Session) -> list[dict[str, Any]]:
    """Per method: WAPE, bias, MAPE, P10-P90 coverage, the interval's width and the
    quantile loss of the stored backtests."""
    lines = session.execute(
        select(
            ForecastRun.method,
            ForecastLine.expected,
            ForecastLine.p10,
            ForecastLine.p90,
            ForecastLine.actual,
            ForecastLine.p50,
        )
        .join(ForecastLine, ForecastLine.run_id == ForecastRun.id)
        .where(
            ForecastRun.kind == "backtest",
            ForecastLine.team_id.is_(None),
            ForecastLine.horizon == 0,
            ForecastLine.actual.is_not(None),
        )
    ).tuples()
    by_method: dict[str, list[tuple[float, float, float, float, float]]] = defaultdict(list)
    for method, mean, low, high, booked, mid in lines:
        by_method[method].append(
            (float(mean), float(low), float(high), float(booked or 0), float(mid))
        )
    out = []
    for method, values in sorted(by_method.items()):
        arr = np.array(values)
        fc, lo, hi, actual, p50 = arr[:, 0], arr[:, 1], arr[:, 2], arr[:, 3], arr[:, 4]
        out.append(
            {
                "method": method,
                "periods": len(values),
                "wape": evaluate.wape(fc, actual),
                "bias": evaluate.bias(fc, actual),
                "mape": evaluate.mape(fc, actual),
                "coverage": evaluate.coverage(lo, hi, actual),
                "width": evaluate.interval_width(lo, hi, actual),
                "quantile_loss": evaluate.quantile_loss(lo, p50, hi, actual),
            }
        )
    return out


@router.get("/forecast/accuracy", response_class=HTMLResponse)
def accuracy_page(request: Request, session: SessionDep, who: WebUser) -> Response:
    # Backtests score the company's line against the company's bookings: company figures.
    rows = accuracy_rows(session) if who.scope.sees_all else []
    chart = None
    if rows:
        fig = go.Figure()
        fig.add_bar(
            x=[r["method"] for r in rows],
            y=[r["wape"] or 0 for r in rows],
            marker_color=[
                BRAND if r["wape"] == min(x["wape"] or 9 for x in rows) else GREY for r in rows
            ],
            hovertemplate="%{x}<br>WAPE %{y:.1%}<extra></extra>",
        )
        fig.update_layout(_layout(yaxis={"tickformat": ".0%", "gridcolor": "#eef0f3"}))
        chart = to_json(fig)
    return _page(
        request,
        session,
        who,
        "forecast_accuracy.html",
        title="Forecast accuracy",
        rows=rows,
        accuracy_spec=chart,
        company_hidden=not who.scope.sees_all,
        # Backtests score the company's line over the periods they replayed: no filter applies.
        hidden_filters=ALL_FILTERS,
        period_note="every stored backtest",
    )


def _flatten(node: calling.CallNode, depth: int, names: dict[int, str]) -> list[dict[str, Any]]:
    commit, best, pipe = node.effective
    rows = [
        {
            "depth": depth,
            "kind": "team",
            "name": node.name,
            "commit": commit,
            "best_case": best,
            "pipeline": pipe,
            "rolled_up": node.rolled_up[0],
            "adjusted": node.adjusted is not None,
        }
    ]
    for rep_id, (c, b, p) in sorted(node.reps.items()):
        rows.append(
            {
                "depth": depth + 1,
                "kind": "rep",
                "name": names.get(rep_id, str(rep_id)),
                "rep_id": rep_id,
                "commit": c,
                "best_case": b,
                "pipeline": p,
            }
        )
    for child in node.children:
        rows.extend(_flatten(child, depth + 1, names))
    return rows


@router.get("/forecast/calls", response_class=HTMLResponse)
def calls_page(request: Request, session: SessionDep, who: WebUser) -> Response:
    filters = read_filters(request)
    period = parse_period(filters.period if filters.kind != "year" else f"{filters.period}-01")
    names = dict(session.execute(select(Rep.id, Rep.name)).tuples().all())
    roots = calling.rollup(session, period)
    visible = who.scope.team_ids
    rows: list[dict[str, Any]] = []
    callers: set[int] = set()  # the reps of the roll-up shown, for the accuracy table

    def walk(node: calling.CallNode) -> None:
        seen = who.scope.sees_all or (visible and node.team_id in visible)
        if seen and filters.team in (None, node.team_id):
            rows.extend(_flatten(node, 0, names))
            callers.update(_reps_under(node))
        else:
            for child in node.children:
                walk(child)

    for root in roots:
        walk(root)
    today = utc_now().date()
    scores = [
        s
        for s in calling.call_accuracy(session, [period], today=today)
        if who.scope.sees_rep(s.rep_id) and (filters.team is None or s.rep_id in callers)
    ]
    return _page(
        request,
        session,
        who,
        "forecast_calls.html",
        title="Forecast calls",
        period=period,
        rows=rows,
        scores=scores,
        not_scored=None if calling.has_ended(period, today) else calling.not_ended(period),
        names=names,
        team_names=dict(session.execute(select(Team.id, Team.name)).tuples().all()),
        # Calls are made per period by reps and team managers: a team is a subtree of the
        # roll-up; a call has no territory or segment, and one rep's call is a row of it.
        hidden_filters=(*NOT_BY_TERRITORY, "rep"),
        **call_form.context(request, session, who, period),
    )


def _reps_under(node: calling.CallNode) -> set[int]:
    """The reps whose calls roll up into `node`, and the managers of it and its children."""
    found = set(node.reps)
    if node.manager_id is not None:
        found.add(node.manager_id)
    for child in node.children:
        found |= _reps_under(child)
    return found


@router.get("/forecast/risk", response_class=HTMLResponse)
def risk_page(request: Request, session: SessionDep, who: WebUser) -> Response:
    run = _latest(session)
    chosen = read_filters(request)
    deals: list[risking.RiskyDeal] = []
    gaps: list[dict[str, Any]] = []
    if run is not None:
        owners = None if who.scope.sees_all else set(who.scope.rep_ids or ())
        teams: set[int] | None = None  # the chosen team and the teams below it
        if chosen.team is not None:
            teams = set(team_tree(session).get(chosen.team, [chosen.team]))
            members = calling.members_at(session, utc_now().date())
            in_team = {rep for rep, team in members.items() if team in teams}
            owners = in_team if owners is None else owners & in_team
        if chosen.rep is not None:
            owners = {chosen.rep} if owners is None else owners & {chosen.rep}
        deals = risking.risky_deals(session, run, limit=50, owner_ids=owners)
        gaps = [
            g
            for g in risking.coverage_gaps(session, run)
            if g["gap"]
            and (who.scope.sees_all or g["team_id"] in (who.scope.team_ids or ()))
            and (teams is None or g["team_id"] in teams)
            # Gaps are per team: a single rep has none of their own to show.
            and chosen.rep is None
        ]
    return _page(
        request,
        session,
        who,
        "forecast_risk.html",
        title="Deals at risk",
        run=run,
        deals=deals,
        gaps=gaps,
        gaps_by_rep=chosen.rep is not None,
        # The latest run's deals and periods: the period selector cannot choose among them.
        hidden_filters=("period", *NOT_BY_TERRITORY),
        period_note="the deals and periods of the latest forecast run",
    )
