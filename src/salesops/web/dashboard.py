"""Dashboard pages: overview, pipeline, funnel, leaderboard and pipeline health.

Routes gather figures through `salesops.web.views` (which asks the metrics service, scoped to
the caller) and hand them to templates; charts are Plotly specs from `salesops.web.charts`.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from salesops.api.deps import Principal
from salesops.auth.scoped_metrics import open_scoped
from salesops.models import Rep
from salesops.web import charts, views
from salesops.web.deps import SessionDep, WebUser, page_context
from salesops.web.filters import Filters, read_filters, remember
from salesops.web.templating import templates

router = APIRouter(include_in_schema=False)


def _drill(f: Filters, **params: Any) -> str:
    return f"/deals?{f.query(**params)}"


def _render(
    request: Request, session: Session, who: Principal, template: str, f: Filters, **data: Any
) -> Response:
    context = page_context(request, session, who, filters=f) | data
    response = templates.TemplateResponse(request, template, context)
    remember(response, f)
    return response


def _setup(
    request: Request, session: Session, who: Principal
) -> tuple[Filters, Any, dict[str, str]]:
    f = read_filters(request)
    src = open_scoped(session, who.scope)
    return f, src, views.metric_filters(session, f)


def _stage_bars(src: Any, f: Filters, mf: dict[str, str]) -> tuple[str, str]:
    by_stage = views.series(src, "pipeline_value", f, mf, by=["stage"])
    from salesops.pipeline import stages as stage_service

    order = {name: i for i, name in enumerate(views.stage_order(src))}
    by_stage.sort(key=lambda r: order.get(r.dimensions["stage"], 99))
    stage_fig = charts.horizontal_bars(
        [
            (
                r.dimensions["stage"],
                r.value,
                _drill(f, metric="pipeline_value", stage=r.dimensions["stage"]),
            )
            for r in by_stage
        ]
    )
    by_cat = views.series(src, "pipeline_value", f, mf, by=["forecast_category"])
    cat_order = ["commit", "best_case", "pipeline"]
    by_cat.sort(
        key=lambda r: cat_order.index(r.dimensions["forecast_category"])
        if r.dimensions["forecast_category"] in cat_order
        else 9
    )
    cat_fig = charts.horizontal_bars(
        [
            (
                r.dimensions["forecast_category"].replace("_", " ").title(),
                r.value,
                _drill(
                    f, metric="pipeline_value", forecast_category=r.dimensions["forecast_category"]
                ),
            )
            for r in by_cat
        ],
        colors=[
            charts.CATEGORY_COLORS.get(r.dimensions["forecast_category"], charts.GREY)
            for r in by_cat
        ],
    )
    _ = stage_service
    return charts.to_json(stage_fig), charts.to_json(cat_fig)


@router.get("/", response_class=HTMLResponse)
def overview(request: Request, session: SessionDep, who: WebUser) -> Response:
    f, src, mf = _setup(request, session, who)
    start, end = views.trend_window(f)
    bookings = views.series(src, "bookings", f, mf, grain="month", start=start, end=end)
    quota = views.series(src, "quota_amount", f, mf, grain="month", start=start, end=end)
    trend = charts.bookings_vs_quota(
        bookings,
        quota,
        lambda month: _drill(f, metric="bookings", month=month.isoformat()),
    )
    stage_json, cat_json = _stage_bars(src, f, mf)
    today = date.today()
    return _render(
        request,
        session,
        who,
        "overview.html",
        f,
        title="Overview",
        kpis=views.kpis(src, f, mf),
        trend_chart=charts.to_json(trend),
        stage_chart=stage_json,
        category_chart=cat_json,
        leaders=views.leaderboard(src, f, mf)[:8],
        health=views.health(src, f, mf, today),
        rep_ids=_rep_ids(session),
    )


@router.get("/pipeline", response_class=HTMLResponse)
def pipeline(request: Request, session: SessionDep, who: WebUser) -> Response:
    f, src, mf = _setup(request, session, who)
    stage_json, cat_json = _stage_bars(src, f, mf)
    moves = views.waterfall(src, f, mf, date.today())
    waterfall_json = None
    if moves is not None:
        waterfall_json = charts.to_json(
            charts.waterfall(moves, lambda step: _waterfall_drill(f, moves, step))
        )
    return _render(
        request,
        session,
        who,
        "pipeline.html",
        f,
        title="Pipeline",
        kpis=views.kpis(
            src,
            f,
            mf,
            ("pipeline_value", "weighted_pipeline", "pipeline_coverage", "open_opportunities"),
        ),
        stage_chart=stage_json,
        category_chart=cat_json,
        waterfall=moves,
        waterfall_chart=waterfall_json,
        waterfall_labels=charts.WATERFALL_LABELS,
    )


def _waterfall_drill(f: Filters, moves: Any, step: str) -> str:
    start = moves.start.date().isoformat()
    if step == "starting":
        return _drill(f, metric="pipeline_value", as_of=start, title="Pipeline at the start")
    if step == "won":
        return _drill(f, metric="bookings", title="Won in the period")
    if step == "lost":
        return _drill(f, metric="lost_deals", title="Lost in the period")
    if step == "new":
        return _drill(f, metric="opportunities_created", title="Created in the period")
    return _drill(f, metric="pipeline_value", title="Pipeline now")


@router.get("/funnel", response_class=HTMLResponse)
def funnel(request: Request, session: SessionDep, who: WebUser) -> Response:
    f, src, mf = _setup(request, session, who)
    stages = views.funnel(src, f, mf)
    fig = charts.funnel(
        stages,
        lambda stage: _drill(f, metric="stage_conversion", stage=stage, title=f"Entered {stage}"),
    )
    return _render(
        request,
        session,
        who,
        "funnel.html",
        f,
        title="Funnel",
        stages=stages,
        funnel_chart=charts.to_json(fig),
        kpis=views.kpis(
            src,
            f,
            mf,
            ("opportunities_created", "win_rate", "proposal_close_rate", "sales_cycle_length"),
        ),
    )


@router.get("/leaderboard", response_class=HTMLResponse)
def leaderboard(request: Request, session: SessionDep, who: WebUser) -> Response:
    f, src, mf = _setup(request, session, who)
    return _render(
        request,
        session,
        who,
        "leaderboard.html",
        f,
        title="Leaderboard",
        leaders=views.leaderboard(src, f, mf),
        rep_ids=_rep_ids(session),
        kpis=views.kpis(
            src, f, mf, ("bookings", "quota_attainment", "quota_attainment_rate", "win_rate")
        ),
    )


@router.get("/health", response_class=HTMLResponse)
def health(request: Request, session: SessionDep, who: WebUser) -> Response:
    f, src, mf = _setup(request, session, who)
    today = date.today()
    data = views.health(src, f, mf, today)
    stalled_by_owner = views.series(src, "stalled_deals", f, mf, by=["owner"], start=None, end=None)
    stalled_by_owner.sort(key=lambda r: -(r.value or 0))
    return _render(
        request,
        session,
        who,
        "health.html",
        f,
        title="Pipeline health",
        health=data,
        stalled_by_owner=stalled_by_owner[:15],
        today=today,
    )


def rep_kpis(session: Session, who: Principal, f: Filters, rep_id: int) -> list[views.Kpi]:
    """The headline figures of one rep over the selected period."""
    rep = session.get(Rep, rep_id)
    if rep is None:
        return []
    src = open_scoped(session, who.scope)
    return views.kpis(
        src,
        f.with_(rep=rep_id, team=None, territory=None, segment=None),
        {"owner": rep.name},
        (
            "bookings",
            "quota_attainment",
            "win_rate",
            "pipeline_value",
            "average_deal_size",
            "sales_cycle_length",
        ),
    )


def _rep_ids(session: Session) -> dict[str, int]:
    from sqlalchemy import select

    return {name: rid for rid, name in session.execute(select(Rep.id, Rep.name))}
