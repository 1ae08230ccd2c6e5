"""Dashboard pages: overview, pipeline, funnel, leaderboard and pipeline health.

Each page's figures are built by a `build_*` function that asks `salesops.web.views` (the
metrics service, scoped to the caller) and Plotly specs from `salesops.web.charts`; the result
is cached until the data changes (`salesops.caching`), so routes only render templates.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from salesops.api.deps import Principal
from salesops.auth.scoping import Scope
from salesops.caching import data_version, figures
from salesops.metrics import Source
from salesops.metrics.scoped import open_scoped
from salesops.models import Rep
from salesops.web import charts, export, periods, views, warmup
from salesops.web.deps import SessionDep, WebUser, page_context
from salesops.web.filters import Filters, read_filters, remember

router = APIRouter(include_in_schema=False)
Builder = Callable[[Source, Filters, dict[str, str], date], dict[str, Any]]


def drill(f: Filters, **params: Any) -> str:
    return f"/deals?{f.query(**params)}"


def cached_figures(
    session: Session, scope: Scope, page: str, f: Filters, build: Builder
) -> dict[str, Any]:
    """The figures of `page` for this scope and these filters, computed once per data version."""
    today = periods.today()
    key = (page, data_version(session), scope.role, scope.rep_ids, scope.team_ids, f, today)

    def compute() -> dict[str, Any]:
        src = open_scoped(session, scope)
        found = build(src, f, views.metric_filters(session, f), today)
        return found | {"data_time": src.data_time, "data_behind": src.data_behind}

    return figures.get_or_compute(key, compute)


def _render(
    request: Request, session: Session, who: Principal, template: str, page: str, build: Builder
) -> Response:
    progress = warmup.preparing(session)
    if progress is not None:
        return warmup.placeholder(request, session, who, progress)
    f = read_filters(request)
    data = cached_figures(session, who.scope, page, f, build)
    context = page_context(request, session, who, filters=f) | data
    # Said only when the figures are of a copy the data had moved past (a refresh was due).
    context["data_age"] = warmup.age(data["data_time"]) if data.get("data_behind") else None
    context["rep_ids"] = _rep_ids(session)
    context["pipeline_as_of"] = views.pipeline_as_of(f, periods.today())
    # Quotas are set per rep and team: a segment or territory filter cannot apply to them.
    context["quota_missing"] = " or ".join(
        views.unsliceable("quota_amount", views.metric_filters(session, f))
    )
    response = export.render(request, template, context)
    remember(response, f)
    return response


def pipeline_note(f: Filters, today: date) -> str:
    """What the pipeline charts show: deals open now, or those a finished period started with."""
    as_of = views.pipeline_as_of(f, today)
    if as_of is None:
        return "open deals closing in the period"
    return f"open deals closing in the period, as they stood at its start ({as_of:%d %b %Y})"


def _pipeline_bars(src: Source, f: Filters, mf: dict[str, str], today: date) -> dict[str, Any]:
    order = {name: i for i, name in enumerate(views.stage_order(src))}
    as_of = views.pipeline_as_of(f, today)
    at = {"as_of": as_of.isoformat()} if as_of else {}
    by_stage = sorted(
        views.series(src, "pipeline_value", f, mf, by=["stage"], as_of=as_of),
        key=lambda r: order.get(r.dimensions["stage"], 99),
    )
    stage_fig = charts.horizontal_bars(
        [
            (
                r.dimensions["stage"],
                r.value,
                drill(f, metric="pipeline_value", stage=r.dimensions["stage"], **at),
            )
            for r in by_stage
        ]
    )
    categories = ["commit", "best_case", "pipeline"]
    by_cat = sorted(
        views.series(src, "pipeline_value", f, mf, by=["forecast_category"], as_of=as_of),
        key=lambda r: (
            categories.index(r.dimensions["forecast_category"])
            if r.dimensions["forecast_category"] in categories
            else 9
        ),
    )
    cat_fig = charts.horizontal_bars(
        [
            (
                r.dimensions["forecast_category"].replace("_", " ").title(),
                r.value,
                drill(
                    f,
                    metric="pipeline_value",
                    forecast_category=r.dimensions["forecast_category"],
                    **at,
                ),
            )
            for r in by_cat
        ],
        colors=[
            charts.CATEGORY_COLORS.get(r.dimensions["forecast_category"], charts.GREY)
            for r in by_cat
        ],
    )
    # An empty chart draws meaningless axes; the template says "nothing to show" instead.
    return {
        "stage_chart": charts.to_json(stage_fig) if by_stage else None,
        "category_chart": charts.to_json(cat_fig) if by_cat else None,
        "pipeline_note": pipeline_note(f, today),
    }


def build_overview(src: Source, f: Filters, mf: dict[str, str], today: date) -> dict[str, Any]:
    start, end = views.trend_window(f)
    bookings = views.series(src, "bookings", f, mf, grain="month", start=start, end=end)
    quota = views.series(src, "quota_amount", f, mf, grain="month", start=start, end=end)
    trend = charts.bookings_vs_quota(
        bookings, quota, lambda month: drill(f, metric="bookings", month=month.isoformat())
    )
    return {
        "title": "Overview",
        "kpis": views.kpis(src, f, mf, today=today),
        "trend_chart": charts.to_json(trend),
        "leaders": views.leaderboard(src, f, mf, today)[:8],
        "health": views.health(src, f, mf, today),
        **_pipeline_bars(src, f, mf, today),
    }


def waterfall_drill(f: Filters, start: date, step: str) -> str:
    """Where a waterfall bar leads: the deals of the metric closest to that flow."""
    if step == "starting":
        return drill(f, metric="pipeline_value", as_of=start.isoformat(), title="Pipeline at start")
    if step == "won":
        return drill(f, metric="bookings", title="Won in the period")
    if step == "lost":
        return drill(f, metric="lost_deals", title="Lost in the period")
    if step == "new":
        return drill(f, metric="opportunities_created", title="Created in the period")
    return drill(f, metric="pipeline_value", title="Pipeline now")


def build_pipeline(src: Source, f: Filters, mf: dict[str, str], today: date) -> dict[str, Any]:
    moves = views.waterfall(src, f, mf, today)
    chart = None
    if moves is not None:
        start = moves.start.date()
        chart = charts.to_json(
            charts.waterfall(moves, lambda step: waterfall_drill(f, start, step))
        )
    return {
        "title": "Pipeline",
        "kpis": views.kpis(
            src,
            f,
            mf,
            ("pipeline_value", "weighted_pipeline", "pipeline_coverage", "open_opportunities"),
            today=today,
        ),
        "waterfall": moves,
        "waterfall_chart": chart,
        "waterfall_labels": charts.WATERFALL_LABELS,
        **_pipeline_bars(src, f, mf, today),
    }


def build_funnel(src: Source, f: Filters, mf: dict[str, str], today: date) -> dict[str, Any]:
    stages = views.funnel(src, f, mf)
    terminal = frozenset(s.name for s in src.ctx.stages if s.category != "open")
    fig = charts.funnel(
        stages,
        lambda stage: (
            drill(f, metric="won_deals", title="Won in the period")
            if stage in terminal
            else drill(f, metric="stage_conversion", stage=stage, title=f"Entered {stage}")
        ),
        terminal,
    )
    return {
        "title": "Funnel",
        "stages": stages,
        "terminal": terminal,
        "funnel_chart": charts.to_json(fig),
        "kpis": views.kpis(
            src,
            f,
            mf,
            ("opportunities_created", "win_rate", "proposal_close_rate", "sales_cycle_length"),
            today=today,
        ),
    }


def build_leaderboard(src: Source, f: Filters, mf: dict[str, str], today: date) -> dict[str, Any]:
    return {
        "title": "Leaderboard",
        "leaders": views.leaderboard(src, f, mf, today),
        "kpis": views.kpis(
            src,
            f,
            mf,
            ("bookings", "quota_attainment", "quota_attainment_rate", "win_rate"),
            today=today,
        ),
    }


def build_health(src: Source, f: Filters, mf: dict[str, str], today: date) -> dict[str, Any]:
    stalled = views.series(src, "stalled_deals", f, mf, by=["owner"], start=None, end=None)
    stalled.sort(key=lambda r: -(r.value or 0))
    return {
        "title": "Pipeline health",
        "health": views.health(src, f, mf, today),
        "stalled_by_owner": stalled[:15],
    }


@router.get("/", response_class=HTMLResponse)
def overview(request: Request, session: SessionDep, who: WebUser) -> Response:
    return _render(request, session, who, "overview.html", "overview", build_overview)


@router.get("/pipeline", response_class=HTMLResponse)
def pipeline(request: Request, session: SessionDep, who: WebUser) -> Response:
    return _render(request, session, who, "pipeline.html", "pipeline", build_pipeline)


@router.get("/funnel", response_class=HTMLResponse)
def funnel(request: Request, session: SessionDep, who: WebUser) -> Response:
    return _render(request, session, who, "funnel.html", "funnel", build_funnel)


@router.get("/leaderboard", response_class=HTMLResponse)
def leaderboard(request: Request, session: SessionDep, who: WebUser) -> Response:
    return _render(request, session, who, "leaderboard.html", "leaderboard", build_leaderboard)


@router.get("/health", response_class=HTMLResponse)
def health(request: Request, session: SessionDep, who: WebUser) -> Response:
    return _render(request, session, who, "health.html", "health", build_health)


def rep_kpis(session: Session, who: Principal, f: Filters, rep_id: int) -> list[views.Kpi]:
    """The headline figures of one rep over the selected period."""
    rep = session.get(Rep, rep_id)
    if rep is None:
        return []
    only_rep = f.with_(rep=rep_id, team=None, territory=None, segment=None)

    def build(src: Source, f: Filters, mf: dict[str, str], today: date) -> dict[str, Any]:
        names = (
            "bookings",
            "quota_attainment",
            "win_rate",
            "pipeline_value",
            "average_deal_size",
            "sales_cycle_length",
        )
        return {"kpis": views.kpis(src, f, {"owner": rep.name}, names, today=today)}

    kpis: list[views.Kpi] = cached_figures(session, who.scope, "rep", only_rep, build)["kpis"]
    return kpis


def _rep_ids(session: Session) -> dict[str, int]:
    return {name: rid for rid, name in session.execute(select(Rep.id, Rep.name))}
