"""Metrics endpoints: the metrics service with the CLI's parameters, scoped to the caller."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from salesops import caching, metrics
from salesops.api.crud import ERRORS
from salesops.api.deps import CurrentUser, SessionDep
from salesops.audit.service import jsonable
from salesops.errors import Problem, ValidationFailed
from salesops.metrics import compare as comparing
from salesops.metrics.quarantine import quarantined
from salesops.metrics.scoped import open_scoped

router = APIRouter(tags=["metrics"], responses=ERRORS)


def _pairs(values: list[str], what: str) -> dict[str, list[str]]:
    """`DIM=VALUE` strings (repeatable) as {DIM: [VALUE, ...]}."""
    result: dict[str, list[str]] = {}
    problems = []
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            problems.append(Problem(f"{item!r} is not NAME=VALUE", what))
            continue
        result.setdefault(key.strip(), []).append(value.strip())
    if problems:
        raise ValidationFailed(f"invalid {what}", problems)
    return result


def _param_value(text: str) -> Any:
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


@router.get("/metrics", summary="The metric catalog")
def catalog(who: CurrentUser) -> list[dict[str, Any]]:
    """Every metric with its label, unit, dimensions and grains."""
    return [
        {
            "name": m.name,
            "label": m.label,
            "unit": m.unit,
            "kind": m.kind,
            "description": m.description,
            "dimensions": list(m.dimensions),
            "grains": list(m.grains),
        }
        for m in metrics.list_metrics()
    ]


@router.get("/metrics/{name}", summary="Compute a metric")
def compute(
    name: str,
    session: SessionDep,
    who: CurrentUser,
    by: list[str] = Query([], description="dimension to slice by (repeatable)"),
    grain: Literal["week", "month", "quarter", "year"] | None = None,
    start: date | None = Query(None, alias="from", description="first day (inclusive)"),
    end: date | None = Query(None, alias="to", description="last day (inclusive)"),
    as_of: date | None = Query(None, description="rebuild the pipeline as of that day"),
    compare: Literal["previous", "year"] | None = None,
    filters: list[str] = Query([], alias="filter", description="DIM=VALUE (repeatable)"),
    params: list[str] = Query([], alias="param", description="NAME=VALUE metric parameter"),
    engine: str | None = Query(None, description="duckdb (default) or postgres"),
) -> dict[str, Any]:
    """Same parameters and rows as `salesops metrics query NAME --format json`: one object per
    row keyed by the dimensions (and `period` with a grain) and the metric name; ratios are
    fractions. Only the records you may see are counted."""
    if engine not in (None, "duckdb", "postgres"):
        raise ValidationFailed("invalid engine", [Problem("duckdb or postgres", "engine")])
    dims = _pairs(filters, "filter")
    values = {k: _param_value(v[-1]) for k, v in _pairs(params, "param").items()}

    def run() -> tuple[metrics.MetricResult, datetime | None, bool]:
        src = open_scoped(session, who.scope, engine=engine)
        found = metrics.compute(
            src,
            name,
            by=by,
            grain=grain,
            start=start,
            end=end,
            as_of=as_of,
            compare=compare,
            filters=dims,
            params=values,
        )
        return found, src.data_time, src.data_behind

    # Same question, same data, same scope: the same answer (until the data changes).
    key = (
        "api-metric",
        name,
        tuple(by),
        grain,
        start,
        end,
        as_of,
        compare,
        # A comparison of a period in progress is cut at today: tomorrow's answer differs.
        comparing.today() if compare else None,
        tuple(sorted((k, tuple(v)) for k, v in dims.items())),
        tuple(sorted(values.items())),
        engine,
        who.scope.rep_ids,
        who.scope.team_ids,
        caching.data_version(session),
    )
    result, data_time, behind = caching.figures.get_or_compute(key, run)
    now = datetime.now(UTC)
    # Figures of a copy that was current stay current while the data version (in the key)
    # does not move; those of an older copy are as old as that copy's data.
    as_of = data_time if behind else (None if data_time is None else now)
    definition = result.metric
    return {
        "metric": definition.name,
        "label": definition.label,
        "unit": definition.unit,
        "currency": result.currency,
        "by": list(result.by),
        "grain": result.grain,
        "from": start,
        "to": end,
        "as_of": as_of,
        "compare": compare,
        "compared_with": result.compared_with,
        "rows": [jsonable(r) for r in result.to_records()],
        # When the data the figures were computed on was read (the server answers from its
        # last copy while a newer one loads after a change); null for engines without a copy.
        "data_as_of": as_of,
        "data_age_seconds": None
        if as_of is None
        else max(0.0, round((now - as_of).total_seconds(), 1)),
    }


@router.get("/metrics/{name}/deals", summary="The records behind a metric")
def drill(
    name: str,
    session: SessionDep,
    who: CurrentUser,
    start: date | None = Query(None, alias="from"),
    end: date | None = Query(None, alias="to"),
    filters: list[str] = Query([], alias="filter"),
    as_of: date | None = None,
    limit: int = Query(1000, ge=1, le=10000),
) -> list[dict[str, Any]]:
    """The deals (or stage entries, leads; the accounts of a retention figure) counted in the
    figure, with the same window and filters."""
    src = open_scoped(session, who.scope)
    rows = metrics.drill_down(
        src, name, start=start, end=end, filters=_pairs(filters, "filter"), as_of=as_of, limit=limit
    )
    return [{k: jsonable(v) for k, v in row.items()} for row in rows]


@router.get("/funnel", summary="The cohort funnel", tags=["metrics"])
def funnel(
    session: SessionDep,
    who: CurrentUser,
    start: date | None = Query(None, alias="from"),
    end: date | None = Query(None, alias="to"),
    filters: list[str] = Query([], alias="filter"),
) -> list[dict[str, Any]]:
    src = open_scoped(session, who.scope)
    stages = metrics.funnel(src, start=start, end=end, filters=_pairs(filters, "filter"))
    return [
        {
            "stage": s.stage,
            "entered": s.entered,
            "advanced": s.advanced,
            "won": s.won,
            "conversion": s.conversion,
            "dropped": s.dropped,
            "drop_off": s.drop_off,
            "win_rate": s.win_rate,
        }
        for s in stages
    ]


@router.get("/waterfall", summary="The pipeline waterfall between two dates", tags=["metrics"])
def waterfall(
    session: SessionDep,
    who: CurrentUser,
    start: date = Query(..., alias="from", description="starting date (end of that day)"),
    end: date = Query(..., alias="to", description="ending date (end of that day)"),
    close_from: date | None = Query(None, description="scope: close dates from (default from)"),
    close_to: date | None = Query(None, description="scope: close dates to (default to)"),
    all_open: bool = Query(False, description="scope: every open deal, whatever its close date"),
    by: list[str] = Query([]),
) -> list[dict[str, Any]]:
    """Same definition, parameters and figures as `salesops metrics waterfall`: the deals
    expected to close between `close_from` and `close_to` (by default `from` and `to`)."""
    src = open_scoped(session, who.scope)
    result = metrics.pipeline_waterfall(
        src, start, end, close_from=close_from, close_to=close_to, all_open=all_open, by=by
    )
    return [
        {
            "dimensions": dict(w.dimensions),
            "close_from": w.close_from,
            "close_to": w.close_to,
            "reconciles": w.reconciles,
            "steps": [
                {"step": s.label, "amount": str(s.amount), "deals": s.deals} for s in w.steps
            ],
        }
        for w in result
    ]


class QuarantinedRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    table: str
    id: int
    field: str
    value: str
    reason: str
    effect: str = Field(description="left out of every figure (until it has an exchange rate)")


@router.get(
    "/quarantine",
    response_model=list[QuarantinedRead],
    summary="Stored values metrics cannot use (admins)",
)
def quarantine(session: SessionDep, who: CurrentUser) -> Any:
    """Every stored value the metrics cannot use, by table, id and field, with the reason:
    rows left out of the analytics copy, and rows in a currency without exchange rate."""
    who.scope.require_admin("see the values metrics cannot use")
    return quarantined(session)
